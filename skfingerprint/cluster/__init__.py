"""Model fingerprints, distances between sources, and families of sources.

Families (paper Sec. 4.2) come from average-linkage hierarchical clustering of
:func:`fingerprint_distances`; :func:`cluster_families` does it in one call; :func:`family_linkage` and
:func:`cut_families` work on any distance matrix (e.g. one averaged over folds).
:class:`NearestRelatives` places a generator that is not among the known
sources next to its nearest known relatives (lineage).
"""

from ._families import (
    cluster_families,
    correlation_distances,
    cut_families,
    family_linkage,
    fingerprint_distances,
    model_fingerprints,
)
from ._relatives import NearestRelatives

__all__ = [
    "NearestRelatives",
    "cluster_families",
    "correlation_distances",
    "cut_families",
    "family_linkage",
    "fingerprint_distances",
    "model_fingerprints",
]
