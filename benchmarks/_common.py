"""Shared helpers of the benchmarks: environment record, output, data, formatting.

Each concept is written once here: the record of the machine, where results
go (``benchmarks/results``, or ``$SKFINGERPRINT_BENCHMARK_RESULTS``), the zoo
and its train/test splits, the encoder and the paper's MLP, and the
formatting of spreads (``mean ± sd``) and of accuracy intervals (Wilson).
"""

import json
import math
import os
import platform
import sys
import time

import numpy as np


def environment():
    """Machine, versions and thread counts, recorded with every result."""
    import numpy
    import sklearn
    import skorch
    import torch

    import skfingerprint

    return {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "versions": {
            "skfingerprint": skfingerprint.__version__,
            "torch": torch.__version__,
            "skorch": skorch.__version__,
            "scikit-learn": sklearn.__version__,
            "numpy": numpy.__version__,
        },
    }


def results_dir():
    """``benchmarks/results``, or ``$SKFINGERPRINT_BENCHMARK_RESULTS`` (tests)."""
    path = os.environ.get("SKFINGERPRINT_BENCHMARK_RESULTS") or os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "results")
    os.makedirs(path, exist_ok=True)
    return path


def write_results(name, markdown, payload):
    """Write ``results/<name>.md`` and ``results/<name>.json``."""
    out = results_dir()
    with open(os.path.join(out, name + ".md"), "w") as fh:
        fh.write(markdown)
    with open(os.path.join(out, name + ".json"), "w") as fh:
        json.dump(payload, fh, indent=2, default=str)
    print(f"wrote {os.path.join(out, name)}.md/.json")


def env_markdown(env):
    """The markdown lines of an :func:`environment` record."""
    v = env["versions"]
    return (
        f"- machine: {env['platform']}, {env['cpu_count']} CPU(s), "
        f"torch threads {env['torch_threads']}, GPU: {env['cuda'] or 'none'}\n"
        f"- versions: " + ", ".join(f"{k} {v[k]}" for k in v) + "\n"
        f"- date: {env['date']}\n"
    )


# ------------------------------------------------------------------ data
def load_zoo(preset, seed=0):
    """``make_model_zoo(preset, random_state=seed)`` (built once, then cached)."""
    from skfingerprint.datasets import make_model_zoo

    return make_model_zoo(preset, random_state=seed)


def first_per_source(labels, n, sources=None):
    """Indices of the first ``n`` items of each source, source after source.

    ``sources``: their order (default: sorted, ``np.unique(labels)``); ``n``
    None keeps every item.  The zoo's images of a source are already in
    random order, so the first ``n`` are a random draw.
    """
    labels = np.asarray(labels)
    sources = np.unique(labels) if sources is None else sources
    return np.concatenate([np.flatnonzero(labels == s)[:n] for s in sources])


def first_per_source_mask(labels, n):
    """Boolean mask of the first ``n`` items of each source (the training part)."""
    mask = np.zeros(len(labels), bool)
    mask[first_per_source(labels, n)] = True
    return mask


def zoo_subset(preset, n_per_source, seed=0):
    """The zoo and the first ``n_per_source`` images of each of its sources.

    Returns ``(zoo, images, labels)``, sources in the zoo's order; the images
    of a source are already in random order.
    """
    zoo = load_zoo(preset, seed)
    keep = first_per_source(zoo.labels, n_per_source, zoo.sources)
    return zoo, zoo.images[keep], zoo.labels[keep]


