"""The demo: attribution, decorrelation and families on the built-in data.

:func:`run_demo` is what ``skfingerprint demo`` runs.  It is callable from
Python too, and returns its numbers.
"""

from __future__ import annotations

import json
import numbers
import os
import platform
import time

import numpy as np

__all__ = ["run_demo"]

# Settings of the two modes; their timings are in README.md ("The demo").
_SETTINGS = {
    "full": {
        "bag_size": 16,
        "max_epochs": 15,
        "n_splits": 10,
        "synthetic": {"n_models": 8, "n_families": 3, "n_images_per_model": 192,
                      "image_size": 16},
    },
    "quick": {
        "bag_size": 8,
        "max_epochs": 4,
        "n_splits": 10,
        "synthetic": {"n_models": 6, "n_families": 3, "n_images_per_model": 96,
                      "image_size": 16},
    },
}
_DATA_CHOICES = ("auto", "zoo", "synthetic")
_SAMPLES_PER_SOURCE = 8


def _load_data(data, quick, random_state, data_home, verbose):
    """Return (images, labels, families dict, description, data kind)."""
    from .datasets import make_fingerprinted_images, make_model_zoo

    if data == "auto":
        if not quick:
            data = "zoo"
        else:
            # The quick demo builds nothing: the zoo if it is already cached,
            # else the synthetic set (seconds).
            try:
                zoo = make_model_zoo("small", data_home=data_home,
                                     random_state=random_state,
                                     build_if_missing=False, verbose=False)
            except OSError:
                data = "synthetic"
            else:
                return (zoo.images, zoo.labels, zoo.families,
                        _zoo_description(zoo) + " (found in the cache)", "zoo")
    if data == "zoo":
        zoo = make_model_zoo("small", data_home=data_home, random_state=random_state,
                             verbose=verbose)
        return zoo.images, zoo.labels, zoo.families, _zoo_description(zoo), "zoo"
    kw = _SETTINGS["quick" if quick else "full"]["synthetic"]
    syn = make_fingerprinted_images(include_real=True, random_state=random_state, **kw)
    desc = (f"synthetic fingerprinted photos (make_fingerprinted_images): "
            f"{kw['n_models']} models in {kw['n_families']} families + real, "
            f"{kw['n_images_per_model']} images of {kw['image_size']}x"
            f"{kw['image_size']} per source")
    return syn.images, syn.labels, syn.families, desc, "synthetic"


def _zoo_description(zoo):
    n = int(np.sum(zoo.labels == zoo.sources[0]))
    return (f"model zoo, preset {zoo.preset!r} (make_model_zoo): "
            f"{len(zoo.sources)} sources (real + {len(zoo.sources) - 1} trained "
            f"generative models), {n} images of {zoo.image_size}x{zoo.image_size} "
            "per source")


def _plot_samples(images, labels, sources, families, path, n_per_source):
    import matplotlib.pyplot as plt

    n = len(sources)
    fig, axes = plt.subplots(n, n_per_source, figsize=(n_per_source * 0.8 + 1.6, n * 0.8),
                             dpi=110, squeeze=False)
    for i, source in enumerate(sources):
        idx = np.flatnonzero(labels == source)[:n_per_source]
        for j in range(n_per_source):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if j < idx.size:
                ax.imshow(images[idx[j]], interpolation="nearest")
        axes[i, 0].set_ylabel(f"{source}\n({families[source]})", rotation=0, ha="right",
                              va="center", fontsize=7)
    fig.suptitle("Sample images of each source", fontsize=9)
    fig.subplots_adjust(left=0.16, right=0.99, top=0.95, bottom=0.01, wspace=0.05,
                        hspace=0.08)
    fig.savefig(path)
    plt.close(fig)


