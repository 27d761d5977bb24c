"""
==========================================
Filters: the patterns each filter wants
==========================================

:class:`~skfer.inspection.FilterDisplay` runs gradient ascent on the input
image to maximise the mean activation of each filter of a layer (200 steps
by default, as in the study), all filters at once as one batch. The ascent
starts from mid-grey plus seeded noise (``random_state``) and is regularised
(decay towards grey, a light blur every few steps, clipping to 0..255), so
the images are reproducible and not noise. Each image is titled with the
activation its filter reached.

By default this runs in seconds on synthetic faces
(:func:`~skfer.datasets.make_expressions`); set the environment variable
``SKFER_FER2013`` to the FER2013 data to use its ``Training`` split instead.
"""

# %%
# A small CNN
# -----------
import os

import matplotlib.pyplot as plt

from skfer import FERCNNClassifier
from skfer.datasets import load_fer2013, make_expressions
from skfer.inspection import FilterDisplay

if "SKFER_FER2013" in os.environ:
    X, y = load_fer2013(os.environ["SKFER_FER2013"], usage="Training", return_X_y=True)
else:
    X, y = make_expressions(700, random_state=0)

clf = FERCNNClassifier(
    conv_filters=(16,) * 6,
    dense_units=(64,),
    conv_dropout=0.0,
    dense_dropout=0.2,
    activation="elu",
    batch_size=32,
    epochs=10,
    patience=None,
    random_state=0,
).fit(X, y)

# %%
# The last convolution
# --------------------
# By default the display takes the last convolution (``conv6_act``).
disp = FilterDisplay.from_estimator(clf, ncols=8)
print(f"{disp.layer}: activations reached {disp.activations.round(2)}")

# %%
# A middle layer, chosen by name, a few filters
# ----------------------------------------------
# Layers can be named or indexed (``clf.model_.layers``); ``filters`` picks
# the first n filters or a list of indices.
FilterDisplay.from_estimator(clf, "conv3_act", filters=[0, 1, 2, 3, 4, 5], ncols=6)
plt.show()
