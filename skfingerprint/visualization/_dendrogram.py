"""Dendrogram of sources by fingerprint distance (paper Sec. 4.2, Fig. 3)."""

from numbers import Real

import numpy as np
from scipy.cluster.hierarchy import dendrogram
from sklearn.utils._param_validation import StrOptions, validate_params

from .._embeddings import METRIC_CONSTRAINTS
from .._pipeline import embed
from ..cluster import family_linkage, fingerprint_distances
from ._base import (
    AX_CONSTRAINT,
    ESTIMATOR_CONSTRAINTS,
    KW_CONSTRAINT,
    SOURCE_CONSTRAINTS,
    _as_per_source,
    _checked_sources,
    _family_colors,
    _forward,
    _get_ax,
)


# The distance axis of each metric of fingerprint_distances.
_DISTANCE_LABELS = {
    "correlation": "distance (1 - mean |correlation|)",
    "euclidean": "mean Euclidean distance",
}


class FamilyDendrogramDisplay:
    """Dendrogram of the sources, leaves coloured by their known family.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`, which
    cluster the sources by average linkage on
    :func:`~skfingerprint.cluster.fingerprint_distances`. All parameters are
    stored as attributes.

    Parameters
    ----------
    linkage_matrix : ndarray of shape (n_sources - 1, 4)
        SciPy linkage matrix (see :func:`scipy.cluster.hierarchy.linkage`).

    display_labels : array-like of shape (n_sources,), default=None
        Source names, in the order of the linkage's observations.

    families : array-like of shape (n_sources,), default=None
        Known family of each source, in the same order. Leaf labels are
        coloured by family and a legend names the families.

    metric : {"correlation", "euclidean"} or None, default="correlation"
        The distance the linkage was computed in (see
        :func:`~skfingerprint.cluster.fingerprint_distances`); it names the
        distance axis. None: the axis reads "distance".

    Attributes
    ----------
    dendrogram_ : dict
        What :func:`scipy.cluster.hierarchy.dendrogram` returned (``"ivl"``:
        leaf labels in drawn order, ``"leaves"``, ``"icoord"``, ``"dcoord"``).

    leaf_colors_ : dict
        Leaf label -> colour (empty without families).

    legend_ : matplotlib Legend or None

    ax_ : matplotlib Axes

    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.visualization import FamilyDendrogramDisplay
    >>> rng = np.random.RandomState(0)
    >>> centers = rng.normal(size=(4, 32))
    >>> y = np.repeat(["gan1", "vae1", "gan2", "vae2"], 5)
    >>> Z = centers[np.repeat(np.arange(4), 5)] + 0.5 * rng.normal(size=(20, 32))
    >>> families = {"gan1": "GAN", "gan2": "GAN", "vae1": "VAE", "vae2": "VAE"}
    >>> disp = FamilyDendrogramDisplay.from_predictions(Z, y, families=families)
    >>> sorted(disp.dendrogram_["ivl"])
    ['gan1', 'gan2', 'vae1', 'vae2']
    """

    def __init__(
        self, linkage_matrix, *, display_labels=None, families=None, metric="correlation"
    ):
        self.linkage_matrix = linkage_matrix
        self.display_labels = display_labels
        self.families = families
        self.metric = metric

    @validate_params(
        {
            "orientation": [StrOptions({"left", "right", "top", "bottom"})],
            "color_threshold": [None, Real],
            "legend": ["boolean"],
            "ax": AX_CONSTRAINT,
            "dendrogram_kw": KW_CONSTRAINT,
        },
        prefer_skip_nested_validation=True,
    )
    def plot(
        self,
        *,
        orientation="left",
        color_threshold=None,
        legend=True,
        ax=None,
        dendrogram_kw=None,
    ):
        """Draw the dendrogram.

        Parameters
        ----------
        orientation : {"left", "right", "top", "bottom"}, default="left"
            Where the root is drawn, as in SciPy: with "left", the root is on
            the left and the leaf names read horizontally on the right.

        color_threshold : float, default=None
            Links below this distance are coloured by cluster, as in SciPy.
            None: with families, all links are grey (colours then mean
            families only); without, SciPy's default (0.7 of the largest
            distance).

        legend : bool, default=True
            Add a legend of the families (when families are given).

        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure and axes if None.

        dendrogram_kw : dict, default=None
            Extra keywords for :func:`scipy.cluster.hierarchy.dendrogram`.

        Returns
        -------
        display : FamilyDendrogramDisplay
        """
        from matplotlib.patches import Patch

        caller_name = f"{type(self).__name__}.plot"
        if self.metric is not None and self.metric not in _DISTANCE_LABELS:
            raise ValueError(
                f"{caller_name}: metric must be one of {sorted(_DISTANCE_LABELS)} or "
                f"None (an unnamed distance); got {self.metric!r}."
            )
        fig, ax = _get_ax(ax, caller_name)
        link = np.asarray(self.linkage_matrix, dtype=float)
        n = link.shape[0] + 1
        labels = (
            [str(v) for v in range(n)]
            if self.display_labels is None
            else [str(v) for v in self.display_labels]
        )
        kw = {"orientation": orientation, "color_threshold": color_threshold}
        if self.families is not None and color_threshold is None:
            # One neutral link colour, so that colours mean families only.
            kw["link_color_func"] = lambda _: "0.35"
        kw.update(dendrogram_kw or {})
        self.dendrogram_ = dendrogram(link, labels=labels, ax=ax, **kw)

        distance_label = _DISTANCE_LABELS.get(self.metric, "distance")
        if orientation in ("left", "right"):
            ax.set_xlabel(distance_label)
            ax.set_ylabel("Source")
            tick_labels = ax.get_yticklabels()
        else:
            ax.set_ylabel(distance_label)
            ax.set_xlabel("Source")
            tick_labels = ax.get_xticklabels()

        self.leaf_colors_ = {}
        self.legend_ = None
        if self.families is not None:
            families = list(self.families)
            colors = _family_colors(families, caller_name)
            family_of = dict(zip(labels, families))
            for tick in tick_labels:
                family = family_of[tick.get_text()]
                tick.set_color(colors[family])
                self.leaf_colors_[tick.get_text()] = colors[family]
            if legend:
                handles = [Patch(color=c, label=str(f)) for f, c in colors.items()]
                # Away from the leaf names, on the root's side.
                loc = "upper right" if orientation == "right" else "upper left"
                self.legend_ = ax.legend(
                    handles=handles, title="Family", loc=loc, fontsize="small"
                )

        self.ax_ = ax
        self.figure_ = fig
        return self

    @classmethod
    @validate_params(
        {**SOURCE_CONSTRAINTS, **METRIC_CONSTRAINTS}, prefer_skip_nested_validation=False
    )
    def from_predictions(
        cls,
        Z,
        y,
        *,
        labels=None,
        fingerprints=None,
        families=None,
        metric="correlation",
        orientation="left",
        color_threshold=None,
        legend=True,
        ax=None,
        dendrogram_kw=None,
    ):
        """Plot the dendrogram of the sources of given embeddings.

        Parameters
        ----------
        Z : array-like of shape (n_bags, n_features)
            Bag embeddings (the "predictions" here are a transformer's output).

        y : array-like of shape (n_bags,)
            Source of each bag. At least 2 sources are needed.

        labels : array-like of shape (n_sources,), default=None
            Sources to include; the sorted unique values of ``y`` if None.

        fingerprints : array-like of shape (n_sources, n_features), default=None
            See :func:`~skfingerprint.cluster.fingerprint_distances`.

        families : mapping or array-like of shape (n_sources,), default=None
            Known family of each source (a dict source -> family, or values
            aligned with ``labels``).

        metric : {"correlation", "euclidean"}, default="correlation"
            How a bag is compared with a fingerprint, as in
            :func:`~skfingerprint.cluster.fingerprint_distances`: the paper's
            correlation, or the Euclidean distance an encoder (and the shipped
            ``weights="pretrained"`` space) is trained on. Which draws the
            families better depends on the space.

        orientation, color_threshold, legend, ax, dendrogram_kw
            See :meth:`plot`.

        Returns
        -------
        display : FamilyDendrogramDisplay
        """
        arguments = locals()
        classes = _checked_sources(Z, y, labels)
        if classes.size < 2:
            raise ValueError(
                f"A dendrogram needs at least 2 sources; got {classes.size}."
            )
        D = fingerprint_distances(
            Z, y, fingerprints=fingerprints, labels=classes, metric=metric
        )
        disp = cls(
            family_linkage(D),
            display_labels=classes,
            families=_as_per_source(families, classes),
            metric=metric,
        )
        return disp.plot(**_forward(disp.plot, arguments))

    @classmethod
    @validate_params(
        {**ESTIMATOR_CONSTRAINTS, **METRIC_CONSTRAINTS}, prefer_skip_nested_validation=False
    )
    def from_estimator(
        cls,
        estimator,
        X,
        y,
        *,
        labels=None,
        fingerprints=None,
        families=None,
        metric="correlation",
        orientation="left",
        color_threshold=None,
        legend=True,
        ax=None,
        dendrogram_kw=None,
    ):
        """Plot the dendrogram of the sources of a fitted encoder's embeddings.

        ``X`` is transformed as by
        :class:`~skfingerprint.metrics.DecorrelationScorer`.

        Parameters
        ----------
        estimator : fitted transformer or Pipeline

        X : array-like
            Bags, in any form ``estimator`` accepts.

        y : array-like of shape (n_bags,)
            Source of each bag.

        labels, fingerprints, families, metric
            See :meth:`from_predictions`.

        orientation, color_threshold, legend, ax, dendrogram_kw
            See :meth:`plot`.

        Returns
        -------
        display : FamilyDendrogramDisplay
        """
        arguments = locals()
        return cls.from_predictions(
            embed(estimator, X), y, **_forward(cls.from_predictions, arguments)
        )
