"""Export fitted skfer models to ONNX and TensorFlow Lite.

The exported graph takes exactly what the estimator takes — FER2013's raw
``(n, 2304)`` uint8 pixels — and carries the preprocessing (scaling, reshape)
inside, so deployment needs no skfer and no TensorFlow: run an ONNX file with
``onnxruntime`` (see :class:`skfer.deploy.ONNXModel`) and a ``.tflite`` file
with LiteRT / ``tf.lite.Interpreter`` (:class:`skfer.deploy.TFLiteModel`).

Supported estimators: any fitted skfer classifier (the CNN, DNN, VGG,
ResNet and DenseNet ones, and :func:`skfer.load_pretrained`'s), a pipeline
ending in one whose other steps
are samplers (skipped at predict time, like :class:`~skfer.MirrorSampler`),
and a soft-voting :class:`~sklearn.ensemble.VotingClassifier` of those (its
weighted average of probabilities is computed inside the exported graph).
Test-time augmentation (``tta=True``, ``"flip"``, ``"flip+shift"`` or a
sequence of views) is exported as well.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.ensemble import VotingClassifier
from sklearn.utils.validation import check_is_fitted

from ._recipe import tta_views, view_indices
from .datasets._labels import IMAGE_SIDE, N_PIXELS

__all__ = ["export_onnx", "export_tflite"]

#: metadata key holding the JSON list of class labels in exported files
CLASSES_KEY = "skfer_classes"


def _members(estimator: Any) -> tuple[list[tuple[Any, float]], np.ndarray]:
    """Return [(fitted skfer classifier, weight)] and the class labels."""
    from ._base import FERClassifierBase

    def single(est: Any) -> Any:
        steps = getattr(est, "steps", None)
        if steps is not None:
            for name, step in steps[:-1]:
                if step in (None, "passthrough") or hasattr(step, "fit_resample"):
                    continue
                raise ValueError(
                    f"Cannot export pipeline step {name!r} ({type(step).__name__}): "
                    "only samplers (skipped at predict time) may precede the "
                    "classifier in an exported pipeline."
                )
            est = steps[-1][1]
        if not isinstance(est, FERClassifierBase):
            raise TypeError(
                "Expected a fitted skfer classifier (FERCNNClassifier, "
                "FERVGGClassifier, ...), a pipeline ending in one, or a soft "
                f"VotingClassifier of them. Got {type(est).__name__}."
            )
        check_is_fitted(est)
        if est.n_features_in_ != N_PIXELS:
            raise ValueError(
                f"Only models of 48x48 faces ({N_PIXELS} features) can be exported; "
                f"this one takes {est.n_features_in_}."
            )
        return est

    if isinstance(estimator, VotingClassifier):
        check_is_fitted(estimator)
        if estimator.voting != "soft":
            raise ValueError(
                "Only soft voting can be exported (voting='soft'). "
                f"Got voting={estimator.voting!r}."
            )
        weights = estimator.weights or [1.0] * len(estimator.estimators_)
        members = [
            (single(est), float(w))
            for est, w in zip(estimator.estimators_, weights, strict=True)
            if w
        ]
        classes = np.asarray(estimator.classes_)
        for est, _ in members:
            if not np.array_equal(est.classes_, classes):
                raise ValueError("Ensemble members were fitted on different classes.")
        total = sum(w for _, w in members)
        return [(est, w / total) for est, w in members], classes
    est = single(estimator)
    return [(est, 1.0)], np.asarray(est.classes_)


def _serving_fn(members: list[tuple[Any, float]]) -> Callable:
    """A function uint8 ``(n, 2304)`` → float32 probabilities, in TensorFlow ops."""
    from ._tf import tf

    def serve(pixels):
        x = tf.cast(pixels, tf.float32)
        total = None
        for est, weight in members:
            views = tta_views(est.tta)
            if views == ((False, 0, 0),):
                proba = est.model_(x, training=False)
            else:
                images = tf.reshape(x, (-1, IMAGE_SIDE, IMAGE_SIDE))
                proba = 0.0
                for view in views:
                    if view == (False, 0, 0):
                        face = x
                    else:
                        rows, cols = view_indices(*view)
                        face = tf.gather(tf.gather(images, rows, axis=1), cols, axis=2)
                        face = tf.reshape(face, (-1, N_PIXELS))
                    proba = proba + est.model_(face, training=False)
                proba = proba / float(len(views))
            term = proba * weight
            total = term if total is None else total + term
        return total

    return serve


def _atomic_write(path: Path, write: Callable[[str], None]) -> Path:
    path = Path(path)
    if not path.parent.is_dir():
        raise FileNotFoundError(f"Folder {str(path.parent)!r} does not exist.")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def export_onnx(estimator: Any, path: str | os.PathLike, *, opset: int = 17) -> Path:
    """Export a fitted skfer model to an ONNX file.

    Parameters
    ----------
    estimator : estimator
        A fitted skfer classifier, a pipeline ending in one, or a soft
        ``VotingClassifier`` of them.
    path : str or path-like
        Destination ``.onnx`` file, written atomically.
    opset : int, default=17
        ONNX opset version.

    Returns
    -------
    path : pathlib.Path
        The written file. Its graph has one input ``"pixels"`` (uint8, shape
        ``(n, 2304)``) and one output ``"probabilities"`` (float32, shape
        ``(n, n_classes)``); the class labels are stored in the model's
        metadata under ``"skfer_classes"`` (JSON).

    Raises
    ------
    ImportError
        If ``tf2onnx`` is not installed (``pip install skfer[export]``).

    Examples
    --------
    >>> from skfer.export import export_onnx  # doctest: +SKIP
    >>> export_onnx(fitted_cnn, "cnn.onnx")  # doctest: +SKIP
    >>> from skfer.deploy import ONNXModel  # doctest: +SKIP
    >>> ONNXModel("cnn.onnx").predict(X)  # doctest: +SKIP
    """
    try:
        import tf2onnx
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "export_onnx needs tf2onnx: pip install 'skfer[export]'."
        ) from exc
    from ._tf import tf

    members, classes = _members(estimator)
    spec = [tf.TensorSpec([None, N_PIXELS], tf.uint8, name="pixels")]
    serve = _serving_fn(members)

    @tf.function(input_signature=spec)
    def graph(pixels):
        return {"probabilities": serve(pixels)}

    model_proto, _ = tf2onnx.convert.from_function(
        graph, input_signature=spec, opset=int(opset)
    )
    entry = model_proto.metadata_props.add()
    entry.key, entry.value = CLASSES_KEY, json.dumps(classes.tolist())

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(model_proto.SerializeToString())

    return _atomic_write(Path(path), write)


def export_tflite(
    estimator: Any,
    path: str | os.PathLike,
    *,
    quantize: str | None = None,
    X_calibration: np.ndarray | None = None,
) -> Path:
    """Export a fitted skfer model to a TensorFlow Lite file.

    Parameters
    ----------
    estimator : estimator
        A fitted skfer classifier, a pipeline ending in one, or a soft
        ``VotingClassifier`` of them.
    path : str or path-like
        Destination ``.tflite`` file, written atomically.
    quantize : {None, "float16", "int8"}, default=None
        ``None`` keeps float32 weights; ``"float16"`` stores weights as
        float16 (half the size); ``"int8"`` quantises weights and activations
        to 8 bits, calibrated on ``X_calibration`` (a quarter of the size;
        operations without an int8 kernel stay in float).
    X_calibration : ndarray of shape (n_samples, 2304), default=None
        Representative faces for ``quantize="int8"`` (a few hundred suffice).

    Returns
    -------
    path : pathlib.Path
        The written file: input uint8 ``(n, 2304)``, output float32
        probabilities. TensorFlow Lite files carry no metadata here: keep
        ``estimator.classes_`` (FER2013: ``0..6``) with it.

    Examples
    --------
    >>> from skfer.export import export_tflite  # doctest: +SKIP
    >>> export_tflite(fitted_cnn, "cnn-int8.tflite", quantize="int8",
    ...               X_calibration=X[:300])  # doctest: +SKIP
    """
    from ._tf import keras, tf

    if quantize not in (None, "float16", "int8"):
        raise ValueError(
            f"quantize must be None, 'float16' or 'int8'. Got {quantize!r} instead."
        )
    if quantize == "int8":
        if X_calibration is None:
            raise ValueError("quantize='int8' needs X_calibration faces.")
        X_calibration = np.asarray(X_calibration)
        if X_calibration.ndim != 2 or X_calibration.shape[1] != N_PIXELS:
            raise ValueError(
                f"X_calibration must have shape (n_samples, {N_PIXELS}). "
                f"Got {X_calibration.shape}."
            )
    members, _ = _members(estimator)
    serve = _serving_fn(members)
    workdir = tempfile.mkdtemp(prefix="skfer-tflite-")
    try:
        archive = keras.export.ExportArchive()
        for est, _ in members:
            archive.track(est.model_)
        archive.add_endpoint(
            "serve",
            serve,
            input_signature=[tf.TensorSpec([None, N_PIXELS], tf.uint8, name="pixels")],
        )
        archive.write_out(workdir, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(workdir)
        if quantize is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        elif quantize == "int8":
            faces = X_calibration.astype(np.uint8)

            def representative():
                for i in range(len(faces)):
                    yield [faces[i : i + 1]]

            converter.representative_dataset = representative
        flatbuffer = converter.convert()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as fh:
            fh.write(flatbuffer)

    return _atomic_write(Path(path), write)
