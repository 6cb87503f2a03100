"""GridSearchCV over the encoder's bag size, scored by decorrelation, plotted."""

import numpy as np
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from skfingerprint import SetFingerprintEncoder, make_bags
from skfingerprint.datasets import make_fingerprinted_images
from skfingerprint.metrics import DecorrelationScorer
from skfingerprint.visualization import StabilityDisplay


def test_bag_size_search_feeds_stability_display():
    data = make_fingerprinted_images(
        n_models=3, n_images_per_model=32, image_size=8, strength=0.05, random_state=0
    )
    X, y = make_bags(data.images, data.labels, bag_size=8, random_state=0)
    encoder = SetFingerprintEncoder(
        embedding_dim=8, channels=(8,), max_epochs=2, batch_size=6,
        device="cpu", random_state=0,
    )
    search = GridSearchCV(
        encoder,
        {"bag_size": [8, 1]},
        scoring=DecorrelationScorer(),
        cv=StratifiedKFold(2),
        refit=False,
        error_score="raise",
    ).fit(X, y)
    results = search.cv_results_
    assert np.all(np.isfinite(results["mean_test_score"]))

    disp = StabilityDisplay.from_cv_results(
        results, "bag_size", score_name="Decorrelation score", xscale="log"
    )
    (line,) = disp.lines_
    np.testing.assert_array_equal(line.get_xdata(), [1, 8])
    np.testing.assert_allclose(line.get_ydata(), results["mean_test_score"][[1, 0]])
    assert disp.ax_.get_xlabel() == "bag_size"
    assert disp.ax_.get_ylabel() == "Decorrelation score"
