"""Shared helpers of the benchmark scripts: environment record and output."""

import json
import os
import platform
import sys
import time


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
    v = env["versions"]
    return (
        f"- machine: {env['platform']}, {env['cpu_count']} CPU(s), "
        f"torch threads {env['torch_threads']}, GPU: {env['cuda'] or 'none'}\n"
        f"- versions: " + ", ".join(f"{k} {v[k]}" for k in v) + "\n"
        f"- date: {env['date']}\n"
    )


def zoo_subset(preset, n_per_source, seed=0):
    """The zoo and the first ``n_per_source`` images of each of its sources.

    Returns ``(zoo, images, labels)``, sources in the zoo's order; the images
    of a source are already in random order.
    """
    import numpy as np

    from skfingerprint.datasets import make_model_zoo

    zoo = make_model_zoo(preset, random_state=seed)
    keep = np.concatenate([np.flatnonzero(zoo.labels == s)[:n_per_source]
                           for s in zoo.sources])
    return zoo, zoo.images[keep], zoo.labels[keep]


def paper_mlp(seed=0):
    """The downstream classifier of the paper's tables: three fully connected
    layers (two hidden), on standardised features."""
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), MLPClassifier(
        hidden_layer_sizes=(128, 64), max_iter=500, random_state=seed))


def status_mib(field):
    """A field of /proc/self/status (VmHWM, VmRSS, RssAnon, RssFile) in MiB; nan if absent."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")
