"""
=============================================
Layer outputs: the feature maps of one face
=============================================

:class:`~skfer.inspection.ActivationDisplay` shows what a layer computes for
one face: each channel of its output as an image, in ``gray_r`` (dark is a
strong activation) as in the study.

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
from skfer.datasets import EMOTIONS, load_fer2013, make_expressions
from skfer.inspection import ActivationDisplay

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
# The face
# --------
face = X[0]
fig, ax = plt.subplots(figsize=(2.5, 2.5))
ax.imshow(face.reshape(48, 48), cmap="gray")
ax.set_title(f"{EMOTIONS[y[0]]} (predicted {EMOTIONS[clf.predict(X[:1])[0]]})")
ax.set_axis_off()

# %%
# First convolution
# -----------------
# The default layer is the first convolution: 44x44 maps, mostly edge and
# contrast detectors.
ActivationDisplay.from_estimator(clf, face)

# %%
# Deeper: by name or by index
# ---------------------------
# Any layer with a spatial output can be shown, by name or by its index in
# ``clf.model_.layers``.
names = [layer.name for layer in clf.model_.layers]
ActivationDisplay.from_estimator(clf, face, layer=names.index("conv4_act"))
plt.show()
