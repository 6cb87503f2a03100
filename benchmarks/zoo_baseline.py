"""A simple baseline on the model zoo: logistic regression on log-spectra.

For every image: a high-pass residual (the image minus its 3x3 box-blurred
version, per colour channel), its 2D power spectrum (``rfft2``), and the log
of it; the features of an image are the three channels' log-spectra.  A
standardised multinomial logistic regression is trained on half of each
source's images and scored on the other half (image-level accuracy, chance =
1 / number of sources).

This answers one question: do the zoo's sources leave attributable traces at
all?  (The set encoder of skfingerprint is benchmarked elsewhere.)

Run from the repository root (builds the default zoo if it is not cached)::

    python -m benchmarks.zoo_baseline [--preset default] [--random-state 0]

Writes ``benchmarks/results/zoo_baseline.md`` and ``.json``.
"""

import argparse
import time

import numpy as np
from scipy.ndimage import uniform_filter
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from benchmarks._common import env_markdown, environment, load_zoo, write_results


def log_spectrum_features(images, batch=2048):
    """(n, H, W, 3) uint8 -> (n, 3 * H * (W // 2 + 1)) float32 log power
    spectra of the high-pass residual ``x - box3x3(x)``."""
    out = []
    for start in range(0, len(images), batch):
        x = images[start : start + batch].astype(np.float32) / 255.0
        residual = x - uniform_filter(x, size=(1, 3, 3, 1), mode="reflect")
        power = np.abs(np.fft.rfft2(residual, axes=(1, 2))) ** 2
        out.append(np.log(power + 1e-8).reshape(len(x), -1).astype(np.float32))
    return np.concatenate(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", default="default", choices=["small", "default"])
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument("--C", type=float, default=0.01, help="inverse L2 strength")
    args = parser.parse_args(argv)

    zoo = load_zoo(args.preset, args.random_state)
    t0 = time.perf_counter()
    X = log_spectrum_features(zoo.images)
    y = zoo.labels
    X_tr, X_te, y_tr, y_te = train_test_split(
        X, y, test_size=0.5, stratify=y, random_state=args.random_state
    )
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=args.C, max_iter=1000))
    clf.fit(X_tr, y_tr)
    pred = clf.predict(X_te)
    seconds = time.perf_counter() - t0

    sources = zoo.sources
    acc = float(np.mean(pred == y_te))
    chance = 1.0 / len(sources)
    cm = confusion_matrix(y_te, pred, labels=sources)
    recall = {s: float(cm[i, i] / cm[i].sum()) for i, s in enumerate(sources)}
    fam = np.array([zoo.families[s] for s in y_te])
    fam_pred = np.array([zoo.families[s] for s in pred])
    family_acc = float(np.mean(fam == fam_pred))
    n_families = len(set(zoo.families.values()))
    confused = {}
    for i, s in enumerate(sources):
        off = np.where(np.arange(len(sources)) == i, 0, cm[i])
        confused[s] = sources[int(np.argmax(off))] if off.sum() else "-"

    env = environment()
    n_per = int(np.sum(zoo.labels == "real"))
    md = [
        "# Baseline on the model zoo: logistic regression on residual log-spectra",
        "",
        f"Zoo: preset `{zoo.preset}`, {zoo.image_size}x{zoo.image_size}, "
        f"random_state={zoo.random_state}, {len(sources)} sources x {n_per} images. "
        "Features: log power spectrum (rfft2) of the high-pass residual "
        "`x - box3x3(x)` of each colour channel "
        f"({X.shape[1]} features). Standardised multinomial logistic regression "
        f"(C={args.C}); stratified 50/50 split of the images.",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| **image-level accuracy** ({len(sources)} sources) | **{acc:.3f}** |",
        f"| chance level | {chance:.3f} |",
        f"| family accuracy (predicted source's family; {n_families} families) | {family_acc:.3f} |",
        f"| test images | {len(y_te)} |",
        f"| features + fit + predict | {seconds:.0f} s |",
        "",
        "Per source (recall on the test half, and the source it is most often taken for):",
        "",
        "| source | family | recall | most confused with |",
        "|---|---|---|---|",
    ]
    for s in sources:
        md.append(f"| {s} | {zoo.families[s]} | {recall[s]:.3f} | {confused[s]} |")
    md += ["", "Environment:", "", env_markdown(env)]
    payload = {
        "preset": zoo.preset, "image_size": zoo.image_size,
        "random_state": zoo.random_state, "accuracy": acc, "chance": chance,
        "family_accuracy": family_acc, "recall": recall, "sources": sources,
        "confusion_matrix": cm.tolist(), "C": args.C, "seconds": seconds,
        "environment": env,
    }
    name = "zoo_baseline" if zoo.preset == "default" else f"zoo_baseline_{zoo.preset}"
    write_results(name, "\n".join(md) + "\n", payload)
    print(f"accuracy {acc:.3f} (chance {chance:.3f}), family accuracy {family_acc:.3f}")


if __name__ == "__main__":
    main()
