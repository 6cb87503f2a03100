"""scikit-learn's common estimator checks (two_d_array=True keeps them on)."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from skfingerprint import SetFingerprintEncoder
from skfingerprint.encoder._estimator import _expected_failed_checks


def test_two_d_array_tag_is_kept():
    tags = SetFingerprintEncoder().__sklearn_tags__()
    assert tags.input_tags.two_d_array  # else check_estimator runs no check
    assert tags.transformer_tags.preserves_dtype == ["float32"]
    assert len(_expected_failed_checks(SetFingerprintEncoder())) <= 3


@parametrize_with_checks(
    [SetFingerprintEncoder(max_epochs=2, random_state=0)],
    expected_failed_checks=_expected_failed_checks,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
