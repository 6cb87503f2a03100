"""Bad arguments of the Displays' public methods: a clear error naming the argument."""

import numpy as np
import pytest

from skfingerprint.visualization import (
    CorrelationMatrixDisplay,
    FamilyDendrogramDisplay,
    StabilityDisplay,
)

RNG = np.random.RandomState(0)
Z = RNG.normal(size=(12, 8))
Y = np.repeat(["a", "b", "c"], 4)
CV = {"params": [{"p": 1}, {"p": 2}], "mean_test_score": [0.5, 0.6],
      "std_test_score": [0.1, 0.1]}

CORR = CorrelationMatrixDisplay.from_predictions
DENDRO = FamilyDendrogramDisplay.from_predictions

CASES = [
    # scikit-learn's parameter validation: "The 'order' parameter of ... must be ..."
    (lambda: CORR(Z, Y, order="alphabetical"), "'order' parameter of CorrelationMatrixDisplay"),
    (lambda: CORR(Z, Y, n_families=0), "'n_families' parameter"),
    (lambda: CORR(Z, Y, n_families=1.5), "'n_families' parameter"),
    (lambda: CORR(Z, Y, families=3), "'families' parameter"),
    (lambda: CORR(Z, Y, include_values="yes"), "'include_values' parameter"),
    (lambda: CORR(Z, Y, xticks_rotation="diagonal"), "'xticks_rotation' parameter"),
    (lambda: CORR(Z, Y, ax="left"), "'ax' parameter"),
    (lambda: CORR(Z, Y, im_kw=[("cmap", "gray")]), "'im_kw' parameter"),
    (lambda: CORR(Z, Y, cmap=3), "'cmap' parameter"),
    (lambda: CorrelationMatrixDisplay.from_estimator(object(), Z, Y),
     "'estimator' parameter of CorrelationMatrixDisplay.from_estimator"),
    (lambda: DENDRO(Z, Y, orientation="up"), "'orientation' parameter of FamilyDendrogram"),
    (lambda: DENDRO(Z, Y, legend=None), "'legend' parameter"),
    (lambda: DENDRO(Z, Y, dendrogram_kw="x"), "'dendrogram_kw' parameter"),
    (lambda: FamilyDendrogramDisplay.from_estimator(Z, Z, Y), "'estimator' parameter"),
    (lambda: StabilityDisplay.from_cv_results([CV], "p"), "'cv_results' parameter"),
    (lambda: StabilityDisplay.from_cv_results(CV, 3), "'param' parameter"),
    (lambda: StabilityDisplay.from_cv_results(CV, "p", std_alpha=2), "'std_alpha' parameter"),
    (lambda: StabilityDisplay([1, 2], [0.5, 0.6], [0.1, 0.1]).plot(line_kw=1),
     "'line_kw' parameter of StabilityDisplay.plot"),
    # checks of their own
    (lambda: CORR(Z, Y, n_families=4), "n_families must be between 1 and the number"),
    (lambda: CORR(Z, Y, n_families=2, families={"a": 0, "b": 0, "c": 1}), "not both"),
]


@pytest.mark.parametrize("call, match", CASES)
def test_bad_arguments_are_refused_by_name(call, match):
    with pytest.raises(ValueError, match=match):
        call()
