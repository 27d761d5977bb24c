"""Loaders for FER2013 in its common layouts, and synthetic expression faces."""

from ._cache import get_data_home
from ._fer2013 import fetch_fer2013, load_fer2013
from ._labels import EMOTIONS, IMAGE_SIDE, N_PIXELS, label_for_name
from ._synthetic import make_expressions

__all__ = [
    "EMOTIONS",
    "IMAGE_SIDE",
    "N_PIXELS",
    "fetch_fer2013",
    "get_data_home",
    "label_for_name",
    "load_fer2013",
    "make_expressions",
]
