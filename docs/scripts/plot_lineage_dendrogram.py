"""Dendrograms of the default model zoo's sources, leaves coloured by lineage.

Writes ``docs/images/lineage_dendrograms.png``: the sources of the default
zoo (version 4) clustered by average linkage (:func:`skfingerprint.cluster.
family_linkage`) of the distances of ``skfingerprint families``: for the
residual spectra (no training), ``NearestRelatives().pairwise_source_distances_``
(``--features spectrum``); for DSF+ (``SetFingerprintEncoder()``),
:func:`skfingerprint.cluster.fingerprint_distances` (the default).  Each is
fitted on 10 bags of 32 per source; DSF+ is applied to 10 other bags per
source.  Leaves coloured by the lineage groups at depth 2
(``lineage_groups(zoo.lineage, 2)``).

Run from the repository root::

    python docs/scripts/plot_lineage_dendrogram.py
"""

import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))  # run from a checkout, installed or not

from skfingerprint import SetFingerprintEncoder, make_bags  # noqa: E402
from skfingerprint.cluster import NearestRelatives, family_linkage  # noqa: E402
from skfingerprint.datasets import lineage_groups, make_model_zoo  # noqa: E402
from skfingerprint.visualization import FamilyDendrogramDisplay  # noqa: E402

OUT = os.path.join(HERE, "..", "images", "lineage_dendrograms.png")
N_BAGS, BAG = 10, 32


def main():
    zoo = make_model_zoo("default", random_state=0)
    keep = np.concatenate([np.flatnonzero(zoo.labels == s)[:2 * N_BAGS * BAG]
                           for s in zoo.sources])
    X, y = make_bags(zoo.images[keep], zoo.labels[keep], bag_size=BAG, random_state=0)
    first = np.zeros(len(y), bool)
    for s in zoo.sources:
        first[np.flatnonzero(y == s)[:N_BAGS]] = True
    groups = lineage_groups(zoo.lineage, 2)
    fig, axes = plt.subplots(1, 2, figsize=(13, 8), dpi=110)
    rel = NearestRelatives().fit(X[first], y[first])
    FamilyDendrogramDisplay(family_linkage(rel.pairwise_source_distances_),
                            display_labels=rel.classes_,
                            families=[groups[s] for s in rel.classes_]).plot(
        ax=axes[0], legend=False)
    axes[0].set_title("residual spectra (NearestRelatives, no training)", fontsize=10)
    axes[0].set_xlabel("distance (1 - correlation of the sources' mean spectra)")
    enc = SetFingerprintEncoder(random_state=0).fit(X[first], y[first])
    FamilyDendrogramDisplay.from_predictions(enc.transform(X[~first]), y[~first],
                                             families=groups, ax=axes[1])
    axes[1].set_title("DSF+ (SetFingerprintEncoder)", fontsize=10)
    # one legend for both panels, under them
    legend = axes[1].get_legend()
    handles, names = legend.legend_handles, [t.get_text() for t in legend.texts]
    legend.remove()
    fig.legend(handles, names, loc="lower center", ncol=5, fontsize=8, title="lineage group")
    fig.suptitle("Default zoo v4: sources by fingerprint distance, leaves coloured by lineage "
                 "group (depth 2)", fontsize=10)
    fig.tight_layout(rect=(0, 0.13, 1, 1))
    fig.savefig(OUT)
    print("wrote", os.path.relpath(OUT))


if __name__ == "__main__":
    main()
