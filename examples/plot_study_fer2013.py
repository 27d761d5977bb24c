"""
========================================
Reproducing the FER2013 study with skfer
========================================

The study end to end: train its CNN and DNN on mirror-augmented faces,
compare them on held-out faces, combine them by soft voting and stacking,
look at the confusion matrix, and measure how optimistic the study's own
validation protocol (mirror, *then* split) was.

By default the script runs on synthetic faces from
:func:`~skfer.datasets.make_expressions` with small networks, so that the
documentation build checks every step in well under a minute. To reproduce
the study, point ``SKFER_FER2013`` at FER2013 (the Kaggle CSV or its image
folders): it then trains the study's networks with their default settings on
the ``Training`` split and evaluates on ``PublicTest``::

    SKFER_FER2013=/path/to/fer2013.csv.gz python examples/plot_study_fer2013.py

That trains three full-size networks: hours on a CPU, use a GPU if you can.
"""

# %%
# Data
# ----
import os
import time

import matplotlib.pyplot as plt

from skfer.datasets import load_fer2013, make_expressions

FER2013 = os.environ.get("SKFER_FER2013")
if FER2013:
    X_train, y_train = load_fer2013(FER2013, usage="Training", return_X_y=True)
    X_test, y_test = load_fer2013(FER2013, usage="PublicTest", return_X_y=True)
else:
    X_train, y_train = make_expressions(420, random_state=0)
    X_test, y_test = make_expressions(350, random_state=1)
print(f"{len(X_train)} training faces, {len(X_test)} test faces")

# %%
# The study's two networks
# ------------------------
# Each network is trained on the training faces and their mirror images
# (:class:`~skfer.MirrorSampler` in an imbalanced-learn pipeline), with early
# stopping on 10% of the training faces, split by mirror group so that no
# validation face is the mirror of a training face. With ``SKFER_FER2013`` set
# these are exactly the study's networks and training settings (the
# classifiers' defaults).
from imblearn.pipeline import make_pipeline

from skfer import FERCNNClassifier, FERDNNClassifier, MirrorSampler

if FER2013:
    cnn_params, dnn_params = {}, {}
else:  # small networks: seconds each on a CPU
    cnn_params = dict(
        conv_filters=(16,) * 6,
        dense_units=(64,),
        conv_dropout=0.0,
        dense_dropout=0.2,
        activation="elu",
        learning_rate=2e-3,
        batch_size=32,
        epochs=6,
    )
    dnn_params = dict(
        hidden_units=(256, 128),
        dropout=0.2,
        activation="elu",
        batch_size=32,
        epochs=4,
    )

models = {
    "CNN": make_pipeline(
        MirrorSampler(), FERCNNClassifier(**cnn_params, random_state=0)
    ),
    "DNN": make_pipeline(
        MirrorSampler(), FERDNNClassifier(**dnn_params, random_state=0)
    ),
}
results = {}
for name, model in models.items():
    start = time.perf_counter()
    model.fit(X_train, y_train)
    clf = model[-1]
    results[name] = {
        "epochs": clf.n_iter_,
        "minutes": (time.perf_counter() - start) / 60,
        "validation accuracy": max(clf.history_["val_accuracy"]),
        "test accuracy": model.score(X_test, y_test),
    }
    print(
        f"{name}: {clf.n_iter_} epochs in {results[name]['minutes']:.1f} min, "
        f"test accuracy {results[name]['test accuracy']:.3f}"
    )

# %%
# Training curves of both networks:
from skfer.inspection import TrainingCurvesDisplay

display = TrainingCurvesDisplay.from_estimator(
    [model[-1] for model in models.values()], names=list(models)
)
display.figure_.set_size_inches(9, 5)

# %%
# Ensembles
# ---------
# Soft voting averages the two networks' probabilities. They are already
# trained, so they are wrapped in :class:`~sklearn.frozen.FrozenEstimator`
# (``fit`` does nothing). A stacking model learns the combination with a
# logistic regression; it must be trained on faces the networks have not
# seen, so it is evaluated by 5-fold cross-validation on the test faces (the
# networks stay frozen; only the logistic regression is refitted per fold).
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

frozen = [(name, FrozenEstimator(model)) for name, model in models.items()]
vote = VotingClassifier(frozen, voting="soft").fit(X_train, y_train)
results["soft vote"] = {"test accuracy": vote.score(X_test, y_test)}

stack = StackingClassifier(frozen, final_estimator=LogisticRegression(max_iter=1000))
stack_scores = cross_val_score(stack, X_test, y_test, cv=5)
results["stacking"] = {"test accuracy": float(stack_scores.mean())}
for name in ("soft vote", "stacking"):
    print(f"{name}: test accuracy {results[name]['test accuracy']:.3f}")

# %%
# Confusion matrix
# ----------------
# Rows are true classes, normalised to 1: the diagonal is each class's
# recall. The framed cells are the most frequent confusions.
from skfer.inspection import FERConfusionMatrixDisplay

best = max(models, key=lambda name: results[name]["test accuracy"])
fig, ax = plt.subplots(figsize=(8, 6.5))
cm = FERConfusionMatrixDisplay.from_estimator(
    models[best], X_test, y_test, ax=ax, xticks_rotation=45
)
ax.set_title(f"{best}, test faces")
fig.tight_layout()
# sphinx_gallery_thumbnail_number = 2
print("most confused (true, predicted, rate):", cm.most_confused(3))

# %%
# How optimistic was the study's validation?
# ------------------------------------------
# The study mirrored all training faces first and then split 10% off at random
# for validation, so most validation faces had their mirror among the training
# faces. Train the CNN that way once more, and compare how much each protocol's
# validation accuracy overstates the accuracy on the test faces.
from sklearn.model_selection import train_test_split

X_aug, y_aug = MirrorSampler().fit_resample(X_train, y_train)
X_fit, X_val, y_fit, y_val = train_test_split(
    X_aug, y_aug, test_size=0.1, stratify=y_aug, random_state=0
)
naive = FERCNNClassifier(**cnn_params, random_state=0)
naive.fit(X_fit, y_fit, validation_data=(X_val, y_val))
results["CNN, study's split"] = {
    "epochs": naive.n_iter_,
    "validation accuracy": max(naive.history_["val_accuracy"]),
    "test accuracy": naive.score(X_test, y_test),
}

for name in ("CNN", "CNN, study's split"):
    r = results[name]
    gap = r["validation accuracy"] - r["test accuracy"]
    print(
        f"{name:>20}: validation {r['validation accuracy']:.3f}, "
        f"test {r['test accuracy']:.3f}, validation - test {gap:+.3f}"
    )

# %%
# Summary
# -------
fig, ax = plt.subplots(figsize=(7, 3))
names = list(results)
bars = ax.barh(names, [results[n]["test accuracy"] for n in names])
ax.bar_label(bars, fmt="%.3f", padding=3)
ax.axvline(1 / 7, color="grey", linestyle="--", label="chance")
ax.set_xlim(0, 1.1)
ax.set_xlabel("test accuracy")
ax.invert_yaxis()
ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
fig.tight_layout()
plt.show()
