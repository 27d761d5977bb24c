"""Run exported skfer models without TensorFlow.

:class:`ONNXModel` needs only ``numpy`` and ``onnxruntime``;
:class:`TFLiteModel` uses LiteRT (``ai_edge_litert``) when installed, else
``tf.lite.Interpreter``. Both take what the skfer estimators take, FER2013's
raw ``(n, 2304)`` pixels (or ``(n, 48, 48)`` images), and offer
``predict_proba`` and ``predict``. This module imports neither TensorFlow nor
scikit-learn's heavier parts, so it can be copied next to a model file on a
machine with only ``numpy`` and ``onnxruntime``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

__all__ = ["ONNXModel", "TFLiteModel"]

_N_PIXELS = 48 * 48


def _as_pixels(X: Any) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim in (3, 4) and X.shape[1:3] == (48, 48):
        X = X.reshape(X.shape[0], _N_PIXELS)
    if X.ndim != 2 or X.shape[1] != _N_PIXELS:
        raise ValueError(
            f"X must have shape (n_samples, {_N_PIXELS}) or (n_samples, 48, 48). "
            f"Got {X.shape}."
        )
    if X.dtype != np.uint8:
        if not np.isfinite(X).all() or X.min() < 0 or X.max() > 255:
            raise ValueError("X must hold grey levels in [0, 255] without NaN.")
        X = np.rint(X).astype(np.uint8)
    return np.ascontiguousarray(X)


class _Runner:
    classes_: np.ndarray

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities of faces.

        Parameters
        ----------
        X : array-like of shape (n_samples, 2304) or (n_samples, 48, 48)
            Grey levels 0..255 (converted to uint8, the exported input type).

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities, in the order of ``classes_``.
        """
        X = _as_pixels(X)
        if len(X) == 0:
            return np.zeros((0, len(self.classes_)), dtype=np.float32)
        return self._run(X)

    def predict(self, X: Any) -> np.ndarray:
        """Most probable class of each face.

        Parameters
        ----------
        X : array-like of shape (n_samples, 2304) or (n_samples, 48, 48)
            Grey levels 0..255.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Predicted labels from ``classes_``.
        """
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def _run(self, X: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError


class ONNXModel(_Runner):
    """An ONNX file from :func:`skfer.export.export_onnx`, run by onnxruntime.

    Parameters
    ----------
    path : str or path-like
        The ``.onnx`` file.
    intra_op_threads : int, default=0
        onnxruntime's intra-op threads (0: its default, all cores).

    Attributes
    ----------
    classes_ : ndarray
        Class labels, read from the file's metadata.

    Examples
    --------
    >>> from skfer.deploy import ONNXModel  # doctest: +SKIP
    >>> ONNXModel("cnn.onnx").predict(faces)  # doctest: +SKIP
    """

    def __init__(self, path: str | os.PathLike, *, intra_op_threads: int = 0) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = int(intra_op_threads)
        self._session = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        meta = self._session.get_modelmeta().custom_metadata_map
        n_out = self._session.get_outputs()[0].shape[-1]
        classes = json.loads(meta["skfer_classes"]) if "skfer_classes" in meta else None
        self.classes_ = np.asarray(classes if classes is not None else range(n_out))
        self._input = self._session.get_inputs()[0].name

    def _run(self, X: np.ndarray) -> np.ndarray:
        return self._session.run(None, {self._input: X})[0]


class TFLiteModel(_Runner):
    """A file from :func:`skfer.export.export_tflite`, run by LiteRT.

    Parameters
    ----------
    path : str or path-like
        The ``.tflite`` file.
    classes : array-like, default=None
        Class labels (default ``0..n_classes-1``, FER2013's labels).
    num_threads : int, default=None
        Interpreter threads (default: the runtime's choice).

    Attributes
    ----------
    classes_ : ndarray
        Class labels.

    Examples
    --------
    >>> from skfer.deploy import TFLiteModel  # doctest: +SKIP
    >>> TFLiteModel("cnn-int8.tflite").predict_proba(faces)  # doctest: +SKIP
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        classes: Any = None,
        num_threads: int | None = None,
    ) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            import warnings

            from ._tf import tf

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # deprecation notice
                Interpreter = tf.lite.Interpreter
        self._interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
        self._in = self._interpreter.get_input_details()[0]["index"]
        out = self._interpreter.get_output_details()[0]
        self._out = out["index"]
        n_out = int(out["shape"][-1])
        self.classes_ = np.asarray(classes if classes is not None else range(n_out))
        self._batch = None

    def _run(self, X: np.ndarray) -> np.ndarray:
        if self._batch != len(X):
            self._interpreter.resize_tensor_input(self._in, [len(X), _N_PIXELS])
            self._interpreter.allocate_tensors()
            self._batch = len(X)
        self._interpreter.set_tensor(self._in, X)
        self._interpreter.invoke()
        return self._interpreter.get_tensor(self._out).copy()
