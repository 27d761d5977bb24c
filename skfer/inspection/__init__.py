"""Inspecting FER classifiers: what they get wrong, look at and respond to.

Compute functions take arrays and return arrays; the ``*Display`` classes
follow scikit-learn's Display API (``from_estimator``, ``plot(ax=...)``,
``figure_`` / ``ax_``) and only draw. Importing this package imports neither
TensorFlow nor matplotlib; the functions that need them import them.

Gradients (saliency maps, Grad-CAM, filter ascent) are taken with respect to
the raw grey levels of the face, on the class *logits* (before the softmax).
"""

from ._activations import ActivationDisplay, layer_activations
from ._confusion import FERConfusionMatrixDisplay
from ._curves import TrainingCurvesDisplay
from ._filters import FilterDisplay, filter_patterns
from ._saliency import SaliencyExplainer, mask_low_saliency, saliency_maps
from ._saliency_display import SaliencyDisplay

__all__ = [
    "ActivationDisplay",
    "FERConfusionMatrixDisplay",
    "FilterDisplay",
    "SaliencyDisplay",
    "SaliencyExplainer",
    "TrainingCurvesDisplay",
    "filter_patterns",
    "layer_activations",
    "mask_low_saliency",
    "saliency_maps",
]
