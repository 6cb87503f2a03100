"""Model fingerprints, distances between sources, and families of sources.

Families (paper Sec. 4.2) come from average-linkage hierarchical clustering of
:func:`fingerprint_distances`; :func:`cluster_families` does it in one call; :func:`family_linkage` and
:func:`cut_families` work on any distance matrix (e.g. one averaged over folds).
"""

from ._families import (
    cluster_families,
    correlation_distances,
    cut_families,
    family_linkage,
    fingerprint_distances,
    model_fingerprints,
)

__all__ = [
    "cluster_families",
    "correlation_distances",
    "cut_families",
    "family_linkage",
    "fingerprint_distances",
    "model_fingerprints",
]
