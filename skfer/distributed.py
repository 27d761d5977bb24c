"""Run skfer's fits on a Dask cluster, with TensorFlow sized to each worker.

scikit-learn parallelises searches and ensembles with joblib, so
:class:`~sklearn.model_selection.GridSearchCV`,
:class:`~sklearn.ensemble.VotingClassifier` and friends run their fits on a
Dask cluster inside ``joblib.parallel_config(backend="dask")`` (or on Ray,
see :ref:`distributed`). Nothing in skfer's classifiers needs to change for
that; what does need care is TensorFlow: by default each process sizes its
thread pools to *all* the machine's cores, so several Dask workers on one
machine oversubscribe it. TensorFlow only lets a process size its pools before
its runtime starts, so this is done once per worker process, when the worker
starts or joins, by a worker plugin:

* :func:`limit_tensorflow_threads` sizes the pools of the current process;
* :class:`TensorFlowThreadsPlugin` calls it in every Dask worker, present and
  future, with that worker's number of threads;
* :func:`configure_dask_workers` registers the plugin and reports the result.

Nothing here is automatic, by design: a fit never changes process-wide
TensorFlow settings behind the user's back (see :ref:`distributed`).
Importing this module does not import TensorFlow, and works without Dask;
the Dask helpers need ``pip install "skfer[distributed]"``.
"""

from __future__ import annotations

import asyncio
import numbers
import os
import sys
from types import ModuleType
from typing import Any

try:  # the optional extra: skfer[distributed]
    from distributed import WorkerPlugin as _WorkerPlugin
except ImportError:  # pragma: no cover - exercised without the extra only
    _WorkerPlugin = object  # type: ignore[assignment,misc]

__all__ = [
    "TensorFlowThreadsPlugin",
    "configure_dask_workers",
    "limit_tensorflow_threads",
]

#: environment variables set by limit_tensorflow_threads: read by TensorFlow
#: when its runtime starts and inherited by processes started afterwards
_ENV_INTRA = ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS")
_ENV_INTER = ("TF_NUM_INTEROP_THREADS",)

_PLUGIN_NAME = "skfer-tensorflow-threads"


