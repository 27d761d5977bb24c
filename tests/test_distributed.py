"""skfer on a Dask cluster: searches and ensembles under joblib's dask backend.

The cluster is real (a ``LocalCluster`` of two worker processes with one
thread each, on 127.0.0.1) and shared by the tests of this module; it costs a
few seconds to start plus TensorFlow's import in each worker.
"""

import os

import joblib
import numpy as np
import pytest
from imblearn.pipeline import make_pipeline
from sklearn.ensemble import VotingClassifier
from sklearn.model_selection import GridSearchCV

from skfer import MirrorSampler
from skfer.distributed import (
    TensorFlowThreadsPlugin,
    configure_dask_workers,
    limit_tensorflow_threads,
)

N_WORKERS = 2
THREADS_PER_WORKER = 1


@pytest.fixture(scope="module")
def dask_client():
    """A client of a 2-process x 1-thread LocalCluster, TensorFlow configured."""
    distributed = pytest.importorskip("distributed")
    # LocalCluster's nannies run in this process and export their workers'
    # environment (OMP_NUM_THREADS=1, PYTHONHASHSEED, ...) here: undo it after
    environ = dict(os.environ)
    with (
        distributed.LocalCluster(
            n_workers=N_WORKERS,
            threads_per_worker=THREADS_PER_WORKER,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        configure_dask_workers(client)
        yield client
    for name in set(os.environ) - set(environ):
        del os.environ[name]
    os.environ.update(environ)


@pytest.fixture
def faces(expressions):
    X, y = expressions
    return X[:280], y[:280]


# ----------------------------------------------------------------------------
# Without a cluster


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_threads": 0}, "n_threads must be an int >= 1. Got 0"),
        ({"n_threads": 2.0}, "n_threads must be an int >= 1. Got 2.0"),
        ({"n_threads": 1, "inter_op_threads": 0}, "inter_op_threads must be None"),
    ],
)
def test_limit_tensorflow_threads_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        limit_tensorflow_threads(**kwargs)


def test_configure_dask_workers_without_dask(monkeypatch):
    import skfer.distributed

    monkeypatch.setattr(skfer.distributed, "_WorkerPlugin", object)
    with pytest.raises(ImportError, match=r"skfer\[distributed\]"):
        configure_dask_workers(client=None)


def test_plugin_validation():
    with pytest.raises(ValueError, match="threads_per_worker must be None or"):
        TensorFlowThreadsPlugin(threads_per_worker=-1)


def test_limit_tensorflow_threads_too_late_changes_nothing(monkeypatch):
    from skfer._tf import tf

    tf.constant(0) + 1  # runs an op: TensorFlow's runtime is now started

    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        monkeypatch.delenv(name, raising=False)
    before = tf.config.threading.get_intra_op_parallelism_threads()
    with pytest.raises(RuntimeError, match=r"already started.*client\.restart"):
        limit_tensorflow_threads(before + 1)
    assert tf.config.threading.get_intra_op_parallelism_threads() == before
    assert "TF_NUM_INTRAOP_THREADS" not in os.environ


# ----------------------------------------------------------------------------
# On a Dask cluster


@pytest.mark.slow
def test_workers_run_tensorflow_on_their_share_of_cores(dask_client):
    # functions defined here travel to the workers by value (cloudpickle)
    def worker_threads(dask_worker):
        """Each worker's threads and TensorFlow's, read directly."""
        import os

        import tensorflow as tf

        return {
            "nthreads": dask_worker.state.nthreads,
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
            "env": os.environ.get("TF_NUM_INTRAOP_THREADS"),
            "pid": os.getpid(),
        }

    def start_tensorflow():
        """Start TensorFlow's runtime, as a worker's first fit would."""
        import tensorflow as tf

        return int(tf.constant(1) + 1)

    info = dask_client.run(worker_threads)
    assert len(info) == N_WORKERS
    assert len({i["pid"] for i in info.values()}) == N_WORKERS  # processes
    for worker in info.values():
        assert worker["nthreads"] == THREADS_PER_WORKER
        assert worker["intra_op"] == worker["nthreads"]
        assert worker["inter_op"] == worker["nthreads"]
        assert worker["env"] == str(worker["nthreads"])

    # once TensorFlow runs in a worker, its pools can no longer be resized:
    # configure_dask_workers says so and how to recover
    dask_client.run(start_tensorflow)
    with pytest.raises(RuntimeError, match=r"Dask worker.*client\.restart"):
        configure_dask_workers(dask_client, threads_per_worker=2)
    # the sizes in effect are accepted again (and the plugin is restored)
    threads = configure_dask_workers(dask_client)
    assert threads == {address: {"intra_op": 1, "inter_op": 1} for address in info}


@pytest.mark.slow
def test_grid_search_on_dask_equals_sequential(dask_client, faces, tiny_cnn):
    from distributed import get_task_stream

    X, y = faces
    grid = {"fercnnclassifier__dense_units": [(8,), (16,)]}

    def search(n_jobs):
        pipe = make_pipeline(MirrorSampler(), tiny_cnn(epochs=1))
        return GridSearchCV(pipe, grid, cv=2, refit=False, n_jobs=n_jobs)

    sequential = search(n_jobs=1).fit(X, y)
    with get_task_stream(dask_client) as tasks:
        with joblib.parallel_config(backend="dask"):
            on_dask = search(n_jobs=-1).fit(X, y)

    # the fits ran on the cluster's workers, not in this process
    workers = set(dask_client.scheduler_info()["workers"])
    assert tasks.data and {t["worker"] for t in tasks.data} <= workers
    np.testing.assert_allclose(
        on_dask.cv_results_["mean_test_score"],
        sequential.cv_results_["mean_test_score"],
        rtol=0,
        atol=1e-6,
    )
    assert on_dask.best_params_ == sequential.best_params_


@pytest.mark.slow
def test_voting_members_fit_on_dask_equal_sequential(dask_client, faces, tiny_cnn):
    X, y = faces

    def vote(n_jobs):
        members = [
            ("cnn_a", tiny_cnn(epochs=1, random_state=1)),
            ("cnn_b", tiny_cnn(epochs=1, random_state=2)),
        ]
        return VotingClassifier(members, voting="soft", n_jobs=n_jobs)

    sequential = vote(n_jobs=1).fit(X, y)
    with joblib.parallel_config(backend="dask"):
        on_dask = vote(n_jobs=-1).fit(X, y)

    # fitted members came back from the workers: same networks, same votes
    np.testing.assert_allclose(
        on_dask.predict_proba(X), sequential.predict_proba(X), rtol=0, atol=1e-6
    )
    np.testing.assert_array_equal(on_dask.predict(X), sequential.predict(X))
