"""
===========================================
Training curves: CNN and DNN side by side
===========================================

The skfer classifiers keep their per-epoch metrics in ``history_``.
:class:`~skfer.inspection.TrainingCurvesDisplay` draws accuracy and loss per
epoch, training against validation (the held-out ``validation_fraction``),
one column per model, with shared y axes so the models compare at a glance.

By default this runs in seconds on synthetic faces
(:func:`~skfer.datasets.make_expressions`); set the environment variable
``SKFER_FER2013`` to the FER2013 data to use its ``Training`` split instead.
"""

# %%
# Two small networks
# ------------------
import os

import matplotlib.pyplot as plt

from skfer import FERCNNClassifier, FERDNNClassifier
from skfer.datasets import load_fer2013, make_expressions
from skfer.inspection import TrainingCurvesDisplay

if "SKFER_FER2013" in os.environ:
    X, y = load_fer2013(os.environ["SKFER_FER2013"], usage="Training", return_X_y=True)
else:
    X, y = make_expressions(700, random_state=0)

common = dict(batch_size=32, epochs=10, patience=None, random_state=0)
cnn = FERCNNClassifier(
    conv_filters=(16,) * 6,
    dense_units=(64,),
    conv_dropout=0.0,
    dense_dropout=0.2,
    activation="elu",
    **common,
).fit(X, y)
dnn = FERDNNClassifier(hidden_units=(256, 128), dropout=0.2, **common).fit(X, y)

# %%
# The curves
# ----------
# Validation curves come from the 10% of the faces each classifier held out
# (split by mirror group, so no validation face is a training face's mirror).
# On the synthetic faces, whose features move from face to face, the dense
# network stays near chance while the CNN learns: the study's point in small.
disp = TrainingCurvesDisplay.from_estimator({"CNN": cnn, "DNN": dnn})
disp.figure_.suptitle("accuracy and loss per epoch")

# %%
# Or from saved histories
# -----------------------
# ``from_history`` takes the ``history_`` dicts themselves, e.g. loaded from
# JSON after a long run.
TrainingCurvesDisplay.from_history([cnn.history_], names=["CNN"])
plt.show()
