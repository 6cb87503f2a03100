"""Distances between sources, families of sources, and lineage.

Families (paper Sec. 4.2) come from average-linkage hierarchical clustering of
:func:`fingerprint_distances`; :func:`cluster_families` does it in one call;
:func:`family_linkage` and :func:`cut_families` work on any distance matrix
(e.g. one averaged over folds).
:class:`NearestRelatives` places a generator that is not among the known
sources next to its nearest known relatives (lineage).
:func:`model_fingerprints` (the mean embedding of each source) lives in
:mod:`skfingerprint.metrics` and is importable from here too.
"""

from ._families import (
    cluster_families,
    correlation_distances,
    cut_families,
    family_linkage,
    fingerprint_distances,
)
from ._relatives import NearestRelatives
from ..metrics import model_fingerprints

__all__ = [
    "NearestRelatives",
    "cluster_families",
    "correlation_distances",
    "cut_families",
    "family_linkage",
    "fingerprint_distances",
    "model_fingerprints",
]