def _markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _one_fold(pipe, X, y, train, test, n_threads):
    """Fit a fresh Pipeline on one fold's training bags; score its test bags."""
    from sklearn.base import clone

    from ._threads import torch_threads
    from .metrics import decorrelation_score, fingerprint_correlation_matrix

    with torch_threads(n_threads):
        t0 = time.perf_counter()
        fitted = clone(pipe).fit(X[train], y[train])
        seconds = time.perf_counter() - t0
        encoder = fitted.named_steps["fingerprint"]
        Z_test = encoder.transform(X[test])
    kw = {"fingerprints": encoder.fingerprints_, "labels": encoder.classes_}
    return {
        "accuracy": float(fitted.named_steps["classify"].score(Z_test, y[test])),
        "rho": fingerprint_correlation_matrix(Z_test, y[test], **kw),
        "contrast": float(decorrelation_score(Z_test, y[test], **kw)),
        "frobenius": float(decorrelation_score(Z_test, y[test], kind="frobenius", **kw)),
        "fit_seconds": seconds,
    }


def _cross_validate(pipe, X, y, splits, *, n_jobs, n_threads, verbose):
    """Every fold's scores, in fold order; folds run in ``n_jobs`` processes.

    Each fold has its own seeds, so the results do not depend on ``n_jobs``.
    """
    from joblib import Parallel, delayed
    from tqdm.auto import tqdm

    results = [None] * len(splits)
    with tqdm(total=len(splits), desc="cross-validation", unit="fold",
              disable=not verbose, dynamic_ncols=True) as bar:
        if n_jobs == 1:
            gen = ((i, _one_fold(pipe, X, y, tr, te, n_threads))
                   for i, (tr, te) in enumerate(splits))
        else:
            gen = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
                delayed(_indexed_fold)(i, pipe, X, y, tr, te, n_threads)
                for i, (tr, te) in enumerate(splits))
        for i, res in gen:
            results[i] = res
            bar.update(1)
            done = [r["accuracy"] for r in results if r is not None]
            bar.set_postfix(accuracy=f"{np.mean(done):.3f}")
    return results


def _indexed_fold(i, *args):
    return i, _one_fold(*args)


def _fold_workers(n_jobs, n_splits):
    from joblib import effective_n_jobs

    from ._validation import available_cpus

    n = available_cpus() if n_jobs is None else effective_n_jobs(n_jobs)
    return max(1, min(int(n), int(n_splits)))


def _check_settings(quick, data, n_jobs, max_epochs, n_splits):
    """The mode's settings with the overrides, or a ValueError on bad arguments."""
    if n_jobs is not None and (isinstance(n_jobs, bool)
                               or not isinstance(n_jobs, numbers.Integral) or n_jobs == 0):
        raise ValueError(f"n_jobs must be None or a non-zero int (-1: all cores), got {n_jobs!r}.")
    if data not in _DATA_CHOICES:
        raise ValueError(f"data must be one of {_DATA_CHOICES}, got {data!r}.")
    settings = dict(_SETTINGS["quick" if quick else "full"])
    if max_epochs is not None:
        settings["max_epochs"] = int(max_epochs)
    if n_splits is not None:
        settings["n_splits"] = int(n_splits)
    return settings


def _attribution(X, y, settings, *, device, random_state, n_jobs, n_threads, verbose):
    """Cross-validated attribution and decorrelation of the set encoder.

    Returns the per-fold results (accuracy, rho, scores, fit time), in fold
    order, and the number of fold processes.
    """
    from sklearn.model_selection import StratifiedKFold
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import Pipeline

    from ._validation import resolve_device
    from .encoder import SetFingerprintEncoder

    per_source = int(np.min(np.unique(y, return_counts=True)[1]))
    if per_source < settings["n_splits"]:
        raise ValueError(
            f"Only {per_source} bags per source for {settings['n_splits']}-fold "
            "cross-validation; lower n_splits."
        )
    pipe = Pipeline([
        ("fingerprint", SetFingerprintEncoder(
            max_epochs=settings["max_epochs"], device=device, random_state=random_state)),
        ("classify", MLPClassifier(hidden_layer_sizes=(64,), max_iter=2000,
                                   random_state=random_state)),
    ])
    cv = StratifiedKFold(settings["n_splits"], shuffle=True, random_state=random_state)
    on_cpu = resolve_device(device).startswith("cpu")
    workers = _fold_workers(n_jobs, settings["n_splits"]) if on_cpu else 1
    folds = _cross_validate(pipe, X, y, list(cv.split(X, y)), n_jobs=workers,
                            n_threads=n_threads, verbose=verbose)
    return folds, workers


