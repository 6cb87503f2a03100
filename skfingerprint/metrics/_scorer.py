"""A scorer that rates an encoder by the decorrelation of its embeddings."""

from .._pipeline import embed
from ._correlation import _check_kind, decorrelation_score


class DecorrelationScorer:
    """Score a fitted encoder by the decorrelation of the embeddings it produces.

    A callable ``scorer(estimator, X, y) -> float`` (greater is better) for
    ``scoring=`` in :class:`~sklearn.model_selection.GridSearchCV`,
    :func:`~sklearn.model_selection.cross_val_score` and friends. It transforms
    the held-out bags ``X`` through the estimator and returns
    :func:`decorrelation_score` of the embeddings against ``y``, with each
    source's fingerprint estimated from the other held-out bags of that source
    (leave-one-out), so no training bag is involved.

    - A transformer, or a Pipeline whose last step has ``transform``, is
      applied whole: ``estimator.transform(X)``.
    - A Pipeline whose last step has no ``transform`` (e.g. an encoder followed
      by a classifier) is applied through its transforming steps:
      ``estimator[:-1].transform(X)``.

    :func:`~sklearn.metrics.make_scorer` cannot express this, as it only calls
    ``predict``-like methods.

    Parameters
    ----------
    kind : {"contrast", "frobenius"}, default="contrast"
        Form of the score; see :func:`decorrelation_score`.

    Notes
    -----
    Every source needs at least 2 bags in each test fold (use a
    :class:`~sklearn.model_selection.StratifiedKFold` with at least
    ``2 * n_splits`` bags per source); otherwise the scorer raises a ValueError,
    which model selection tools record as ``error_score``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.model_selection import GridSearchCV
    >>> from skfingerprint.metrics import DecorrelationScorer
    >>> rng = np.random.RandomState(0)
    >>> y = np.repeat(np.arange(4), 10)
    >>> X = rng.normal(size=(4, 20))[y] + 0.3 * rng.normal(size=(40, 20))
    >>> search = GridSearchCV(PCA(), {"n_components": [2, 8]},
    ...                       scoring=DecorrelationScorer(), cv=2).fit(X, y)
    >>> search.best_params_
    {'n_components': 8}
    >>> DecorrelationScorer(kind="frobenius")
    DecorrelationScorer(kind='frobenius')
    """

    def __init__(self, kind="contrast"):
        self.kind = kind

    def __call__(self, estimator, X, y):
        """Return the decorrelation score of ``estimator``'s embeddings of ``X``.

        Parameters
        ----------
        estimator : fitted estimator
            A transformer or a Pipeline (see the class docstring).

        X : array-like
            Bags to embed, in whatever form ``estimator`` accepts.

        y : array-like of shape (n_bags,)
            Source of each bag.

        Returns
        -------
        score : float
        """
        _check_kind(self.kind, caller_name=type(self).__name__)
        return decorrelation_score(embed(estimator, X), y, kind=self.kind)

    def __repr__(self):
        if self.kind == "contrast":
            return "DecorrelationScorer()"
        return f"DecorrelationScorer(kind={self.kind!r})"