def halves_per_source(labels, seed=0):
    """``(train, test)`` indices: half of each source's items, drawn at random
    (``RandomState(seed)``), to train, the other half (one more when odd) to test."""
    labels = np.asarray(labels)
    rng = np.random.RandomState(seed)
    train, test = [], []
    for s in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == s))
        train.append(idx[: idx.size // 2])
        test.append(idx[idx.size // 2 :])
    return np.concatenate(train), np.concatenate(test)


def zoo_bags(preset, n_per_source, bag_size, seed=0):
    """``(zoo, X, y)``: disjoint bags of ``bag_size`` of the first
    ``n_per_source`` images of every source of the zoo."""
    from skfingerprint import make_bags

    zoo, images, labels = zoo_subset(preset, n_per_source, seed)
    X, y = make_bags(images, labels, bag_size=bag_size, random_state=seed)
    return zoo, X, y


def stratified_halves(y, seed=0):
    """``(train, test)`` indices: one stratified 50/50 split of the bags ``y``."""
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(len(y)), test_size=0.5, stratify=y,
                            random_state=seed)


# ---------------------------------------------------------------- models
def epochs_kw(epochs):
    """``{"max_epochs": epochs}``, or nothing for None (the library's default)."""
    return {} if epochs is None else {"max_epochs": epochs}


def encoder(epochs=None, random_state=0, **params):
    """A ``SetFingerprintEncoder`` with the library's defaults but ``params``,
    ``random_state`` and ``epochs`` (None: the default number; a
    ``max_epochs`` in ``params`` wins)."""
    from skfingerprint import SetFingerprintEncoder

    return SetFingerprintEncoder(random_state=random_state,
                                 **{**epochs_kw(epochs), **params})


def closed_set(clf, Z):
    """The nearest source of every bag by a fitted ``NearestFingerprintClassifier``,
    never 'unknown' (no rejection)."""
    return clf.classes_[np.argmin(clf.source_distances(Z), axis=1)]


def paper_mlp(seed=0):
    """The downstream classifier of the paper's tables: three fully connected
    layers (two hidden), on standardised features."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), MLPClassifier(
        hidden_layer_sizes=(128, 64), max_iter=500, random_state=seed))


# ------------------------------------------------------------ formatting
def format_mean_sd(mean, sd=None, digits=3, *, bold_mean=False):
    """``"mean ± sd"`` (the mean alone when ``sd`` is None), ``digits`` decimals."""
    text = f"{mean:.{digits}f}"
    if bold_mean:
        text = f"**{text}**"
    return text if sd is None else f"{text} ± {sd:.{digits}f}"


def mean_sd(values, digits=3, *, bold_mean=False):
    """``"mean ± sd"`` of ``values`` (population standard deviation, as
    ``np.std``); the value alone when there is only one."""
    values = np.asarray(values, float)
    sd = float(values.std()) if values.size > 1 else None
    return format_mean_sd(float(values.mean()), sd, digits, bold_mean=bold_mean)


def wilson_interval(k, n, z=1.959964):
    """Wilson score interval ``(low, high)`` of a proportion: ``k`` successes
    in ``n`` trials (an accuracy over ``n`` test bags), 95% for the default
    ``z``.  ``(nan, nan)`` when ``n`` is 0."""
    if n <= 0:
        return float("nan"), float("nan")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def format_wilson(k, n, digits=3):
    """``"p [low, high]"``: the proportion ``k / n`` and its 95% Wilson interval."""
    low, high = wilson_interval(k, n)
    return f"{k / n:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def status_mib(field, pid="self"):
    """A field of /proc/<pid>/status (VmHWM, VmRSS, RssAnon, RssFile) in MiB; nan if absent."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def worst_pairs(confusion, classes, k=5):
    """The ``k`` most confused pairs of sources of a confusion matrix (rows
    the true source): ``(a, b, a called b, b called a, bags of a and b)``,
    the largest share ``(a called b + b called a) / (bags of a and b)``
    first; pairs never confused are left out."""
    C = np.asarray(confusion)
    n = C.sum(axis=1)
    pairs = [(classes[i], classes[j], int(C[i, j]), int(C[j, i]), int(n[i] + n[j]))
             for i in range(len(classes)) for j in range(i + 1, len(classes))
             if C[i, j] + C[j, i] > 0]
    pairs.sort(key=lambda p: (-(p[2] + p[3]) / p[4], p[0], p[1]))
    return pairs[:k]
