"""From an estimator to the Keras network it wraps, and to its layers.

Model surgery is a separate, named step here (as in tf-keras-vis): resolve a
fitted classifier or a pipeline ending in one to its ``keras.Model``, look a
layer up by name or index (a wrong one is an error that lists the valid
ones), and cut sub-models at the logits or at an intermediate layer. Keras is
imported inside the functions, so importing :mod:`skfer.inspection` stays
free of TensorFlow.
"""

from __future__ import annotations

import numbers
import sys
from typing import Any

import numpy as np
from sklearn.utils.validation import check_array, check_is_fitted

from ..datasets._labels import IMAGE_SIDE, N_PIXELS

__all__ = ["check_faces", "get_layer", "resolve_model"]


def _is_keras_model(obj: Any) -> bool:
    keras = _keras_if_loaded()
    return keras is not None and isinstance(obj, keras.Model)


def _keras_if_loaded():
    """The keras module, imported through skfer._tf only if Keras is in use."""
    if "keras" not in sys.modules:
        return None
    from .._tf import keras

    return keras


def _final_estimator(estimator: Any, *, strict: bool = True) -> Any:
    """The classifier at the end of ``estimator`` (a pipeline or itself).

    Samplers (steps with ``fit_resample``, e.g. :class:`~skfer.MirrorSampler`)
    and ``"passthrough"`` steps are skipped: they are the identity at predict
    time. Any other step would change X before the network, so gradients and
    activations would no longer be those of the face: it is refused, unless
    ``strict=False`` (for what does not depend on X, such as ``history_``).
    """
    steps = getattr(estimator, "steps", None)
    if steps is None:
        return estimator
    for name, step in steps[:-1] if strict else ():
        if step is None or step == "passthrough":
            continue
        if hasattr(step, "fit_resample"):
            continue  # imblearn sampler: skipped by the pipeline at predict time
        raise ValueError(
            f"Pipeline step {name!r} ({type(step).__name__}) transforms X before "
            "the classifier, so maps would explain its output, not the face. Only "
            "samplers such as MirrorSampler (skipped at predict time) may precede "
            "the classifier here; pass the transformed faces and the classifier "
            "itself instead (e.g. pipe[-1] and pipe[:-1].transform(X))."
        )
    return _final_estimator(steps[-1][1], strict=strict)


def resolve_model(estimator: Any) -> Any:
    """Return the fitted ``keras.Model`` behind an estimator.

    Parameters
    ----------
    estimator : estimator or keras.Model
        A fitted skfer classifier (:class:`~skfer.FERCNNClassifier`,
        :class:`~skfer.FERVGGClassifier`, ...), a (imbalanced-learn or
        scikit-learn) pipeline ending in one whose other steps are samplers,
        or a ``keras.Model`` built by a :mod:`skfer.architectures` function.

    Returns
    -------
    model : keras.Model
        The network: input ``"pixels"`` of shape ``(None, 2304)`` taking raw
        grey levels, a ``"logits"`` layer and a softmax on top.

    Raises
    ------
    ValueError
        If a pipeline step other than a sampler precedes the classifier.
    sklearn.exceptions.NotFittedError
        If the classifier is not fitted.
    TypeError
        If the estimator does not wrap a Keras network.
    """
    if _is_keras_model(estimator):
        return estimator
    final = _final_estimator(estimator)
    if _is_keras_model(final):
        return final
    check_is_fitted(final, "model_")
    model = final.model_
    if not _is_keras_model(model):
        raise TypeError(
            "Expected a skfer classifier (or a pipeline ending in one) whose "
            f"model_ is a keras.Model. Got {type(final).__name__} with model_ of "
            f"type {type(model).__name__}."
        )
    return model


def _layer_names(model: Any) -> list[str]:
    return [layer.name for layer in model.layers]


