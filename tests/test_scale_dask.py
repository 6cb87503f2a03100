"""Model selection on a Dask cluster through joblib's Dask backend."""

import numpy as np
import pytest
from numpy.testing import assert_allclose
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold

pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")

import joblib  # noqa: E402
import torch  # noqa: E402

from skfingerprint import SetFingerprintEncoder, make_bags  # noqa: E402
from skfingerprint.datasets import make_fingerprinted_images  # noqa: E402
from skfingerprint.metrics import DecorrelationScorer  # noqa: E402

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def tiny_bags():
    data = make_fingerprinted_images(
        n_models=3, n_images_per_model=32, image_size=8, random_state=0
    )
    return make_bags(data.images, data.labels, bag_size=4, random_state=0)


@pytest.fixture(scope="module")
def client():
    # loopback only, no dashboard; the nanny starts every worker process
    # with OMP_NUM_THREADS=1 (dask's ``distributed.nanny.pre-spawn-environ``)
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        worker_dashboard_address=None,
    ) as cluster, distributed.Client(cluster) as client:
        # one torch thread per worker thread, even where OMP_NUM_THREADS is
        # not set (client.run does not outlive a worker restart; the guide
        # shows a WorkerPlugin, which does)
        client.run(torch.set_num_threads, 1)
        yield client


def _search():
    return GridSearchCV(
        SetFingerprintEncoder(
            max_epochs=1, batch_size=6, embedding_dim=8, channels=(8,),
            rho_hidden=16, device="cpu", random_state=0,
        ),
        {"bag_size": [2, 4]},
        scoring=DecorrelationScorer(),
        cv=StratifiedKFold(n_splits=2, shuffle=True, random_state=0),
        n_jobs=-1,
    )


def test_workers_run_one_torch_thread(client):
    threads = client.run(torch.get_num_threads)
    assert len(threads) == 2
    assert set(threads.values()) == {1}


def test_grid_search_on_dask_equals_serial(client, tiny_bags):
    X, y = tiny_bags
    with distributed.get_task_stream(client) as tasks:
        with joblib.parallel_backend("dask"):
            search = _search().fit(X, y)
    # the fits and scores ran on the cluster's workers
    assert len(tasks.data) >= 4
    assert {t["worker"] for t in tasks.data} <= set(client.run(lambda: 0))

    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # the workers' arithmetic, bit for bit
    try:
        serial = clone(_search()).set_params(n_jobs=None).fit(X, y)
    finally:
        torch.set_num_threads(previous)

    for key in ("split0_test_score", "split1_test_score", "mean_test_score"):
        assert np.isfinite(search.cv_results_[key]).all()
        assert_allclose(search.cv_results_[key], serial.cv_results_[key], rtol=1e-5)
    assert search.best_params_ == serial.best_params_
    # the refit runs in this process, with its own torch thread count:
    # float32 sums then differ in the last bits
    assert_allclose(
        search.best_estimator_.transform(X),
        serial.best_estimator_.transform(X),
        atol=1e-4,
    )
