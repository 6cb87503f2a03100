"""NearestRelatives: the known sources closest to the bags of a generator (lineage)."""

import numbers

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_scalar

__all__ = ["NearestRelatives"]


class NearestRelatives(MetaEstimatorMixin, BaseEstimator):
    """Known sources nearest to the bags of a generator: where does it come from?

    Answers "this generator is not in my list: which known model is it
    derived from, or closest to?".  Every bag is described by a bag
    transformer (by default the residual spectrum,
    :class:`~skfingerprint.baselines.SpectrumFingerprint`), each known source
    by the mean description of its bags, and the relatives of a bag (or of
    all the bags of one generator, pooled) are the known sources in order
    of distance.

    The residual spectrum needs no training and describes what a generator
    shares with its relatives (a network, a decoder, an upsampling layer);
    the set encoder's fingerprints are trained to push every known source
    away from every other, which makes them good for attribution and poor
    for placing a generator they never saw.  Attribute with the set
    encoder; place unknown generators with this.  The families guide
    compares the two on the model zoo.

    Read more in the :doc:`families guide </guide/families>`.

    Parameters
    ----------
    fingerprint : estimator, default=None
        Bag transformer (``fit``, ``transform``) that describes each bag by a
        vector; cloned before fitting.  None means
        ``SpectrumFingerprint()``.  Any of the library's bag transformers
        (e.g. ``SetFingerprintEncoder`` with ``metric="euclidean"``) can be
        compared in the same protocol.

    metric : {"correlation", "euclidean"}, default="correlation"
        Distance between descriptions: ``1 - correlation`` (for spectra and
        PRNU) or Euclidean (for learned embeddings), as in
        :class:`~skfingerprint.classifiers.NearestFingerprintClassifier`.

    n_relatives : int, default=3
        Relatives returned by :meth:`kneighbors` and :meth:`relatives`
        unless given there.

    Attributes
    ----------
    fingerprint_ : estimator
        The fitted bag transformer.

    nearest_ : NearestFingerprintClassifier
        Fitted on the descriptions of the training bags; holds the source
        fingerprints (``nearest_.fingerprints_``) and computes the distances.

    classes_ : ndarray of shape (n_sources,)
        The known sources, sorted.

    pairwise_source_distances_ : ndarray of shape (n_sources, n_sources)
        Distances between the fingerprints of the known sources (symmetric,
        zero diagonal), in the order of ``classes_``: the tree of
        :func:`~skfingerprint.cluster.family_linkage` and the families of
        :func:`~skfingerprint.cluster.cut_families`.

    See Also
    --------
    skfingerprint.cluster.fingerprint_distances : Distances between sources
        from the correlation of their bags with each other's fingerprints.

    Examples
    --------
    Six generators in two families whose members share most of their
    artifact; ``"B3"`` is left out of training:

    >>> from skfingerprint import make_bags
    >>> from skfingerprint.cluster import NearestRelatives
    >>> from skfingerprint.datasets import make_fingerprinted_images
    >>> images, labels = make_fingerprinted_images(
    ...     n_models=6, n_families=2, n_images_per_model=48, image_size=16,
    ...     family_share=0.8, random_state=0, return_X_y=True)
    >>> X, y = make_bags(images, labels, bag_size=8, random_state=0)
    >>> known = y != "B3"
    >>> rel = NearestRelatives().fit(X[known], y[known])
    >>> rel.classes_.tolist()
    ['A1', 'A2', 'A3', 'B1', 'B2']
    >>> [source for source, distance in rel.relatives(X[~known], n_relatives=2)]
    ['B1', 'B2']
    """

    _parameter_constraints: dict = {
        "fingerprint": [HasMethods(["fit", "transform"]), None],
        "metric": [StrOptions({"correlation", "euclidean"})],
        "n_relatives": [Interval(numbers.Integral, 1, None, closed="left")],
    }

    def __init__(self, fingerprint=None, *, metric="correlation", n_relatives=3):
        self.fingerprint = fingerprint
        self.metric = metric
        self.n_relatives = n_relatives

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Describe the bags of the known sources and fingerprint each source.

        Parameters
        ----------
        X : array-like of bags
            Bags of images (or image files), as the bag transformer takes
            them.

        y : array-like of shape (n_bags,)
            Source of each bag; at least 2 sources.

        Returns
        -------
        self : NearestRelatives
        """
        from ..baselines import SpectrumFingerprint
        from ..classifiers import NearestFingerprintClassifier

        fingerprint = clone(
            SpectrumFingerprint() if self.fingerprint is None else self.fingerprint)
        # one pass where the transformer has it (the spectra: fit computes them)
        Z = (fingerprint.fit_transform(X, y) if hasattr(fingerprint, "fit_transform")
             else fingerprint.fit(X, y).transform(X))
        nearest = NearestFingerprintClassifier(self.metric).fit(Z, y)
        if len(nearest.classes_) < 2:
            raise ValueError(
                f"NearestRelatives needs bags of at least 2 known sources; y holds one "
                f"({nearest.classes_[0]!r}): every generator would be its relative.")
        self.fingerprint_, self.nearest_ = fingerprint, nearest
        self.classes_ = nearest.classes_
        D = nearest.source_distances(nearest.fingerprints_)
        self.pairwise_source_distances_ = (D + D.T) / 2  # symmetric up to rounding
        np.fill_diagonal(self.pairwise_source_distances_, 0.0)
        return self

    def source_distances(self, X, *, pool=False):
        """Distance of every bag (or of the pooled bags) to every known source.

        Parameters
        ----------
        X : array-like of bags

        pool : bool, default=False
            Describe all the bags together, as one generator (the mean of
            their descriptions), and return one row.

        Returns
        -------
        distances : ndarray of shape (n_bags, n_sources), or (1, n_sources)
            Columns in the order of ``classes_``.
        """
        check_is_fitted(self, "nearest_")
        Z = self.fingerprint_.transform(X)
        if pool:
            Z = Z.mean(axis=0, keepdims=True)
        return self.nearest_.source_distances(Z)

    def kneighbors(self, X, n_relatives=None, *, return_distance=True, pool=False):
        """The nearest known sources of every bag, nearest first.

        As :meth:`sklearn.neighbors.NearestNeighbors.kneighbors`, with the
        known sources as the neighbours.

        Parameters
        ----------
        X : array-like of bags

        n_relatives : int, default=None
            How many (at most the number of known sources); None means
            ``self.n_relatives``.

        return_distance : bool, default=True
            Also return the distances.

        pool : bool, default=False
            All the bags together, as one generator (one row).

        Returns
        -------
        distances : ndarray of shape (n_rows, n_relatives)
            Only when ``return_distance``.

        indices : ndarray of shape (n_rows, n_relatives)
            Into ``classes_``.
        """
        n = self.n_relatives if n_relatives is None else n_relatives
        check_scalar(n, "n_relatives", numbers.Integral, min_val=1)
        D = self.source_distances(X, pool=pool)
        k = min(int(n), len(self.classes_))
        ind = np.argsort(D, axis=1, kind="stable")[:, :k]
        if not return_distance:
            return ind
        return np.take_along_axis(D, ind, axis=1), ind

    def relatives(self, X, n_relatives=None):
        """The known sources nearest to the generator of all the bags ``X``.

        Parameters
        ----------
        X : array-like of bags
            Bags of one generator (pooled as one).

        n_relatives : int, default=None
            How many; None means ``self.n_relatives``.

        Returns
        -------
        relatives : list of (source, distance)
            Nearest first.
        """
        dist, ind = self.kneighbors(X, n_relatives, pool=True)
        return [(self.classes_[j].item(), float(d)) for d, j in zip(dist[0], ind[0])]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        from sklearn.utils import get_tags

        from ..baselines import SpectrumFingerprint

        inner = SpectrumFingerprint() if self.fingerprint is None else self.fingerprint
        tags.input_tags = get_tags(inner).input_tags
        return tags
