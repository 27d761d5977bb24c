"""skfer: scikit-learn-compatible facial expression recognition on FER2013.

``import skfer`` is quick and never imports TensorFlow: the classifiers and
everything that needs Keras are loaded on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it (imported lazily, see __getattr__)
_LAZY = {
    "FERCNNClassifier": "skfer.classifiers",
    "FERDNNClassifier": "skfer.classifiers",
    "FERResNetClassifier": "skfer.classifiers",
    "FERDenseNetClassifier": "skfer.classifiers",
    "FERVGGClassifier": "skfer.classifiers",
    "build_cnn": "skfer.architectures",
    "build_densenet": "skfer.architectures",
    "build_dnn": "skfer.architectures",
    "build_resnet": "skfer.architectures",
    "build_vgg": "skfer.architectures",
    "MirrorSampler": "skfer.augmentation",
    "flip_horizontal": "skfer.augmentation",
    "load_pretrained": "skfer.pretrained",
    "list_pretrained": "skfer.pretrained",
    "save_model": "skfer.persistence",
    "load_model": "skfer.persistence",
    "EMOTIONS": "skfer.datasets._labels",
    "FaceCropper": "skfer.faces",
    "predict_photos": "skfer.faces",
    "predict_video": "skfer.video",
}

__all__ = sorted([*_LAZY, "__version__"])


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'skfer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
