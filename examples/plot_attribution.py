"""Attribution: which model made these images?

A Pipeline ``SetFingerprintEncoder -> classifier`` is an ordinary
scikit-learn classifier of bags: ``cross_val_score`` scores it (the encoder is
refitted on the training folds only), ``GridSearchCV`` tunes the bag size, and
any classifier can follow the encoder.  Writes ``attribution_bag_size.png``::

    python examples/plot_attribution.py          # ~2 minutes on a 2-core CPU
    python examples/plot_attribution.py --quick  # seconds
"""

import os
import sys

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score  # noqa: E402
from sklearn.neural_network import MLPClassifier  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402

from skfingerprint import NearestFingerprintClassifier, SetFingerprintEncoder, make_bags  # noqa: E402
from skfingerprint.datasets import make_fingerprinted_images  # noqa: E402
from skfingerprint.visualization import StabilityDisplay  # noqa: E402

QUICK = "--quick" in sys.argv or os.environ.get("SKFINGERPRINT_EXAMPLES_QUICK") == "1"
EPOCHS, CV, BAG = (1, 2, 8) if QUICK else (15, 5, 16)

data = make_fingerprinted_images(n_models=6, n_families=3, include_real=True,
                                 n_images_per_model=32 if QUICK else 256,
                                 image_size=16, random_state=0)
# Bags of 16 images; the encoder's bag_size then uses 1..16 of them.
X, y = make_bags(data.images, data.labels, bag_size=BAG, random_state=0)
cv = StratifiedKFold(CV, shuffle=True, random_state=0)

# %% Two classifiers after the same encoder
for name, clf in [("MLP", MLPClassifier(max_iter=1000, random_state=0)),
                  ("nearest fingerprint", NearestFingerprintClassifier())]:
    pipe = Pipeline([("fp", SetFingerprintEncoder(max_epochs=EPOCHS, random_state=0)),
                     ("clf", clf)])
    scores = cross_val_score(pipe, X, y, cv=cv)
    print(f"{name:>20}: accuracy {scores.mean():.3f} +/- {scores.std():.3f} "
          f"(chance {1 / len(np.unique(y)):.3f})")

# %% How many images per bag?  A grid search over the encoder's bag size
pipe = Pipeline([("fp", SetFingerprintEncoder(max_epochs=EPOCHS, random_state=0)),
                 ("clf", NearestFingerprintClassifier())])
bag_sizes = [1, 8] if QUICK else [1, 2, 4, 8, 16]
search = GridSearchCV(pipe, {"fp__bag_size": bag_sizes}, cv=cv).fit(X, y)
print("best bag size:", search.best_params_["fp__bag_size"],
      f"(accuracy {search.best_score_:.3f})")

disp = StabilityDisplay.from_cv_results(search.cv_results_, "fp__bag_size", xscale="log",
                                        score_name="attribution accuracy")
disp.ax_.set_xticks(bag_sizes, [str(b) for b in bag_sizes])
disp.figure_.tight_layout()
disp.figure_.savefig("attribution_bag_size.png", dpi=100)
print("wrote attribution_bag_size.png")
