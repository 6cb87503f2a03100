"""Score against a bag parameter, from a search's ``cv_results_`` (paper Fig. 4)."""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import HasMethods, Interval, validate_params

from ._base import AX_CONSTRAINT, KW_CONSTRAINT, _forward, _get_ax


def _is_number(value):
    return isinstance(value, Real) and not isinstance(value, (bool, np.bool_))


class StabilityDisplay:
    """Mean and standard deviation of a score against a parameter (paper Fig. 4).

    Create it with :meth:`from_cv_results` from a fitted
    :class:`~sklearn.model_selection.GridSearchCV` (or any search's
    ``cv_results_``). The mean test score over folds is drawn as a line and
    plus/minus one standard deviation as a shaded band; with other searched
    parameters, one line per combination of them. All parameters are stored as
    attributes.

    Parameters
    ----------
    param_range : array-like of shape (n_values,)
        Values of the parameter.

    mean_scores : array-like of shape (n_values,) or (n_lines, n_values)
        Mean score at each value (NaN where a line has no such value).

    std_scores : array-like of the same shape as ``mean_scores``
        Standard deviation of the score at each value.

    param_name : str, default=None
        Label of the x axis.

    score_name : str, default=None
        Label of the y axis; "Score" if None.

    line_labels : list of str, default=None
        Legend entry of each line; no legend if None.

    Attributes
    ----------
    lines_ : list of matplotlib Line2D
        One line of mean scores per row of ``mean_scores``.

    fill_betweens_ : list of matplotlib PolyCollection
        The shaded mean plus/minus std bands.

    ax_ : matplotlib Axes

    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skfingerprint.metrics import DecorrelationScorer
    >>> from skfingerprint.visualization import StabilityDisplay
    >>> rng = np.random.RandomState(0)
    >>> y = np.repeat(np.arange(4), 10)
    >>> X = rng.normal(size=(4, 20))[y] + rng.normal(size=(40, 20))
    >>> search = GridSearchCV(PCA(), {"n_components": [2, 4, 8]},
    ...                       scoring=DecorrelationScorer(), cv=2).fit(X, y)
    >>> disp = StabilityDisplay.from_cv_results(search.cv_results_, "n_components")
    >>> disp.param_range.tolist()
    [2, 4, 8]
    >>> len(disp.lines_)
    1
    """

    def __init__(
        self,
        param_range,
        mean_scores,
        std_scores,
        *,
        param_name=None,
        score_name=None,
        line_labels=None,
    ):
        self.param_range = param_range
        self.mean_scores = mean_scores
        self.std_scores = std_scores
        self.param_name = param_name
        self.score_name = score_name
        self.line_labels = line_labels

    @validate_params(
        {
            "xscale": [None, str],
            "std_alpha": [Interval(Real, 0, 1, closed="both")],
            "ax": AX_CONSTRAINT,
            "line_kw": KW_CONSTRAINT,
            "fill_between_kw": KW_CONSTRAINT,
        },
        prefer_skip_nested_validation=True,
    )
    def plot(
        self,
        *,
        xscale=None,
        std_alpha=0.2,
        ax=None,
        line_kw=None,
        fill_between_kw=None,
    ):
        """Draw the curves.

        Parameters
        ----------
        xscale : str, default=None
            Scale of the x axis, e.g. "log" for bag sizes 1 ... 300;
            matplotlib's default if None.

        std_alpha : float, default=0.2
            Opacity of the shaded standard deviation bands.

        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure and axes if None.

        line_kw, fill_between_kw : dict, default=None
            Extra keywords for ``ax.plot`` and ``ax.fill_between``.

        Returns
        -------
        display : StabilityDisplay
        """
        fig, ax = _get_ax(ax, f"{type(self).__name__}.plot")
        values = list(np.asarray(self.param_range, dtype=object))
        numeric = all(_is_number(v) for v in values)
        x = (
            np.asarray(values, dtype=float)
            if numeric
            else np.arange(len(values), dtype=float)
        )
        mean = np.atleast_2d(np.asarray(self.mean_scores, dtype=float))
        std = np.atleast_2d(np.asarray(self.std_scores, dtype=float))
        if mean.shape != std.shape or mean.shape[1] != len(values):
            raise ValueError(
                "mean_scores and std_scores must have the same shape, "
                f"(n_values,) or (n_lines, n_values) with n_values={len(values)}; "
                f"got {mean.shape} and {std.shape}."
            )

        self.lines_, self.fill_betweens_ = [], []
        for k in range(mean.shape[0]):
            ok = np.isfinite(mean[k])
            lkw = {"marker": "o"}
            if self.line_labels is not None:
                lkw["label"] = str(self.line_labels[k])
            lkw.update(line_kw or {})
            (line,) = ax.plot(x[ok], mean[k, ok], **lkw)
            fkw = {"alpha": std_alpha, "color": line.get_color(), "linewidth": 0}
            fkw.update(fill_between_kw or {})
            s = np.nan_to_num(std[k, ok])
            band = ax.fill_between(x[ok], mean[k, ok] - s, mean[k, ok] + s, **fkw)
            self.lines_.append(line)
            self.fill_betweens_.append(band)

        if not numeric:
            ax.set_xticks(x)
            ax.set_xticklabels([str(v) for v in values])
        if xscale is not None:
            ax.set_xscale(xscale)
        ax.set_xlabel(self.param_name if self.param_name is not None else "")
        ax.set_ylabel(self.score_name if self.score_name is not None else "Score")
        if self.line_labels is not None:
            ax.legend(fontsize="small")

        self.ax_ = ax
        self.figure_ = fig
        return self

    @classmethod
    @validate_params(
        {
            "cv_results": [HasMethods(["keys", "__getitem__"])],  # a dict or a DataFrame
            "param": [str],
            "score": [str],
            "score_name": [None, str],
        },
        prefer_skip_nested_validation=False,  # plot's options are checked by plot
    )
    def from_cv_results(
        cls,
        cv_results,
        param,
        *,
        score="score",
        score_name=None,
        xscale=None,
        std_alpha=0.2,
        ax=None,
        line_kw=None,
        fill_between_kw=None,
    ):
        """Plot mean and std of a test score against one searched parameter.

        Parameters
        ----------
        cv_results : dict
            The ``cv_results_`` of a fitted search (e.g. GridSearchCV).

        param : str
            Name of the parameter on the x axis, as in the search's grid (e.g.
            ``"bag_size"``, or ``"encoder__bag_size"`` in a Pipeline).

        score : str, default="score"
            Which score: ``"score"`` for a single scorer, or a key of a
            multi-metric ``scoring`` dict. Read from ``mean_test_<score>`` and
            ``std_test_<score>``.

        score_name : str, default=None
            Label of the y axis; "Test <score> (mean ± std over folds)" if None.

        xscale, std_alpha, ax, line_kw, fill_between_kw
            See :meth:`plot`.

        Returns
        -------
        display : StabilityDisplay
        """
        arguments = locals()
        mean_key, std_key = f"mean_test_{score}", f"std_test_{score}"
        if mean_key not in cv_results or std_key not in cv_results:
            available = sorted(
                k[len("mean_test_"):] for k in cv_results if k.startswith("mean_test_")
            )
            raise ValueError(
                f"cv_results has no {mean_key!r}; available scores: {available}."
            )
        params = cv_results["params"]
        rows = [i for i, p in enumerate(params) if param in p]
        if not rows:
            searched = sorted({k for p in params for k in p})
            raise ValueError(
                f"{param!r} was not searched; searched parameters: {searched}."
            )

        values, groups = [], []
        for i in rows:
            value = params[i][param]
            if value not in values:
                values.append(value)
            others = tuple(sorted((k, repr(v)) for k, v in params[i].items() if k != param))
            if others not in groups:
                groups.append(others)
        if all(_is_number(v) for v in values):
            values = sorted(values)

        mean = np.full((len(groups), len(values)), np.nan)
        std = np.full((len(groups), len(values)), np.nan)
        for i in rows:
            others = tuple(sorted((k, repr(v)) for k, v in params[i].items() if k != param))
            g, v = groups.index(others), values.index(params[i][param])
            mean[g, v] = cv_results[mean_key][i]
            std[g, v] = cv_results[std_key][i]

        line_labels = None
        if len(groups) > 1:
            line_labels = [", ".join(f"{k}={v}" for k, v in g) for g in groups]
        if score_name is None:
            name = "score" if score == "score" else score
            score_name = f"Test {name} (mean ± std over folds)"
        disp = cls(
            np.asarray(values if values else [], dtype=object)
            if not all(_is_number(v) for v in values)
            else np.asarray(values),
            mean[0] if len(groups) == 1 else mean,
            std[0] if len(groups) == 1 else std,
            param_name=param,
            score_name=score_name,
            line_labels=line_labels,
        )
        return disp.plot(**_forward(disp.plot, arguments))
