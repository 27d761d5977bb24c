"""
=============================================
Saliency: which pixels decide the expression
=============================================

:class:`~skfer.inspection.SaliencyDisplay` shows, for chosen faces, the face,
the heat map of ``|d logit_c / d pixel|`` (the class score before the
softmax, differentiated with respect to the raw grey levels) and the face
with its low-saliency part masked out by a percentile threshold.
Three methods are available: the plain gradient (the default), SmoothGrad and,
for the CNN, Grad-CAM.

By default this runs in seconds on synthetic faces
(:func:`~skfer.datasets.make_expressions`), whose expression lives only in
the mouth, eyes and brows, so the maps can be checked against the truth. Set
the environment variable ``SKFER_FER2013`` to the FER2013 data to use its
``Training`` split instead.
"""

# %%
# Data and a small CNN
# --------------------
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skfer import FERCNNClassifier
from skfer.datasets import load_fer2013, make_expressions
from skfer.inspection import SaliencyDisplay, saliency_maps

masks = None  # where the class signal is: known for synthetic faces only
if "SKFER_FER2013" in os.environ:
    X, y = load_fer2013(os.environ["SKFER_FER2013"], usage="Training", return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=1000, stratify=y, random_state=0
    )
else:
    X_train, y_train = make_expressions(700, random_state=0)
    X_test, y_test, masks = make_expressions(350, random_state=1, return_masks=True)

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
).fit(X_train, y_train)
print(f"held-out accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# One face per expression
# -----------------------
# The maps explain the true class of each face; the third column keeps the
# quarter of the pixels with the highest saliency.
chosen = [np.flatnonzero(y_test == label)[0] for label in range(7)]
SaliencyDisplay.from_estimator(clf, X_test[chosen], target=y_test[chosen])

# %%
# SmoothGrad and Grad-CAM
# -----------------------
# SmoothGrad averages the gradient over noisy copies of the face; Grad-CAM
# weights the feature maps of a convolution by their mean gradient. The last
# convolution of this small CNN is 10x10 and too coarse to localise on these
# faces; an earlier one (``conv3_act``, 22x22) localises well.
fig, axes = plt.subplots(3, 6, figsize=(10, 5.5), layout="constrained")
few = chosen[:3]
SaliencyDisplay.from_estimator(
    clf,
    X_test[few],
    target=y_test[few],
    method="smoothgrad",
    random_state=0,
    ax=axes[:, :3],
)
SaliencyDisplay.from_estimator(
    clf,
    X_test[few],
    target=y_test[few],
    method="gradcam",
    layer="conv3_act",
    overlay=True,
    ax=axes[:, 3:],
)

# %%
# All the test faces at once
# --------------------------
# The computation is batched (one compiled gradient function, one call per
# 128 faces). On the synthetic faces we know where the signal is: compare the
# saliency mass inside the signal regions with their share of the image.
maps = saliency_maps(clf, X_test, target=y_test)
print(f"maps: {maps.shape}, {maps.dtype}")
if masks is not None:
    flat = maps.reshape(len(maps), -1)
    inside = (flat * masks).sum(axis=1) / flat.sum(axis=1)
    print(
        f"signal regions: {masks.mean():.0%} of the pixels, "
        f"{inside.mean():.0%} of the saliency"
    )
plt.show()
