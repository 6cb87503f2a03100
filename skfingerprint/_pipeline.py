"""The last step of a Pipeline, and what it takes: one home for the package.

A fitted estimator of the library is often a Pipeline ``encoder ->
classifier``; the classifier's methods (``enroll``, ``calibrate_threshold``,
``unknown_score``) take the features that the steps before it produce.
"""

__all__ = ["embed", "final_step", "final_step_input"]


def final_step(estimator):
    """The last step of a Pipeline; any other estimator itself."""
    from sklearn.pipeline import Pipeline

    return estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator


def final_step_input(estimator, X):
    """``X`` through every step of a Pipeline but the last; ``X`` itself otherwise.

    What :func:`final_step` of ``estimator`` takes: a one-step Pipeline, or an
    estimator that is not a Pipeline, takes ``X`` as it is.
    """
    from sklearn.pipeline import Pipeline

    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        return estimator[:-1].transform(X)
    return X


def embed(estimator, X):
    """Transform ``X`` into embeddings through a fitted estimator.

    A transformer (or a Pipeline ending in one) is applied whole. A Pipeline
    whose final step cannot ``transform`` (e.g. a classifier on top of an
    encoder) is applied up to that step (:func:`final_step_input`); a
    one-step such Pipeline leaves ``X`` as it is.

    Raises
    ------
    TypeError
        If ``estimator`` has no ``transform`` and is not a Pipeline.
    """
    from sklearn.pipeline import Pipeline

    if hasattr(estimator, "transform"):
        return estimator.transform(X)
    if isinstance(estimator, Pipeline):
        return final_step_input(estimator, X)
    raise TypeError(
        f"{type(estimator).__name__} has no transform method and is not a Pipeline; "
        "the decorrelation score needs an estimator that maps bags to embeddings."
    )
