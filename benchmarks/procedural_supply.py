"""How cheap is the supply of procedural generators, and are their traces learnable?

Throughput, on this CPU, in one process, with torch limited to 1 and then 2
threads:

- generators per second: drawing descriptions alone
  (``make_procedural_generators``), and a generator made ready to use
  (description, torch modules built from it, one 32x32 image rendered);
- images per second at 32 and 64 pixels: ``render_procedural_images`` on
  crops drawn beforehand (the networks alone), and ``make_procedural_zoo``
  end to end (crops, networks, post-processing).

Learnability: an ``AttributionCNN`` (single-image source classifier) trained
on the images of 10 procedural generators (200 per generator at 32x32, 150
for training and 50 held out), then the held-out single-image attribution
accuracy (chance: 1/10), with the Wilson interval, the accuracy per
generator and its relation in the family tree; and the accuracy of bags of
10 held-out images (mean of their logits).

    python -m benchmarks.procedural_supply           # the full run (about 2-4 minutes)
    python -m benchmarks.procedural_supply --quick   # a smoke run (seconds)

Writes benchmarks/results/procedural_supply[_quick].md/.json.
"""

import argparse
import os
import time

import numpy as np

from benchmarks._common import env_markdown, environment, format_wilson, write_results

FULL = {"n_specs": 2000, "n_ready": 40, "n_generators": 8, "per_generator": {32: 256, 64: 96},
        "zoo_generators": 8, "learn_generators": 10, "learn_images": 200, "learn_test": 50,
        "epochs": 8, "bag": 10}
QUICK = {"n_specs": 200, "n_ready": 5, "n_generators": 2, "per_generator": {32: 32, 64: 16},
         "zoo_generators": 2, "learn_generators": 4, "learn_images": 40, "learn_test": 10,
         "epochs": 1, "bag": 5}


def _timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def generator_rates(cfg, seed=0):
    """Descriptions per second, and generators made ready (built, one image) per second."""
    from skfingerprint.datasets import make_procedural_generators, render_procedural_images
    from skfingerprint.datasets._photos import random_crops

    _, t_specs = _timed(lambda: make_procedural_generators(cfg["n_specs"], random_state=seed))
    tree = make_procedural_generators(cfg["n_ready"], random_state=seed + 1)
    one = random_crops(1, 32, random_state=seed)
    render_procedural_images(tree.specs[0], one, random_state=0)  # warm-up (imports)
    _, t_ready = _timed(lambda: [render_procedural_images(s, one, random_state=0)
                                 for s in tree.specs])
    return {"specs_per_s": cfg["n_specs"] / t_specs, "ready_per_s": cfg["n_ready"] / t_ready}


def image_rates(cfg, size, seed=0):
    """Images per second of the networks alone, and of ``make_procedural_zoo``."""
    from skfingerprint.datasets import (make_procedural_generators, make_procedural_zoo,
                                        render_procedural_images)
    from skfingerprint.datasets._photos import random_crops

    n = cfg["per_generator"][size]
    tree = make_procedural_generators(cfg["n_generators"], random_state=seed)
    content = random_crops(n, size, random_state=seed)
    render_procedural_images(tree.specs[0], content[:2], random_state=0)  # warm-up
    _, t_render = _timed(lambda: [render_procedural_images(s, content, random_state=0)
                                  for s in tree.specs])
    zoo, t_zoo = _timed(lambda: make_procedural_zoo(
        cfg["zoo_generators"], n_images_per_generator=n, image_size=size,
        include_real=False, random_state=seed))
    return {"render_images_per_s": len(tree.specs) * n / t_render,
            "zoo_images_per_s": len(zoo.images) / t_zoo}


def throughput(cfg):
    import torch

    rows = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        row = {"threads": threads, **generator_rates(cfg)}
        for size in (32, 64):
            rates = image_rates(cfg, size)
            row.update({f"{k}_{size}px": v for k, v in rates.items()})
        rows.append(row)
        print(row)
    return rows


def _split(labels, n_test, seed):
    rng = np.random.RandomState(seed)
    test = np.zeros(len(labels), bool)
    for source in np.unique(labels):
        idx = np.flatnonzero(labels == source)
        test[rng.choice(idx, n_test, replace=False)] = True
    return test


