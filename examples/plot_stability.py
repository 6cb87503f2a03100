"""Stability: how the fingerprints depend on the bag parameters.

``GridSearchCV`` over the encoder's ``bag_size`` and ``n_bags_per_model``,
scored by the decorrelation of held-out fingerprints
(``DecorrelationScorer``), and the mean +/- std over folds drawn with
``StabilityDisplay`` (paper Sec. 4.3, Fig. 4).  Writes ``stability.png``::

    python examples/plot_stability.py          # a few minutes on a 2-core CPU
    python examples/plot_stability.py --quick  # seconds
"""

import os
import sys

import matplotlib

matplotlib.use("Agg")
from sklearn.model_selection import GridSearchCV, StratifiedKFold  # noqa: E402

from skfingerprint import SetFingerprintEncoder, make_bags  # noqa: E402
from skfingerprint.datasets import make_fingerprinted_images  # noqa: E402
from skfingerprint.metrics import DecorrelationScorer  # noqa: E402
from skfingerprint.visualization import StabilityDisplay  # noqa: E402

QUICK = "--quick" in sys.argv or os.environ.get("SKFINGERPRINT_EXAMPLES_QUICK") == "1"

data = make_fingerprinted_images(n_models=4 if QUICK else 6,
                                 n_images_per_model=32 if QUICK else 256,
                                 image_size=16, random_state=0)
X, y = make_bags(data.images, data.labels, bag_size=8 if QUICK else 16, random_state=0)

grid = {"bag_size": [1, 8] if QUICK else [1, 2, 4, 8, 16],
        "n_bags_per_model": [4] if QUICK else [4, 8, 16]}
search = GridSearchCV(
    SetFingerprintEncoder(max_epochs=1 if QUICK else 10, random_state=0),
    grid,
    scoring=DecorrelationScorer(),  # higher is better; 0 for random embeddings
    cv=StratifiedKFold(2 if QUICK else 3, shuffle=True, random_state=0),
).fit(X, y)
print("best:", search.best_params_, f"decorrelation {search.best_score_:.3f}")

# One line per value of n_bags_per_model, bag_size on the x axis.
disp = StabilityDisplay.from_cv_results(search.cv_results_, "bag_size", xscale="log",
                                        score_name="decorrelation score")
disp.ax_.set_xticks(grid["bag_size"], [str(b) for b in grid["bag_size"]])
disp.figure_.tight_layout()
disp.figure_.savefig("stability.png", dpi=100)
print("wrote stability.png")
