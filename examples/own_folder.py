"""Your own images: a folder tree in, a saved model out, new images attributed.

Writes a folder tree ``images/<source>/*.png`` (here synthetic images; use
your own folders the same way), then:

1. ``load_image_folder`` finds the images and their labels (folder names)
   without decoding them;
2. ``make_bags`` groups the paths into bags: images are decoded lazily,
   batch by batch, so the folder may be larger than memory;
3. the Pipeline is fitted, saved in the safe format and loaded back;
4. new images are attributed, as bags.

The same with the command line::

    skfingerprint fit images --bag-size 8 -o model.skfp
    skfingerprint attribute model.skfp new/ --bag-size 8

Run it with::

    python examples/own_folder.py          # ~1 minute on a 2-core CPU
    python examples/own_folder.py --quick  # seconds
"""

import os
import sys

import numpy as np
from PIL import Image
from sklearn.pipeline import Pipeline

import skfingerprint
from skfingerprint import NearestFingerprintClassifier, SetFingerprintEncoder, make_bags
from skfingerprint.datasets import load_image_folder, make_fingerprinted_images

QUICK = "--quick" in sys.argv or os.environ.get("SKFINGERPRINT_EXAMPLES_QUICK") == "1"

# %% A folder tree of PNG files, and a few new images of each source
data = make_fingerprinted_images(n_models=4, n_images_per_model=36 if QUICK else 160,
                                 image_size=16, include_real=True, random_state=0)
for i, (image, label) in enumerate(zip(data.images, data.labels)):
    folder = "new" if i % 6 == 0 else "images"  # hold some images out
    os.makedirs(os.path.join(folder, label), exist_ok=True)
    Image.fromarray(image).save(os.path.join(folder, label, f"{i:05d}.png"))

# %% Paths and labels; the folder names are the labels
found = load_image_folder("images")
print(found.DESCR)
X, y = make_bags(found.paths, found.labels, bag_size=8, random_state=0)
print(f"{X.shape[0]} bags of {X.shape[1]} paths, e.g. {os.path.relpath(X[0, 0])}")

# %% Fit, save safely, load
model = Pipeline([
    ("fingerprint", SetFingerprintEncoder(max_epochs=1 if QUICK else 15, random_state=0)),
    ("classify", NearestFingerprintClassifier()),
]).fit(X, y)
skfingerprint.save(model, "model.skfp")
model = skfingerprint.load("model.skfp")  # cannot run code, whoever wrote the file

# %% Attribute the held-out images: one bag per source folder
new = load_image_folder("new")
X_new, y_new = make_bags(new.paths, new.labels, bag_size=6, random_state=0)
proba = model.predict_proba(X_new)
for truth, p in zip(y_new, proba):
    best, second = np.argsort(p)[::-1][:2]
    print(f"bag of {truth:>5}: {model.classes_[best]:>5} (p={p[best]:.2f}), "
          f"runner-up {model.classes_[second]} (p={p[second]:.2f})")
print(f"accuracy on new bags: {np.mean(model.predict(X_new) == y_new):.2f}")