def _families(X, y, sources, families):
    """The sources' families as the library finds them: :class:`NearestRelatives`.

    Every source is described by the mean residual spectrum of its bags (no
    training); the average-linkage tree of the distances between these
    descriptions is cut at the number of true families and compared with
    them (adjusted Rand index).  Each source's nearest relative is the
    closest other source.
    """
    from sklearn.metrics import adjusted_rand_score

    from .cluster import NearestRelatives, cut_families, family_linkage

    relatives = NearestRelatives().fit(X, y)
    D = relatives.pairwise_source_distances_
    order = [list(relatives.classes_).index(s) for s in sources]
    D = D[np.ix_(order, order)]
    true_families = [families[s] for s in sources]
    n_families = len(set(true_families))
    clusters = cut_families(D, n_families=n_families)
    others = D + np.diag(np.full(len(sources), np.inf))
    nearest = {str(s): str(sources[j]) for s, j in zip(sources, np.argmin(others, axis=1))}
    renumber = {}
    return {
        "link": family_linkage(D),
        "clusters": {str(s): renumber.setdefault(int(c), len(renumber))
                     for s, c in zip(sources, clusters)},
        "ari": float(adjusted_rand_score(true_families, clusters)),
        "nearest_relative": nearest,
    }


def _plot_correlation_matrix(rho, sources, true_families, n_splits, path):
    """The mean fold matrix, in the order of its own average-linkage tree."""
    import matplotlib.pyplot as plt
    from scipy.cluster.hierarchy import leaves_list

    from .cluster import correlation_distances, family_linkage
    from .visualization import CorrelationMatrixDisplay

    order = leaves_list(family_linkage(correlation_distances(rho)))
    fig, ax = plt.subplots(figsize=(8.5, 7), dpi=110)
    CorrelationMatrixDisplay(
        rho[np.ix_(order, order)], display_labels=sources[order],
        families=[true_families[i] for i in order],
    ).plot(ax=ax, values_format=".1f", text_kw={"fontsize": 6})
    ax.set_title(f"Test bags vs. training fingerprints, mean over {n_splits} "
                 "folds; true families outlined", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _plot_dendrogram(link, sources, true_families, ari, path):
    """The NearestRelatives tree, leaves coloured by true family, legend below."""
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from .visualization import FamilyDendrogramDisplay

    fig, ax = plt.subplots(figsize=(6.5, 6), dpi=110)
    disp = FamilyDendrogramDisplay(link, display_labels=sources,
                                   families=true_families).plot(ax=ax, legend=False)
    colors = {f: disp.leaf_colors_[str(s)] for s, f in zip(sources, true_families)}
    ax.legend(handles=[Patch(color=c, label=f) for f, c in sorted(colors.items())],
              title="Family", loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=4,
              fontsize="small")
    ax.set_xlabel("distance (1 - correlation of the sources' mean spectra)")
    ax.set_title("Sources by residual spectrum (NearestRelatives)\n"
                 f"ARI with the true families: {ari:.2f}", fontsize=9)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def _write_pictures(out_dir, image_prefix, rho, sources, families, lineage, settings,
                    images, labels):
    """The three PNGs; returns their paths by name."""
    true_families = [families[s] for s in sources]
    files = {name: os.path.join(out_dir, f"{image_prefix}{name}.png")
             for name in ("correlation_matrix", "dendrogram", "samples")}
    _plot_correlation_matrix(rho, sources, true_families, settings["n_splits"],
                             files["correlation_matrix"])
    _plot_dendrogram(lineage["link"], sources, true_families, lineage["ari"],
                     files["dendrogram"])
    _plot_samples(images, labels, list(sources), families, files["samples"],
                  _SAMPLES_PER_SOURCE)
    return files


def _machine(workers, n_threads):
    import torch

    return {"cpu_count": os.cpu_count(),
            "fold_processes": workers,
            "torch_threads": torch.get_num_threads() if n_threads is None else int(n_threads),
            "torch": torch.__version__, "python": platform.python_version(),
            "load_average": _load_average()}


def _write_results(results, files, out_dir):
    """``results.json`` and ``report.md``; adds their paths to ``files``."""
    files["results"] = os.path.join(out_dir, "results.json")
    files["report"] = os.path.join(out_dir, "report.md")
    with open(files["results"], "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
    with open(files["report"], "w", encoding="utf-8") as f:
        f.write(_report_markdown(results, {k: os.path.basename(v) for k, v in files.items()}))


def run_demo(out_dir="skfingerprint-demo", *, quick=False, data="auto", random_state=0,
             data_home=None, image_prefix="demo_", device="auto", n_threads=1,
             n_jobs=None, max_epochs=None, n_splits=None, verbose=True):
    """Run the demo: attribute, score and relate the sources of the built-in data.

    The steps, all on the CPU:

    1. load (or build, then cache) the small model zoo of
       :func:`~skfingerprint.datasets.make_model_zoo`, or make the synthetic
       set of :func:`~skfingerprint.datasets.make_fingerprinted_images`;
    2. group the images into disjoint bags with :func:`~skfingerprint.make_bags`;
    3. 10-fold stratified cross-validation of the Pipeline
       ``SetFingerprintEncoder -> MLPClassifier``: in every fold a fresh
       Pipeline is fitted on the training folds only (the encoder never sees
       the test bags) and scored on the test fold;
    4. in the same folds, the test bags are embedded by that fold's encoder
       and correlated with the fingerprints of the training bags
       (``encoder.fingerprints_``): this gives the fold's correlation matrix
       and decorrelation score; the matrices are averaged over the folds;
    5. the sources are related as the library recommends,
       :class:`~skfingerprint.cluster.NearestRelatives` (the residual
       spectrum of the bags, no training): its tree of the sources
       (:func:`~skfingerprint.cluster.family_linkage` of
       ``pairwise_source_distances_``) is cut at the number of true families
       (:func:`~skfingerprint.cluster.cut_families`) and compared with them
       (adjusted Rand index), and each source's nearest relative is listed;
    6. the pictures (correlation matrix, dendrogram, sample grid), a
       ``report.md`` and ``results.json`` are written to ``out_dir``.

    .. versionchanged:: 0.1
       The families come from :class:`~skfingerprint.cluster.NearestRelatives`
       instead of clustering the set encoder's correlation matrix, which
       attributes sources but does not group them by family.

    Parameters
    ----------
    out_dir : str or path-like, default="skfingerprint-demo"
        Folder of the report; created if needed, files in it are overwritten.
    quick : bool, default=False
        Fewer epochs and smaller bags, and with ``data="auto"`` the
        synthetic set unless the zoo is already cached.
    data : {"auto", "zoo", "synthetic"}, default="auto"
        The images.  ``"auto"``: the zoo (built once if missing) unless
        ``quick``, see above.
    random_state : int, default=0
        Seed of the zoo, the bags, the folds and the networks.
    data_home : str or path-like, default=None
        Cache folder of the zoo; see :func:`~skfingerprint.datasets.get_data_home`.
    image_prefix : str, default="demo_"
        Prefix of the names of the PNG files.
    device : str, default="auto"
        Where the encoder trains (``"auto"``: CUDA when available).
    n_threads : int or None, default=1
        Torch CPU threads of each cross-validation fold (restored
        afterwards); None keeps torch's setting.  The networks and images of
        the demo are tiny, so one thread per fold and one fold per core use
        the machine best, and avoid OpenMP oversubscription.
    n_jobs : int or None, default=None
        Folds trained at the same time, in separate processes, on the CPU
        (``None``: one per core this process may use, at most the number of
        folds; ``-1`` likewise; 1: in this process).  Every fold has its own
        seeds, so the results do not depend on it.  On a GPU the folds run
        one after the other.  The zoo build uses the cores the same way.
    max_epochs, n_splits : int, default=None
        Override the mode's number of encoder epochs and of folds (for
        tests; the defaults are 15 and 10, and 4 and 10 with ``quick``).
    verbose : bool, default=True
        Show progress bars and print the summary table.

    Returns
    -------
    results : dict
        The numbers of the report (also written to ``results.json``):
        ``accuracy`` (per fold), ``decorrelation`` (per fold),
        ``correlation_matrix``, ``sources``, ``families``, ``clusters``,
        ``ari``, ``nearest_relative``, ``families_method``, ``seconds``, the
        settings, and ``files`` (paths written).

    Examples
    --------
    >>> from skfingerprint import run_demo
    >>> results = run_demo("demo-out", quick=True)  # doctest: +SKIP
    >>> sorted(results["files"])  # doctest: +SKIP
    ['correlation_matrix', 'dendrogram', 'report', 'results', 'samples']
    """
    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "pdf", "svg", "ps"):
        matplotlib.use("Agg")

    from ._bags import make_bags

    settings = _check_settings(quick, data, n_jobs, max_epochs, n_splits)
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    t_start = time.perf_counter()

    images, labels, families, desc, kind = _load_data(
        data, quick, random_state, data_home, verbose
    )
    t_data = time.perf_counter() - t_start
    X, y = make_bags(images, labels, bag_size=settings["bag_size"],
                     random_state=random_state)
    sources = np.unique(y)
    folds, workers = _attribution(X, y, settings, device=device, random_state=random_state,
                                  n_jobs=n_jobs, n_threads=n_threads, verbose=verbose)
    t_cv = time.perf_counter() - t_start - t_data
    rho = np.mean([f["rho"] for f in folds], axis=0)
    lineage = _families(X, y, sources, families)
    files = _write_pictures(out_dir, image_prefix, rho, sources, families, lineage,
                            settings, images, labels)

    seconds = time.perf_counter() - t_start
    results = {
        "data": desc,
        "data_kind": kind,
        "quick": bool(quick),
        "random_state": random_state,
        "bag_size": settings["bag_size"],
        "max_epochs": settings["max_epochs"],
        "n_splits": settings["n_splits"],
        "n_bags": int(len(y)),
        "n_bags_per_source": int(np.min(np.unique(y, return_counts=True)[1])),
        "sources": [str(s) for s in sources],
        "families": {str(s): str(families[s]) for s in sources},
        "accuracy": [f["accuracy"] for f in folds],
        "chance": 1.0 / len(sources),
        "decorrelation": [f["contrast"] for f in folds],
        "decorrelation_frobenius": [f["frobenius"] for f in folds],
        "correlation_matrix": rho.tolist(),
        "families_method": "NearestRelatives()",
        "clusters": lineage["clusters"],
        "ari": lineage["ari"],
        "nearest_relative": lineage["nearest_relative"],
        "seconds": {"data": round(t_data, 1), "cross_validation": round(t_cv, 1),
                    "mean_fit": round(float(np.mean([f["fit_seconds"] for f in folds])), 1),
                    "total": round(seconds, 1)},
        "machine": _machine(workers, n_threads),
    }
    _write_results(results, files, out_dir)
    results["files"] = files
    if verbose:
        print(summary_table(results))
        print(f"Report: {files['report']}")
    return results


def _load_average():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):  # pragma: no cover - not on every platform
        return None


