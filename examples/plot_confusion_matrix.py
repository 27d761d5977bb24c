"""
=======================================
Confusion matrix, normalised by class
=======================================

Which expressions does a network confuse?
:class:`~skfer.inspection.FERConfusionMatrixDisplay` is scikit-learn's
:class:`~sklearn.metrics.ConfusionMatrixDisplay` with the defaults of the
study: rows normalised by true class (each row is the fate of one
expression), the FER2013 class names on the axes, the recall of each class
next to its name and frames around the most confused cells.

By default this runs in seconds on synthetic faces
(:func:`~skfer.datasets.make_expressions`); set the environment variable
``SKFER_FER2013`` to the FER2013 data to use its ``Training`` split instead.
"""

# %%
# Data and a small CNN
# --------------------
import os

import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split

from skfer import FERCNNClassifier
from skfer.datasets import load_fer2013, make_expressions
from skfer.inspection import FERConfusionMatrixDisplay

if "SKFER_FER2013" in os.environ:
    X, y = load_fer2013(os.environ["SKFER_FER2013"], usage="Training", return_X_y=True)
    epochs = 8
else:
    X, y = make_expressions(1000, random_state=0)
    epochs = 10
X_train, X_test, y_train, y_test = train_test_split(
    X, y, test_size=0.3, stratify=y, random_state=0
)
clf = FERCNNClassifier(
    conv_filters=(16, 16, 16, 32, 32, 32),
    dense_units=(64,),
    conv_dropout=0.0,
    dense_dropout=0.2,
    activation="elu",
    batch_size=32,
    epochs=epochs,
    patience=None,
    random_state=0,
).fit(X_train, y_train)
print(f"held-out accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# The matrix
# ----------
# Each row sums to one; the diagonal is the per-class recall, repeated next to
# the class name. The red frames mark the three most confused pairs.
disp = FERConfusionMatrixDisplay.from_estimator(clf, X_test, y_test)
disp.ax_.set_title("CNN, normalised by true class")

for true, predicted, rate in disp.most_confused(3):
    print(f"{true:>8} taken for {predicted:<8} {rate:.0%}")

# %%
# From predictions, in counts
# ---------------------------
# ``from_predictions`` takes labels you already have; ``normalize=None``
# shows counts (the recall and the confused pairs are the same).
fig, ax = plt.subplots(figsize=(7, 6))
FERConfusionMatrixDisplay.from_predictions(
    y_test, clf.predict(X_test), normalize=None, ax=ax, highlight=0
)
plt.show()
