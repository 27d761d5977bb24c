"""Loaders for FER2013 in its common layouts, and synthetic expression faces."""

from ._labels import EMOTIONS, IMAGE_SIDE, N_PIXELS, label_for_name

__all__ = [
    "EMOTIONS",
    "IMAGE_SIDE",
    "N_PIXELS",
    "label_for_name",
]
