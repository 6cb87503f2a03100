"""Decorrelation and families: how distinct are the fingerprints, which models are related?

Trains the encoder on half of the bags, embeds the other half, and

- scores how distinct the sources' fingerprints are (the decorrelation score,
  from the correlation matrix of held-out bags with the fingerprints);
- clusters the sources into families with scikit-learn's
  ``AgglomerativeClustering`` on the fingerprint distances, and compares the
  clusters with the true families (adjusted Rand index).

Writes ``families_correlation.png`` and ``families_dendrogram.png``::

    python examples/plot_families.py          # ~1 minute on a 2-core CPU
    python examples/plot_families.py --quick  # seconds
"""

import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from sklearn.cluster import AgglomerativeClustering  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from skfingerprint import SetFingerprintEncoder, make_bags  # noqa: E402
from skfingerprint.cluster import fingerprint_distances  # noqa: E402
from skfingerprint.datasets import make_fingerprinted_images  # noqa: E402
from skfingerprint.metrics import decorrelation_score  # noqa: E402
from skfingerprint.visualization import (  # noqa: E402
    CorrelationMatrixDisplay,
    FamilyDendrogramDisplay,
)

QUICK = "--quick" in sys.argv or os.environ.get("SKFINGERPRINT_EXAMPLES_QUICK") == "1"

# Models of one family share part of their artifact (family_share).
data = make_fingerprinted_images(n_models=8, n_families=3, family_share=0.7,
                                 n_images_per_model=32 if QUICK else 256,
                                 image_size=16, random_state=0)
X, y = make_bags(data.images, data.labels, bag_size=8, random_state=0)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, stratify=y,
                                                    random_state=0)
encoder = SetFingerprintEncoder(max_epochs=1 if QUICK else 20, random_state=0)
Z = encoder.fit(X_train, y_train).transform(X_test)

# %% Decorrelation: each held-out bag against the leave-one-out fingerprints
print(f"decorrelation score: {decorrelation_score(Z, y_test):.3f} (contrast), "
      f"{decorrelation_score(Z, y_test, kind='frobenius'):.3f} (frobenius)")

# %% Families: plain scikit-learn on the distances between sources
D = fingerprint_distances(Z, y_test)  # rows/columns: sorted sources
sources = sorted(set(y_test))
n_families = len(set(data.families.values()))
found = AgglomerativeClustering(n_clusters=n_families, metric="precomputed",
                                linkage="average").fit_predict(D)
true = [data.families[s] for s in sources]
print("clusters:", dict(zip(sources, found.tolist())))
print(f"adjusted Rand index with the true families: {adjusted_rand_score(true, found):.3f}")

# %% Pictures
fig, ax = plt.subplots(figsize=(6, 5))
CorrelationMatrixDisplay.from_predictions(Z, y_test, families=data.families, ax=ax)
fig.tight_layout()
fig.savefig("families_correlation.png", dpi=100)
fig, ax = plt.subplots(figsize=(5, 4))
FamilyDendrogramDisplay.from_predictions(Z, y_test, families=data.families, ax=ax)
fig.tight_layout()
fig.savefig("families_dendrogram.png", dpi=100)
print("wrote families_correlation.png and families_dendrogram.png")
