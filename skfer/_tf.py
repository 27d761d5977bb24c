"""The one place that imports TensorFlow, Keras and scikeras.

Imported only by modules that need Keras (never by ``import skfer``). Unless
the user already chose a level in ``TF_CPP_MIN_LOG_LEVEL``, it silences
TensorFlow's C++ log noise: the level defaults to 3, and the few lines that
TensorFlow's C++ runtime writes before its logger is configured (oneDNN and
CUDA-probe notices, printed whatever the level) are discarded by pointing
file descriptor 2 at ``/dev/null`` for the duration of the import only.
Set ``TF_CPP_MIN_LOG_LEVEL=0`` to see everything again.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

_USER_CHOSE_LEVEL = "TF_CPP_MIN_LOG_LEVEL" in os.environ
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


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


with _quiet_fd2(not _USER_CHOSE_LEVEL and "tensorflow" not in sys.modules):
    import keras
    import tensorflow as tf
    from scikeras.wrappers import BaseWrapper, KerasClassifier

    # The CUDA probe runs when the first device is listed; do it here too.
    tf.config.list_logical_devices()
    if not _USER_CHOSE_LEVEL:
        # retracing notices and the like from TensorFlow's Python logger
        tf.get_logger().setLevel("ERROR")

__all__ = ["BaseWrapper", "KerasClassifier", "keras", "tf"]