def _mean_std(values):
    return f"{np.mean(values):.3f} ± {np.std(values):.3f}"


def summary_table(results):
    """The short text table printed at the end of the demo.

    Parameters
    ----------
    results : dict
        What :func:`run_demo` returned.

    Returns
    -------
    table : str
    """
    rows = [
        ("attribution accuracy (MLP, %d-fold)" % results["n_splits"],
         _mean_std(results["accuracy"]), f"chance {results['chance']:.3f}"),
        ("decorrelation score (contrast)", _mean_std(results["decorrelation"]),
         "random ≈ 0, best 1"),
        ("decorrelation score (frobenius)", _mean_std(results["decorrelation_frobenius"]),
         f"random ≈ {1 - 1 / np.sqrt(len(results['sources'])):.2f}, best 1"),
        ("families, NearestRelatives (ARI)", f"{results['ari']:.3f}", "random ≈ 0, best 1"),
        ("time", f"{results['seconds']['total']:.0f} s",
         f"data {results['seconds']['data']:.0f} s, CV {results['seconds']['cross_validation']:.0f} s"),
    ]
    w0 = max(len(r[0]) for r in rows)
    w1 = max(len(r[1]) for r in rows)
    head = (f"{len(results['sources'])} sources, {results['n_bags']} bags of "
            f"{results['bag_size']} images, encoder {results['max_epochs']} epochs")
    lines = [head, "-" * len(head)]
    lines += [f"{a:<{w0}}  {b:>{w1}}  ({c})" for a, b, c in rows]
    return "\n".join(lines)


