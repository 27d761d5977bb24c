"""
========================================
Hyper-parameter search on a Dask cluster
========================================

scikit-learn's searches and ensembles run their fits with joblib, and joblib
can send them to a `Dask <https://distributed.dask.org>`_ cluster. This example
starts a small cluster on this machine (two worker processes of one thread
each), limits TensorFlow in every worker to that worker's share of the cores
with :func:`skfer.distributed.configure_dask_workers`, and runs a grid search
of a mirrored CNN pipeline on it. On a real cluster only the address of the
scheduler changes: see :ref:`distributed`.

It needs ``pip install "skfer[distributed]"``.

.. note::

   Dask starts its worker processes with multiprocessing's "spawn", which
   first re-runs the top level of the script that started them. So the code
   that starts the cluster, or TensorFlow, is under
   ``if __name__ == "__main__":`` here, and skfer's classifiers are imported in
   a function: importing them starts TensorFlow, whose thread pools can only
   be sized before it starts.
"""

# %%
# Faces and the search
# --------------------
# Synthetic faces keep the example quick; with FER2013 the code is the same.
# The search is built in a function so that its imports run only where it is
# called.

import time

import joblib
import matplotlib.pyplot as plt
from dask.distributed import Client, LocalCluster, get_task_stream
from imblearn.pipeline import make_pipeline
from sklearn.model_selection import GridSearchCV

from skfer import MirrorSampler
from skfer.datasets import make_expressions
from skfer.distributed import configure_dask_workers

X, y = make_expressions(280, random_state=0)


def make_search(n_jobs):
    """A grid search of a small mirrored CNN (2 candidates x 2 folds)."""
    from skfer import FERCNNClassifier  # starts TensorFlow in this process

    cnn = FERCNNClassifier(
        conv_filters=(8,) * 6,
        dense_units=(16,),
        activation="elu",
        epochs=1,
        batch_size=32,
        random_state=0,
    )
    grid = {"fercnnclassifier__dense_units": [(8,), (16,)]}
    return GridSearchCV(make_pipeline(MirrorSampler(), cnn), grid, cv=2, n_jobs=n_jobs)


# %%
# A cluster, and TensorFlow's threads in its workers
# --------------------------------------------------
# Each worker runs one task at a time (``threads_per_worker=1``), so
# :func:`~skfer.distributed.configure_dask_workers` gives TensorFlow one
# thread in each: two workers, two busy cores. It registers a worker plugin,
# so workers that join the cluster later are sized the same way, and returns
# what TensorFlow reports in every worker.

if __name__ == "__main__":
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
    )
    client = Client(cluster)
    for address, threads in configure_dask_workers(client).items():
        print(address, threads)

# %%
# The search on the cluster
# -------------------------
# Inside ``joblib.parallel_config(backend="dask")``, ``n_jobs=-1`` means as
# many fits at once as the cluster has worker threads. The fitted networks
# come back pickled; the final refit on all faces runs here, in the client.

if __name__ == "__main__":
    with get_task_stream(client) as tasks, joblib.parallel_config(backend="dask"):
        start = time.perf_counter()
        search = make_search(n_jobs=-1).fit(X, y)
        elapsed = time.perf_counter() - start
    print(f"{len(search.cv_results_['params'])} candidates in {elapsed:.1f} s")
    for params, score in zip(
        search.cv_results_["params"],
        search.cv_results_["mean_test_score"],
        strict=True,
    ):
        print(params, f"mean accuracy {score:.3f}")
    print("best:", search.best_params_)

# %%
# Where the fits ran
# ------------------
# Dask recorded the tasks: each cross-validation fit ran on one of the two
# workers, two at a time. With a fixed ``random_state`` the scores are the same
# as with ``n_jobs=1`` in one process (skfer's test-suite checks this). The
# networks here are tiny and train for one epoch, so their scores are near
# chance: the point is where the fits ran.

if __name__ == "__main__":
    workers = sorted({task["worker"] for task in tasks.data})
    fig, ax = plt.subplots(figsize=(7, 2.2))
    t0 = min(s["start"] for task in tasks.data for s in task["startstops"])
    for row, worker in enumerate(workers):
        spans = [
            (s["start"] - t0, s["stop"] - s["start"])
            for task in tasks.data
            if task["worker"] == worker
            for s in task["startstops"]
            if s["action"] == "compute"
        ]
        ax.broken_barh(spans, (row - 0.35, 0.7), edgecolor="white")
    ax.set_yticks(range(len(workers)), [f"worker {i}" for i in range(len(workers))])
    ax.set_xlabel("seconds since the first task")
    ax.set_title("Fits of the search on the Dask workers")
    fig.tight_layout()

# %%
# Shut the cluster down when done. Processes that imported TensorFlow can take
# a few seconds to exit; Dask may log that it killed such a worker, which is
# harmless.

if __name__ == "__main__":
    client.close()
    cluster.close()
