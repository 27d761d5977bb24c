"""The one place that imports TensorFlow, Keras and scikeras.

Imported only by modules that need Keras (never by ``import skfer``), it
silences TensorFlow's log noise: ``TF_CPP_MIN_LOG_LEVEL`` defaults to 3 (a
level the user set is kept), and while that level is 2 or more, the few lines
that TensorFlow's C++ runtime writes before its logger is configured (oneDNN
and CUDA-probe notices, printed whatever the level) are discarded by pointing
file descriptor 2 at ``/dev/null`` for the duration of the import only, and
TensorFlow's Python logger is set to ERROR. Set ``TF_CPP_MIN_LOG_LEVEL=0``
to see everything again.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
try:
    _QUIET = int(os.environ["TF_CPP_MIN_LOG_LEVEL"]) >= 2
except ValueError:
    _QUIET = True


@contextlib.contextmanager
def _quiet_fd2(enabled: bool) -> Iterator[None]:
    try:
        fd = sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
    except (AttributeError, OSError, ValueError):
        fd = None
    if not enabled or fd is None:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    try:
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
        os.close(devnull)


with _quiet_fd2(_QUIET and "tensorflow" not in sys.modules):
    import keras
    import tensorflow as tf
    from scikeras.wrappers import BaseWrapper, KerasClassifier

    # Deliberately no device query here: it would start TensorFlow's runtime
    # at import, after which thread pools can no longer be sized (see
    # skfer.distributed.limit_tensorflow_threads).
    if _QUIET:
        # retracing notices and the like from TensorFlow's Python logger
        tf.get_logger().setLevel("ERROR")


@contextlib.contextmanager
def without_global_tf_seed() -> Iterator[None]:
    """Build seeded TensorFlow ops as in a process that never set a global seed.

    A ``tf.data`` op given a seed (``shuffle``, ``Dataset.random``) still mixes
    in TensorFlow's global seed, which ``tf.random.set_seed`` and
    ``keras.utils.set_random_seed`` change. Without this scope the same
    ``random_state`` would train a different network in a process where any
    code had set it (seen: a Keras model built in the same test process made
    a fit differ from the same fit on a fresh dask worker). The seed is read
    when a dataset is built, so the scope hides it only for that long. Only
    the seed itself is swapped (TensorFlow's private ``Context._seed``, what
    ``tf.random.set_seed`` writes): going through ``set_seed`` would also
    reset the global random-op counter and clear the kernel caches.
    """
    from tensorflow.python.eager import context

    ctx = context.context()
    saved = getattr(ctx, "_seed", None)
    if saved is None:
        yield
        return
    ctx._seed = None
    try:
        yield
    finally:
        ctx._seed = saved


__all__ = ["BaseWrapper", "KerasClassifier", "keras", "tf", "without_global_tf_seed"]
