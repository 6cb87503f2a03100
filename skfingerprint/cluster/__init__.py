"""Model fingerprints, distances between sources, and families of sources.

Families (paper Sec. 4.2) come from average-linkage hierarchical clustering of
:func:`fingerprint_distances`; :func:`cluster_families` does it in one call.
"""

from ._families import cluster_families, fingerprint_distances, model_fingerprints

__all__ = ["cluster_families", "fingerprint_distances", "model_fingerprints"]