def _check_threads(value: Any, name: str, *, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        expected = "None or an int >= 1" if allow_none else "an int >= 1"
        raise ValueError(f"{name} must be {expected}. Got {value!r} instead.")


def _import_tensorflow() -> ModuleType:
    """Import TensorFlow quietly through :mod:`skfer._tf`.

    Importing does not start TensorFlow's runtime (no operation runs), so
    its thread pools can still be sized afterwards.
    """
    from ._tf import tf

    return tf


def _tensorflow_threads() -> dict[str, int]:
    """TensorFlow's configured pool sizes in this process (0: all the cores)."""
    tf = _import_tensorflow()
    return {
        "intra_op": int(tf.config.threading.get_intra_op_parallelism_threads()),
        "inter_op": int(tf.config.threading.get_inter_op_parallelism_threads()),
    }


def limit_tensorflow_threads(
    n_threads: int, *, inter_op_threads: int | None = None
) -> dict[str, int]:
    """Size TensorFlow's thread pools in this process, before its runtime starts.

    TensorFlow runs each operation on an *intra-op* pool of threads and runs
    independent operations side by side on an *inter-op* pool; by default both
    have as many threads as the machine has cores, whatever else runs on it.
    This function sizes them with ``tf.config.threading`` and sets
    ``TF_NUM_INTRAOP_THREADS``, ``TF_NUM_INTEROP_THREADS`` and
    ``OMP_NUM_THREADS`` for processes started from this one.

    TensorFlow reads these sizes once, when its runtime starts in the process:
    at the first TensorFlow operation, or when skfer's classifiers are first
    imported. Call this function before that. It imports TensorFlow itself,
    without starting the runtime. In a Dask cluster, let
    :func:`configure_dask_workers` call it in every worker.

    Parameters
    ----------
    n_threads : int
        Threads of the intra-op pool: the cores this process may use.
    inter_op_threads : int, default=None
        Threads of the inter-op pool; ``None`` uses ``n_threads``.

    Returns
    -------
    threads : dict of str to int
        The sizes now in effect, ``{"intra_op": ..., "inter_op": ...}``.

    Raises
    ------
    RuntimeError
        If TensorFlow's runtime already started in this process with other
        sizes; nothing is changed then. Start a fresh process (for Dask
        workers: ``client.restart()``) and call this function first.

    See Also
    --------
    configure_dask_workers : Call it in every worker of a Dask cluster.

    Examples
    --------
    In a fresh process, before the first fit (for instance in the
    ``worker_process_setup_hook`` of a Ray cluster):

    >>> from skfer.distributed import limit_tensorflow_threads
    >>> limit_tensorflow_threads(4)  # doctest: +SKIP
    {'intra_op': 4, 'inter_op': 4}
    """
    _check_threads(n_threads, "n_threads")
    _check_threads(inter_op_threads, "inter_op_threads", allow_none=True)
    intra = int(n_threads)
    inter = intra if inter_op_threads is None else int(inter_op_threads)

    tf = _import_tensorflow()
    threading = tf.config.threading
    try:
        # a no-op when the size is already in effect, an error when the
        # runtime started with another size
        threading.set_intra_op_parallelism_threads(intra)
        threading.set_inter_op_parallelism_threads(inter)
    except RuntimeError as exc:
        current = _tensorflow_threads()
        raise RuntimeError(
            "TensorFlow's runtime has already started in this process "
            f"(pid {os.getpid()}) with intra_op={current['intra_op']} and "
            f"inter_op={current['inter_op']} threads (0: all the cores); "
            f"it cannot be changed to intra_op={intra}, inter_op={inter}. "
            + _too_late_hint()
        ) from exc
    for name in _ENV_INTRA:
        os.environ[name] = str(intra)
    for name in _ENV_INTER:
        os.environ[name] = str(inter)
    return _tensorflow_threads()


def _too_late_hint() -> str:
    """How to size TensorFlow's pools in time, for the process at hand."""
    hint = (
        "Size the pools before the first TensorFlow operation or skfer fit in "
        "the process; for Dask workers, restart them (client.restart()) after "
        "configure_dask_workers: its plugin sizes the fresh worker processes."
    )
    script = getattr(sys.modules.get("__mp_main__"), "__file__", None)
    if script is None:
        return hint
    # A process started by multiprocessing's "spawn" (the workers of Dask's
    # LocalCluster) first re-runs the top level of its parent's script.
    return (
        "This process re-ran the top level of the script that started it "
        f"({script}), as multiprocessing's 'spawn' does. If that started "
        "TensorFlow (importing skfer's classifiers does), import them and "
        "build the estimators inside the script's "
        "'if __name__ == \"__main__\":' block (or in functions it calls), "
        "then start the cluster again. Otherwise: " + hint
    )


class TensorFlowThreadsPlugin(_WorkerPlugin):
    """Dask worker plugin: size TensorFlow's threads to the worker's threads.

    When a worker starts, or when the plugin is registered on a running one,
    it calls :func:`limit_tensorflow_threads` with the worker's number of
    threads (``--nthreads``), so that the worker runs at most as many
    TensorFlow threads as tasks: a machine's workers together use its cores,
    no more. Use :func:`configure_dask_workers` to register it.

    The setup imports TensorFlow in the worker (a few seconds, in a thread,
    so the worker stays responsive); skfer fits need it anyway.

    Parameters
    ----------
    threads_per_worker : int, default=None
        Size of TensorFlow's intra-op pool in every worker; ``None`` uses
        each worker's own number of threads.
    inter_op_threads : int, default=None
        Size of the inter-op pool; ``None`` uses the intra-op size.

    See Also
    --------
    configure_dask_workers : Register this plugin and check the workers.

    Examples
    --------
    >>> from dask.distributed import Client  # doctest: +SKIP
    >>> from skfer.distributed import TensorFlowThreadsPlugin
    >>> client = Client("tcp://scheduler:8786")  # doctest: +SKIP
    >>> client.register_plugin(TensorFlowThreadsPlugin())  # doctest: +SKIP
    """

    #: the plugin's name on the cluster: registering it again replaces it
    name = _PLUGIN_NAME
    idempotent = False

    def __init__(
        self,
        threads_per_worker: int | None = None,
        *,
        inter_op_threads: int | None = None,
    ) -> None:
        _check_threads(threads_per_worker, "threads_per_worker", allow_none=True)
        _check_threads(inter_op_threads, "inter_op_threads", allow_none=True)
        self.threads_per_worker = threads_per_worker
        self.inter_op_threads = inter_op_threads

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(threads_per_worker={self.threads_per_worker!r}, "
            f"inter_op_threads={self.inter_op_threads!r})"
        )

    async def setup(self, worker: Any) -> None:
        """Size TensorFlow's pools in the worker's process.

        Parameters
        ----------
        worker : distributed.Worker
            The worker that starts the plugin. An exception raised here is
            reported by Dask as the plugin's failure on that worker.
        """
        n_threads = self.threads_per_worker
        if n_threads is None:
            state = getattr(worker, "state", worker)
            n_threads = int(state.nthreads)
        # importing TensorFlow takes seconds: keep the worker's event loop free
        await asyncio.to_thread(
            limit_tensorflow_threads,
            n_threads,
            inter_op_threads=self.inter_op_threads,
        )


def _require_distributed() -> None:
    if _WorkerPlugin is object:
        raise ImportError(
            "skfer.distributed needs dask.distributed: "
            'pip install "skfer[distributed]" (or "dask[distributed]").'
        )


def configure_dask_workers(
    client: Any,
    threads_per_worker: int | None = None,
    *,
    inter_op_threads: int | None = None,
) -> dict[str, dict[str, int]]:
    """Limit TensorFlow in every worker of a Dask cluster to its share of cores.

    Registers a :class:`TensorFlowThreadsPlugin` with the scheduler, which
    runs it in every worker now connected and in every worker that joins (or
    is restarted) later, then reads TensorFlow's settings back from the
    workers. Call it right after connecting, before the first fit: TensorFlow
    sizes its pools once per process.

    Parameters
    ----------
    client : distributed.Client
        A client of the cluster.
    threads_per_worker : int, default=None
        Size of TensorFlow's intra-op pool in every worker; ``None`` (the
        default) uses each worker's own number of threads, which Dask sets
        to the worker's share of its machine's cores. Give a number when a
        worker runs fewer tasks than it has cores, e.g. ``--nthreads 1`` on
        a 4-core machine with ``threads_per_worker=4``.
    inter_op_threads : int, default=None
        Size of the inter-op pool; ``None`` uses the intra-op size.

    Returns
    -------
    threads : dict of str to dict
        For each worker address, TensorFlow's sizes there:
        ``{"intra_op": ..., "inter_op": ...}``.

    Raises
    ------
    RuntimeError
        If TensorFlow's runtime has already started in some worker (it ran a
        TensorFlow task) with other sizes. The plugin stays registered:
        ``client.restart()`` starts fresh workers that it sizes.

    See Also
    --------
    limit_tensorflow_threads : The same for the current process.

    Examples
    --------
    >>> import joblib
    >>> from dask.distributed import Client, LocalCluster  # doctest: +SKIP
    >>> from skfer.distributed import configure_dask_workers
    >>> cluster = LocalCluster(n_workers=2, threads_per_worker=1)  # doctest: +SKIP
    >>> client = Client(cluster)  # doctest: +SKIP
    >>> configure_dask_workers(client)  # doctest: +SKIP
    {'tcp://127.0.0.1:40291': {'intra_op': 1, 'inter_op': 1},
     'tcp://127.0.0.1:43513': {'intra_op': 1, 'inter_op': 1}}
    >>> with joblib.parallel_config(backend="dask"):  # doctest: +SKIP
    ...     search.fit(X, y)
    """
    _require_distributed()
    plugin = TensorFlowThreadsPlugin(
        threads_per_worker, inter_op_threads=inter_op_threads
    )
    register = getattr(client, "register_plugin", None)
    if register is None:  # dask.distributed < 2023.9.2
        register = client.register_worker_plugin
    try:
        responses = register(plugin, name=_PLUGIN_NAME) or {}
    except RuntimeError as exc:  # re-raised from a worker by current Dask
        raise RuntimeError(
            f"TensorFlow's threads could not be set in a Dask worker: {exc}"
            f"{_STILL_REGISTERED}"
        ) from exc
    # older Dask versions return the workers' errors instead of raising them
    failed = {
        address: response.get("exception_text") or response.get("exception")
        for address, response in responses.items()
        if isinstance(response, dict) and response.get("status") == "error"
    }
    if failed:
        details = "\n".join(
            f"  {address}: {error}" for address, error in sorted(failed.items())
        )
        raise RuntimeError(
            f"TensorFlow's threads could not be set in {len(failed)} of "
            f"{len(responses)} Dask worker(s):\n{details}{_STILL_REGISTERED}"
        )
    return client.run(_tensorflow_threads)


_STILL_REGISTERED = (
    "\nThe plugin stays registered with the scheduler and sizes TensorFlow in "
    "the worker processes started from now on."
)
