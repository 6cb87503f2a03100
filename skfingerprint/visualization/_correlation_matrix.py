"""Heatmap of the fingerprint correlation matrix (paper Fig. 2 and 3)."""

from numbers import Integral, Real

import numpy as np
from scipy.cluster.hierarchy import leaves_list
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from .._embeddings import METRIC_CONSTRAINTS
from .._pipeline import embed
from ..cluster import cluster_families, family_linkage, fingerprint_distances
from ..metrics import fingerprint_correlation_matrix
from ._base import (
    AX_CONSTRAINT,
    ESTIMATOR_CONSTRAINTS,
    KW_CONSTRAINT,
    SOURCE_CONSTRAINTS,
    _as_per_source,
    _checked_sources,
    _forward,
    _get_ax,
)


def _runs(values):
    """Maximal runs of equal consecutive values: list of (start, stop, value)."""
    runs, start = [], 0
    for i in range(1, len(values) + 1):
        if i == len(values) or values[i] != values[start]:
            runs.append((start, i, values[start]))
            start = i
    return runs


class CorrelationMatrixDisplay:
    """Heatmap of the fingerprint correlation matrix ``rho``, family blocks marked.

    Create it with :meth:`from_estimator` or :meth:`from_predictions`, which
    order the sources by the average-linkage dendrogram of their fingerprint
    distances (so related sources sit in blocks, as in the paper's Fig. 3). All
    parameters are stored as attributes.

    Parameters
    ----------
    rho : ndarray of shape (n_sources, n_sources)
        Correlation matrix, already in display order (see
        :func:`~skfingerprint.metrics.fingerprint_correlation_matrix`).

    display_labels : array-like of shape (n_sources,), default=None
        Source names in display order; ``0 .. n_sources - 1`` if None.

    families : array-like of shape (n_sources,), default=None
        Family of each displayed source. Each maximal run of equal families
        along the diagonal is outlined as a block and named at the right.

    Attributes
    ----------
    im_ : matplotlib AxesImage
        The heatmap.

    text_ : ndarray of shape (n_sources, n_sources) of matplotlib Text, or None
        The printed values, if ``include_values=True``.

    family_patches_ : list of matplotlib Rectangle
        One outline per family block (empty without families).

    family_texts_ : list of matplotlib Text
        The family names next to the blocks.

    ax_ : matplotlib Axes

    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from skfingerprint.visualization import CorrelationMatrixDisplay
    >>> rng = np.random.RandomState(0)
    >>> centers = rng.normal(size=(4, 32))
    >>> y = np.repeat(["gan1", "vae1", "gan2", "vae2"], 5)
    >>> Z = centers[np.repeat(np.arange(4), 5)] + 0.5 * rng.normal(size=(20, 32))
    >>> families = {"gan1": "GAN", "gan2": "GAN", "vae1": "VAE", "vae2": "VAE"}
    >>> disp = CorrelationMatrixDisplay.from_predictions(Z, y, families=families)
    >>> disp.rho.shape
    (4, 4)
    >>> len(disp.display_labels)
    4
    """

    def __init__(self, rho, *, display_labels=None, families=None):
        self.rho = rho
        self.display_labels = display_labels
        self.families = families

    @validate_params(
        {
            "include_values": ["boolean"],
            "values_format": [str],
            "cmap": [str, callable],
            "xticks_rotation": [StrOptions({"vertical", "horizontal"}), Real],
            "colorbar": ["boolean"],
            "ax": AX_CONSTRAINT,
            "im_kw": KW_CONSTRAINT,
            "text_kw": KW_CONSTRAINT,
            "family_kw": KW_CONSTRAINT,
        },
        prefer_skip_nested_validation=True,
    )
    def plot(
        self,
        *,
        include_values=True,
        values_format=".2f",
        cmap="viridis",
        xticks_rotation="vertical",
        colorbar=True,
        ax=None,
        im_kw=None,
        text_kw=None,
        family_kw=None,
    ):
        """Draw the heatmap.

        Parameters
        ----------
        include_values : bool, default=True
            Print each value in its cell.

        values_format : str, default=".2f"
            Format of the printed values.

        cmap : str or matplotlib Colormap, default="viridis"
            Colormap; the colour scale is fixed to [0, 1].

        xticks_rotation : {"vertical", "horizontal"} or float, default="vertical"
            Rotation of the x tick labels.

        colorbar : bool, default=True
            Add a colorbar.

        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure and axes if None.

        im_kw, text_kw, family_kw : dict, default=None
            Extra keywords for ``imshow``, the value texts, and the family
            block rectangles.

        Returns
        -------
        display : CorrelationMatrixDisplay
        """
        from matplotlib.patches import Rectangle

        fig, ax = _get_ax(ax, f"{type(self).__name__}.plot")
        rho = np.asarray(self.rho)
        n = rho.shape[0]
        labels = np.arange(n) if self.display_labels is None else self.display_labels

        kw = {"cmap": cmap, "vmin": 0.0, "vmax": 1.0, "interpolation": "nearest"}
        kw.update(im_kw or {})
        self.im_ = ax.imshow(rho, **kw)

        self.text_ = None
        if include_values:
            self.text_ = np.empty((n, n), dtype=object)
            cmap_obj = self.im_.cmap
            for i in range(n):
                for j in range(n):
                    # Dark text on light cells, light text on dark ones.
                    r, g, b, _ = cmap_obj(self.im_.norm(rho[i, j]))
                    light = 0.299 * r + 0.587 * g + 0.114 * b > 0.5
                    tkw = {"ha": "center", "va": "center", "fontsize": "small"}
                    tkw["color"] = "black" if light else "white"
                    tkw.update(text_kw or {})
                    self.text_[i, j] = ax.text(
                        j, i, format(rho[i, j], values_format), **tkw
                    )

        self.family_patches_, self.family_texts_ = [], []
        if self.families is not None:
            families = list(self.families)
            rkw = {"fill": False, "edgecolor": "red", "linewidth": 2}
            rkw.update(family_kw or {})
            for start, stop, family in _runs(families):
                size = stop - start
                patch = Rectangle((start - 0.5, start - 0.5), size, size, **rkw)
                ax.add_patch(patch)
                self.family_patches_.append(patch)
                self.family_texts_.append(
                    ax.text(
                        n - 0.5 + 0.15,
                        (start + stop - 1) / 2,
                        str(family),
                        ha="left",
                        va="center",
                        fontsize="small",
                        clip_on=False,
                    )
                )

        if colorbar:
            self._add_colorbar(fig, ax)
        ax.set(
            xticks=np.arange(n),
            yticks=np.arange(n),
            xticklabels=labels,
            yticklabels=labels,
            xlabel="Fingerprint of source",
            ylabel="Bags of source",
        )
        ax.set_xlim(-0.5, n - 0.5)
        ax.set_ylim(n - 0.5, -0.5)
        for tick in ax.get_xticklabels():
            tick.set_rotation(xticks_rotation)

        self.ax_ = ax
        self.figure_ = fig
        return self

    def _add_colorbar(self, fig, ax):
        """The colorbar, right of the family names when there are some."""
        if not self.family_texts_:
            fig.colorbar(self.im_, ax=ax, pad=0.05, label="mean |correlation|")
            return
        from mpl_toolkits.axes_grid1 import axes_size, make_axes_locatable

        # The gap is measured on the names when the figure is drawn, so that
        # the longest one never runs under the colorbar, whatever the layout.
        pad = axes_size.MaxWidth(self.family_texts_) + axes_size.Fixed(0.3)
        cax = make_axes_locatable(ax).append_axes("right", size="5%", pad=pad)
        fig.colorbar(self.im_, cax=cax, label="mean |correlation|")

    @classmethod
    @validate_params(
        {
            **SOURCE_CONSTRAINTS,
            **METRIC_CONSTRAINTS,
            "n_families": [None, Interval(Integral, 1, None, closed="left")],
            "order": [StrOptions({"dendrogram"}), None],
        },
        prefer_skip_nested_validation=False,  # plot's options are checked by plot
    )
    def from_predictions(
        cls,
        Z,
        y,
        *,
        labels=None,
        fingerprints=None,
        families=None,
        n_families=None,
        order="dendrogram",
        metric="correlation",
        include_values=True,
        values_format=".2f",
        cmap="viridis",
        xticks_rotation="vertical",
        colorbar=True,
        ax=None,
        im_kw=None,
        text_kw=None,
        family_kw=None,
    ):
        """Plot the correlation matrix of given embeddings.

        Parameters
        ----------
        Z : array-like of shape (n_bags, n_features)
            Bag embeddings (the "predictions" here are a transformer's output).

        y : array-like of shape (n_bags,)
            Source of each bag.

        labels : array-like of shape (n_sources,), default=None
            Sources to include; the sorted unique values of ``y`` if None.

        fingerprints : array-like of shape (n_sources, n_features), default=None
            Fingerprints in the order of ``labels``; leave-one-out class means
            of ``Z`` if None (see
            :func:`~skfingerprint.metrics.fingerprint_correlation_matrix`).

        families : mapping or array-like of shape (n_sources,), default=None
            Known family of each source (a dict source -> family, or values
            aligned with ``labels``); their blocks are outlined.

        n_families : int, default=None
            Instead of known families, outline the families found by
            :func:`~skfingerprint.cluster.cluster_families` with this many
            clusters (the same average-linkage dendrogram, cut), each named
            ``"cluster <id>"`` with the id ``cluster_families`` gives it. Not
            with ``families``.

        order : {"dendrogram", None}, default="dendrogram"
            Order the sources by the average-linkage dendrogram of
            :func:`~skfingerprint.cluster.fingerprint_distances` (leaf order
            optimized), or keep the order of ``labels`` with None.

        metric : {"correlation", "euclidean"}, default="correlation"
            The distance of that dendrogram and of ``n_families``'s clusters
            (see :func:`~skfingerprint.cluster.fingerprint_distances`); the
            heatmap shows the correlation either way. "euclidean" for a
            space trained on that distance, such as an encoder's.

        include_values, values_format, cmap, xticks_rotation, colorbar, ax, \
im_kw, text_kw, family_kw
            See :meth:`plot`.

        Returns
        -------
        display : CorrelationMatrixDisplay
        """
        arguments = locals()
        if families is not None and n_families is not None:
            raise ValueError("Give families or n_families, not both.")
        classes = _checked_sources(Z, y, labels)
        rho = fingerprint_correlation_matrix(
            Z, y, fingerprints=fingerprints, labels=classes
        )
        family_values = _as_per_source(families, classes)
        if n_families is not None:
            found = cluster_families(
                Z,
                y,
                n_families=n_families,
                fingerprints=fingerprints,
                labels=classes,
                metric=metric,
            )
            family_values = np.array(
                [f"cluster {found[c]}" for c in classes.tolist()], dtype=object
            )

        perm = np.arange(classes.size)
        if classes.size >= 2 and order == "dendrogram":
            D = fingerprint_distances(
                Z, y, fingerprints=fingerprints, labels=classes, metric=metric
            )
            perm = leaves_list(family_linkage(D))
        disp = cls(
            rho[np.ix_(perm, perm)],
            display_labels=classes[perm],
            families=None if family_values is None else family_values[perm],
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
        n_families=None,
        order="dendrogram",
        metric="correlation",
        include_values=True,
        values_format=".2f",
        cmap="viridis",
        xticks_rotation="vertical",
        colorbar=True,
        ax=None,
        im_kw=None,
        text_kw=None,
        family_kw=None,
    ):
        """Plot the correlation matrix of a fitted encoder's embeddings of ``X``.

        ``X`` is transformed as by
        :class:`~skfingerprint.metrics.DecorrelationScorer` (a transformer
        whole; a Pipeline through its transforming steps). Use bags held out
        from training.

        Parameters
        ----------
        estimator : fitted transformer or Pipeline

        X : array-like
            Bags, in any form ``estimator`` accepts.

        y : array-like of shape (n_bags,)
            Source of each bag.

        labels, fingerprints, families, n_families, order, metric
            See :meth:`from_predictions`.

        include_values, values_format, cmap, xticks_rotation, colorbar, ax, \
im_kw, text_kw, family_kw
            See :meth:`plot`.

        Returns
        -------
        display : CorrelationMatrixDisplay
        """
        arguments = locals()
        return cls.from_predictions(
            embed(estimator, X), y, **_forward(cls.from_predictions, arguments)
        )