def _report_markdown(r, files):
    k = r["n_splits"]
    cluster_rows = sorted(r["clusters"].items(), key=lambda kv: (kv[1], kv[0]))
    lines = [
        "# skfingerprint demo report",
        "",
        f"Data: {r['data']}. {r['n_bags']} disjoint bags of {r['bag_size']} images "
        f"({r['n_bags_per_source']} per source).",
        "",
        "## What was done",
        "",
        f"- **Attribution**: {k}-fold stratified cross-validation (shuffled, "
        f"`random_state={r['random_state']}`) of the Pipeline "
        f"`SetFingerprintEncoder(max_epochs={r['max_epochs']})` → "
        "`MLPClassifier(hidden_layer_sizes=(64,))`. In every fold a fresh Pipeline "
        "(encoder included) was fitted on the training folds only and scored on the "
        "test fold: the encoder never saw a test bag.",
        "- **Decorrelation**: in each fold the test bags, embedded by that fold's "
        "encoder, were correlated with the fingerprints of the training bags "
        "(`encoder.fingerprints_`), giving the fold's correlation matrix and "
        "decorrelation score (`decorrelation_score(..., fingerprints=...)`). The "
        f"matrix below is the mean of the {k} fold matrices.",
        "- **Families**: the set encoder is trained to tell every source from "
        "every other, not to group them, so the sources were related as the "
        "library recommends, with `skfingerprint.cluster.NearestRelatives()`: "
        "each source is described by the mean residual spectrum of its bags "
        "(`SpectrumFingerprint`, no training), the average-linkage tree of the "
        "correlation distances between these descriptions "
        "(`family_linkage(rel.pairwise_source_distances_)`) was cut at the number "
        f"of true families ({len(set(r['families'].values()))}) with `cut_families`, and "
        "compared with them by the adjusted Rand index (ARI). The nearest relative "
        "of a source is the closest other source.",
        "",
        "## Results",
        "",
        _markdown_table(
            ["measure", "mean ± std over folds", "reference"],
            [[f"attribution accuracy ({len(r['sources'])} sources)", _mean_std(r["accuracy"]),
              f"chance {r['chance']:.3f}"],
             ["decorrelation score, contrast", _mean_std(r["decorrelation"]),
              "random embeddings ≈ 0, best 1"],
             ["decorrelation score, frobenius", _mean_std(r["decorrelation_frobenius"]),
              f"random ≈ {1 - 1 / np.sqrt(len(r['sources'])):.2f}, best 1"],
             ["families by residual spectrum (NearestRelatives), ARI", f"{r['ari']:.3f}",
              "random ≈ 0, best 1"]],
        ),
        "",
        "Found families (clusters of the NearestRelatives tree):",
        "",
        _markdown_table(["source", "true family", "cluster", "nearest relative"],
                        [[s, r["families"][s], c, r["nearest_relative"][s]]
                         for s, c in cluster_rows]),
        "",
        f"![correlation matrix]({files['correlation_matrix']})",
        "",
        f"![dendrogram]({files['dendrogram']})",
        "",
        f"![samples]({files['samples']})",
        "",
        "## Conditions",
        "",
        f"Total {r['seconds']['total']:.0f} s: data {r['seconds']['data']:.0f} s, "
        f"cross-validation {r['seconds']['cross_validation']:.0f} s "
        f"({r['seconds']['mean_fit']:.0f} s per Pipeline fit). "
        f"{r['machine']['cpu_count']} CPUs, torch {r['machine']['torch']} with "
        f"{r['machine']['torch_threads']} thread{'' if r['machine']['torch_threads'] == 1 else 's'}, "
        f"Python {r['machine']['python']}, "
        f"load average at the end {r['machine']['load_average']}. "
        f"Numbers in `{files['results']}`.",
        "",
    ]
    return "\n".join(lines)
