"""scikit-learn's common estimator checks (two_d_array=True keeps them on)."""

import inspect

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfingerprint import SetFingerprintEncoder
from skfingerprint.baselines import AttributionCNN, PRNUFingerprint, SpectrumFingerprint
from skfingerprint.encoder._estimator import _expected_failed_checks


def test_two_d_array_tag_is_kept():
    tags = SetFingerprintEncoder().__sklearn_tags__()
    assert tags.input_tags.two_d_array  # else check_estimator runs no check
    assert tags.transformer_tags.preserves_dtype == ["float32"]
    assert len(_expected_failed_checks(SetFingerprintEncoder())) <= 3


@pytest.mark.parametrize(
    "cls", [SetFingerprintEncoder, PRNUFingerprint, SpectrumFingerprint, AttributionCNN])
def test_every_parameter_is_declared_in_the_constraints(cls):
    """Every parameter is validated by scikit-learn's constraints; only
    ``callbacks`` (skorch callbacks, checked once per fit) is left to code."""
    params = [n for n in inspect.signature(cls.__init__).parameters if n != "self"]
    constraints = cls._parameter_constraints
    assert sorted(constraints) == sorted(params)
    unvalidated = {n for n, c in constraints.items() if c == "no_validation"}
    assert unvalidated <= {"callbacks"}
    # the bag-input parameters are declared once, by the shared contract
    from skfingerprint._bags import BagInputMixin

    for name in ("image_size", "patch_size", "patches_per_image"):
        assert constraints[name] is BagInputMixin._bag_input_constraints[name]


@parametrize_with_checks(
    [SetFingerprintEncoder(max_epochs=2, random_state=0)],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