def learnability(cfg, seed=0):
    """Held-out attribution accuracy of an ``AttributionCNN`` on procedural generators."""
    import torch

    from skfingerprint.baselines import AttributionCNN
    from skfingerprint.datasets import make_procedural_zoo

    torch.set_num_threads(2)
    data, t_data = _timed(lambda: make_procedural_zoo(
        cfg["learn_generators"], n_images_per_generator=cfg["learn_images"], image_size=32,
        include_real=False, random_state=seed))
    y = data.labels
    test = _split(y, cfg["learn_test"], seed)
    cnn = AttributionCNN(max_epochs=cfg["epochs"], random_state=seed)
    _, t_fit = _timed(lambda: cnn.fit(data.images[~test][:, None], y[~test]))
    with torch.inference_mode():
        x = torch.from_numpy(data.images[test].astype(np.float32) / 255.0)
        logits = cnn.net_.module_(x).numpy()
    y_test = y[test]
    pred = cnn.classes_[logits.argmax(axis=1)]
    k = int((pred == y_test).sum())
    per_generator = {s: float((pred[y_test == s] == s).mean()) for s in data.sources}
    # bags of held-out images of one generator: mean logits
    b, bag_hits, n_bags = cfg["bag"], 0, 0
    for s in data.sources:
        rows = logits[y_test == s]
        for start in range(0, len(rows) - b + 1, b):
            bag_hits += int(cnn.classes_[rows[start:start + b].mean(axis=0).argmax()] == s)
            n_bags += 1
    tree = data.generators
    return {
        "n_generators": len(data.sources), "chance": 1.0 / len(data.sources),
        "n_test": int(test.sum()), "correct": k, "accuracy": k / int(test.sum()),
        "bag_size": b, "bag_correct": bag_hits, "n_bags": n_bags,
        "per_generator": per_generator,
        "relations": dict(zip(tree.names.tolist(), tree.relations.tolist())),
        "parents": {n: (tree.names[p] if p >= 0 else None)
                    for n, p in zip(tree.names.tolist(), tree.parents.tolist())},
        "data_seconds": t_data, "fit_seconds": t_fit,
    }


def markdown(rows, learn, env, cfg, quick):
    lines = ["# Procedural generators: supply throughput and learnability",
             "", "Command: `python -m benchmarks.procedural_supply"
             + (" --quick`" if quick else "`"), "", env_markdown(env),
             f"- load average at the start (the machine may be shared): {env['loadavg']}",
             "", "## Throughput (one process)", "",
             "| torch threads | descriptions/s | generators ready/s | images/s 32 px "
             "(networks) | images/s 32 px (zoo) | images/s 64 px (networks) "
             "| images/s 64 px (zoo) |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['threads']} | {r['specs_per_s']:.0f} | {r['ready_per_s']:.1f} "
            f"| {r['render_images_per_s_32px']:.0f} | {r['zoo_images_per_s_32px']:.0f} "
            f"| {r['render_images_per_s_64px']:.0f} | {r['zoo_images_per_s_64px']:.0f} |")
    lines += ["", f"Generators ready = description + torch modules + one 32 px image; "
              f"networks = `render_procedural_images` on crops drawn beforehand "
              f"({cfg['n_generators']} generators x {cfg['per_generator'][32]} images at 32 px, "
              f"x {cfg['per_generator'][64]} at 64 px); zoo = `make_procedural_zoo` end to end "
              f"({cfg['zoo_generators']} generators, crops and post-processing included).",
              "", "## Learnability", "",
              f"`AttributionCNN(max_epochs={cfg['epochs']})` on {learn['n_generators']} "
              f"procedural generators (`make_procedural_zoo(random_state=0)`, "
              f"{cfg['learn_images']} images each at 32 px, {cfg['learn_test']} per generator "
              f"held out), torch threads 2.", "",
              f"- single-image accuracy: {format_wilson(learn['correct'], learn['n_test'])} "
              f"(chance {learn['chance']:.3f}, {learn['n_test']} held-out images)",
              f"- bags of {learn['bag_size']} held-out images (mean logits): "
              f"{format_wilson(learn['bag_correct'], learn['n_bags'])} ({learn['n_bags']} bags)",
              f"- data {learn['data_seconds']:.1f} s, training {learn['fit_seconds']:.1f} s", "",
              "| generator | relation | parent | single-image accuracy |", "|---|---|---|---|"]
    for name, acc in learn["per_generator"].items():
        lines.append(f"| {name} | {learn['relations'][name]} | "
                     f"{learn['parents'][name] or '-'} | {acc:.2f} |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run, in seconds")
    args = parser.parse_args(argv)
    cfg = QUICK if args.quick else FULL
    env = environment()
    env["loadavg"] = [round(v, 2) for v in os.getloadavg()]
    rows = throughput(cfg)
    learn = learnability(cfg)
    env["torch_threads"] = "1 and 2 (see the table)"
    name = "procedural_supply" + ("_quick" if args.quick else "")
    write_results(name, markdown(rows, learn, env, cfg, args.quick),
                  {"config": {**cfg, "per_generator": {str(k): v for k, v in
                                                       cfg["per_generator"].items()}},
                   "environment": env, "throughput": rows, "learnability": learn})
    print(f"single-image accuracy {learn['accuracy']:.3f} (chance {learn['chance']:.3f})")


if __name__ == "__main__":
    main()