def get_layer(model: Any, layer: str | int) -> Any:
    """Look a layer of ``model`` up by name or by index in ``model.layers``.

    Parameters
    ----------
    model : keras.Model
        The network.
    layer : str or int
        The layer's name (e.g. ``"conv3_act"``) or its position in
        ``model.layers`` (negative counts from the end; 0 is the input).

    Returns
    -------
    layer : keras.layers.Layer
        The layer.

    Raises
    ------
    ValueError
        For an unknown name or an index out of range; the message lists the
        valid names with their indices.
    """
    names = _layer_names(model)
    listing = ", ".join(f"{i}: {n!r}" for i, n in enumerate(names))
    if isinstance(layer, str):
        if layer in names:
            return model.layers[names.index(layer)]
        import difflib

        close = difflib.get_close_matches(layer, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(
            f"No layer named {layer!r} in model {model.name!r}.{hint} "
            f"Valid layers (index: name): {listing}."
        )
    if isinstance(layer, numbers.Integral) and not isinstance(layer, bool):
        if -len(names) <= layer < len(names):
            return model.layers[int(layer)]
        raise ValueError(
            f"Layer index {layer} is out of range for model {model.name!r} with "
            f"{len(names)} layers. Valid layers (index: name): {listing}."
        )
    raise TypeError(f"layer must be a layer name or an index. Got {layer!r} instead.")


def output_rank(layer: Any) -> int:
    """Rank of a layer's output, batch axis included (4 for feature maps)."""
    return len(layer.output.shape)


def spatial_layers(model: Any) -> list[str]:
    """Names of the layers whose output is a spatial map ``(b, h, w, c)``."""
    return [
        layer.name
        for layer in model.layers
        if output_rank(layer) == 4 and min(layer.output.shape[1:3]) > 1
    ]


def get_spatial_layer(model: Any, layer: str | int, *, purpose: str) -> Any:
    """Like :func:`get_layer`, but refuse a layer with no spatial map."""
    found = get_layer(model, layer)
    if found.name not in spatial_layers(model):
        valid = spatial_layers(model)
        valid_text = ", ".join(map(repr, valid)) if valid else "none (a dense network)"
        raise ValueError(
            f"{purpose} needs a layer with a spatial map, an output of shape "
            f"(n_samples, height, width, channels); layer {found.name!r} has "
            f"output shape {tuple(found.output.shape)}. Layers with a spatial "
            f"map: {valid_text}."
        )
    return found


def _with_activation(model: Any, name: str) -> str:
    """``name``'s separate activation layer (``"<name>_act"``) if it has one."""
    act = f"{name}_act"
    return act if act in _layer_names(model) else name


def conv_layer(model: Any, position: int = -1) -> str | None:
    """Name of a convolution's output (its activation when separate).

    ``position`` indexes the model's Conv2D layers (-1: the last one); None
    when the model has no convolution. Where some convolutions have their
    own activation layer and others do not (a residual network's 1x1
    shortcuts), only the former count. For ``position=-1`` the first
    spatial activation layer after the last convolution wins when there is
    one: the activation of the last convolution, or, in a densely
    connected network whose convolutions are pre-activated, the activation
    of the last block's output (``"final_act"``).
    """
    keras = _keras_if_loaded()
    spatial = [layer for layer in model.layers if output_rank(layer) == 4]
    conv_at = [
        i for i, layer in enumerate(spatial) if isinstance(layer, keras.layers.Conv2D)
    ]
    if not conv_at:
        return None
    if position == -1:
        for layer in spatial[conv_at[-1] + 1 :]:
            if isinstance(layer, keras.layers.Activation):
                return layer.name
    convs = [spatial[i].name for i in conv_at]
    names = _layer_names(model)
    convs = [c for c in convs if f"{c}_act" in names] or convs
    return _with_activation(model, convs[position])


def first_hidden_layer(model: Any) -> str | None:
    """Name of the first Dense layer's output (its activation when separate)."""
    keras = _keras_if_loaded()
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense) and layer.name != "logits":
            return _with_activation(model, layer.name)
    return None


def input_top(model: Any) -> float:
    """The input value the network maps to 1: 255 for raw grey levels.

    Read from the ``"rescale"`` layer of skfer's networks (``1 / scale``, so a
    classifier built with ``rescale=1.0`` takes faces in [0, 1]); 255 if the
    network has none.
    """
    names = _layer_names(model)
    scale = (
        getattr(model.get_layer("rescale"), "scale", None)
        if "rescale" in names
        else None
    )
    if isinstance(scale, numbers.Real) and scale > 0:
        return 1.0 / float(scale)
    return 255.0


def logits_layer(model: Any) -> Any:
    """The ``"logits"`` layer, or a clear error for a foreign network."""
    if "logits" in _layer_names(model):
        return model.get_layer("logits")
    raise ValueError(
        f"Model {model.name!r} has no layer named 'logits'. skfer's inspection "
        "takes gradients of the class scores before the softmax, which it finds "
        "by that name (networks from skfer.architectures have it). Layers: "
        f"{_layer_names(model)}."
    )


def check_faces(X: Any, *, name: str = "X") -> np.ndarray:
    """Validate faces and return them as float32 of shape ``(n_samples, 2304)``.

    Accepts ``(n_samples, 2304)`` rows, images ``(n_samples, 48, 48[, 1])``,
    or a single face ``(2304,)`` / ``(48, 48)``.
    """
    arr = np.asarray(X)
    if arr.ndim == 1 or arr.shape == (IMAGE_SIDE, IMAGE_SIDE):
        arr = arr[None]  # a single face
    arr = check_array(
        arr, dtype=np.float32, allow_nd=True, ensure_all_finite=True, input_name=name
    )
    side = (IMAGE_SIDE, IMAGE_SIDE)
    if arr.ndim > 2:
        if arr.shape[1:] not in (side, (*side, 1)):
            raise ValueError(
                f"{name} must have shape (n_samples, {N_PIXELS}) or "
                f"(n_samples, 48, 48[, 1]). Got shape {arr.shape} instead."
            )
        arr = arr.reshape(arr.shape[0], N_PIXELS)
    if arr.shape[1] != N_PIXELS:
        raise ValueError(
            f"n_features must be {N_PIXELS} (48x48). Got {arr.shape[1]} instead."
        )
    return np.ascontiguousarray(arr)


def class_names(classes: Any) -> list[str]:
    """FER2013 names for labels 0..6; other labels as their string."""
    from ..datasets._labels import EMOTIONS

    out = []
    for c in classes:
        if isinstance(c, numbers.Integral) and 0 <= int(c) < len(EMOTIONS):
            out.append(EMOTIONS[int(c)])
        else:
            out.append(str(c))
    return out


def model_classes(estimator: Any, n_outputs: int) -> np.ndarray:
    """The class labels of the network's outputs (``classes_`` when known)."""
    final = estimator if _is_keras_model(estimator) else _final_estimator(estimator)
    classes = getattr(final, "classes_", None)
    if classes is None or len(classes) != n_outputs:
        return np.arange(n_outputs)
    return np.asarray(classes)
