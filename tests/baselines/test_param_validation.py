"""Every parameter of the baselines is declared in ``_parameter_constraints``."""

import pytest
from sklearn.utils.estimator_checks import check_param_validation

from skfingerprint.baselines import AttributionCNN, PRNUFingerprint, SpectrumFingerprint


@pytest.mark.parametrize(
    "estimator",
    [PRNUFingerprint(), SpectrumFingerprint(),
     AttributionCNN(4, channels=(4,), max_epochs=1, random_state=0)],
    ids=lambda est: type(est).__name__,
)
def test_every_parameter_is_validated_by_scikit_learn(estimator):
    # each parameter has a constraint, and a value of the wrong type is
    # refused with InvalidParameterError (naming it) by fit and fit_transform
    check_param_validation(type(estimator).__name__, estimator)
