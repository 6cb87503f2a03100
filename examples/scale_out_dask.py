"""Search bag parameters on a Dask cluster through joblib's Dask backend.

Starts a local cluster of worker processes (or connects to a running one
with ``--scheduler``), then runs a ``GridSearchCV`` over the bag parameters
of ``SetFingerprintEncoder``, scored by the decorrelation of the held-out
fingerprints.  Every candidate and fold is one task on the cluster.

    python examples/scale_out_dask.py --quick          # seconds
    python examples/scale_out_dask.py --workers 4      # a larger search
    python examples/scale_out_dask.py --scheduler tcp://10.0.0.5:8786

Needs ``pip install "skfingerprint[scale]"`` (dask and distributed).
"""

import argparse
import time

import joblib
import numpy as np
from distributed import Client, LocalCluster, WorkerPlugin
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from skfingerprint import SetFingerprintEncoder, make_bags
from skfingerprint.datasets import make_fingerprinted_images
from skfingerprint.metrics import DecorrelationScorer


class TorchThreads(WorkerPlugin):
    """Set the number of torch threads of every worker, also after restarts.

    Dask's nanny already starts workers with ``OMP_NUM_THREADS=1``; this
    makes the choice explicit and independent of the environment.  With
    ``threads_per_worker`` > 1, each worker thread runs its own fits, so one
    torch thread each is right.
    """

    def __init__(self, n_threads=1):
        self.n_threads = n_threads

    def setup(self, worker):
        import torch

        torch.set_num_threads(self.n_threads)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny data, 1 epoch")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes")
    parser.add_argument("--scheduler", help="address of a running Dask scheduler")
    args = parser.parse_args(argv)

    if args.quick:
        data = make_fingerprinted_images(
            n_models=3, n_images_per_model=32, image_size=8, random_state=0
        )
        X, y = make_bags(data.images, data.labels, bag_size=4, random_state=0)
        grid = {"bag_size": [2, 4]}
        params = dict(max_epochs=1, batch_size=6)
    else:
        data = make_fingerprinted_images(
            n_models=6, n_images_per_model=256, image_size=16, random_state=0
        )
        X, y = make_bags(data.images, data.labels, bag_size=16, random_state=0)
        grid = {"bag_size": [1, 4, 16], "n_bags_per_model": [None, 32]}
        params = dict(max_epochs=10)

    search = GridSearchCV(
        SetFingerprintEncoder(device="cpu", random_state=0, **params),
        grid,
        scoring=DecorrelationScorer(),
        cv=StratifiedKFold(n_splits=2, shuffle=True, random_state=0),
        n_jobs=-1,
    )

    if args.scheduler:
        client = Client(args.scheduler)
    else:
        cluster = LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
    with client:
        client.register_plugin(TorchThreads(1))
        print(f"{X.shape[0]} bags on {len(client.scheduler_info()['workers'])} workers")
        start = time.perf_counter()
        with joblib.parallel_backend("dask"):
            search.fit(X, y)
        elapsed = time.perf_counter() - start
        if not args.scheduler:
            cluster.close()

    results = search.cv_results_
    for params, mean, std in zip(
        results["params"], results["mean_test_score"], results["std_test_score"]
    ):
        print(f"  {params}: decorrelation {mean:.3f} +/- {std:.3f}")
    print(f"best: {search.best_params_} ({elapsed:.1f} s)")
    return search


if __name__ == "__main__":  # required: worker processes re-import this module
    main()
