"""
==========================================
Soft voting and stacking of CNNs and a DNN
==========================================

skfer's classifiers are scikit-learn classifiers, so scikit-learn's own
ensembles combine them: :class:`~sklearn.ensemble.VotingClassifier` averages
the members' class probabilities ("soft" voting), and
:class:`~sklearn.ensemble.StackingClassifier` learns how to combine them with
a :class:`~sklearn.linear_model.LogisticRegression`.

By default the example runs on synthetic faces from
:func:`~skfer.datasets.make_expressions` with small networks, in well under a
minute on a CPU. Set the environment variable ``SKFER_FER2013`` to FER2013 to
train the study's networks on its ``Training`` split and evaluate on
``PublicTest`` instead (hours on a CPU).
"""

# %%
# Data
# ----
# Three sets of faces: one to train the members, one on which the stacking
# model learns to combine them (faces the members have not seen), one to
# test everything.
import os

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from skfer.datasets import load_fer2013, make_expressions

FER2013 = os.environ.get("SKFER_FER2013")
if FER2013:
    X_train, y_train = load_fer2013(FER2013, usage="Training", return_X_y=True)
    X_other, y_other = load_fer2013(FER2013, usage="PublicTest", return_X_y=True)
    X_blend, X_test, y_blend, y_test = train_test_split(
        X_other, y_other, test_size=0.5, stratify=y_other, random_state=0
    )
else:
    X_train, y_train = make_expressions(560, random_state=0)
    X_blend, y_blend = make_expressions(350, random_state=1)
    X_test, y_test = make_expressions(350, random_state=2)
print(f"train {len(X_train)}, blend {len(X_blend)}, test {len(X_test)} faces")

# %%
# Soft voting
# -----------
# Two CNNs that differ only in their random seed, and a DNN. Fitting the
# :class:`~sklearn.ensemble.VotingClassifier` trains each member once.
from sklearn.ensemble import VotingClassifier

from skfer import FERCNNClassifier, FERDNNClassifier

if FER2013:  # the study's networks and settings
    cnn = dict()
    dnn = FERDNNClassifier(random_state=3)
else:  # small networks, seconds each on a CPU
    cnn = dict(
        conv_filters=(16,) * 6,
        dense_units=(64,),
        conv_dropout=0.0,
        dense_dropout=0.2,
        activation="elu",
        learning_rate=2e-3,
        batch_size=32,
        epochs=7,
        patience=None,
    )
    dnn = FERDNNClassifier(
        hidden_units=(256, 128),
        dropout=0.2,
        activation="elu",
        batch_size=32,
        epochs=5,
        patience=None,
        random_state=3,
    )
members = [
    ("CNN seed 1", FERCNNClassifier(**cnn, random_state=1)),
    ("CNN seed 2", FERCNNClassifier(**cnn, random_state=2)),
    ("DNN", dnn),
]
vote = VotingClassifier(members, voting="soft").fit(X_train, y_train)

scores = {
    name: est.score(X_test, y_test) for name, est in vote.named_estimators_.items()
}
scores["soft vote"] = vote.score(X_test, y_test)
for name, score in scores.items():
    print(f"{name:>12}: {score:.3f}")

# %%
# On the synthetic faces, whose position, size and rotation vary, the DNN does
# little better than chance: unlike the CNN it has nothing that makes it
# insensitive to where a mouth or a brow is. Soft voting gives it as much say
# as each CNN all the same.
#
# Stacking
# --------
# A :class:`~sklearn.ensemble.StackingClassifier` trains its final estimator on
# the members' probabilities for faces they were not trained on. Given
# untrained members it does that by cross-validation, training each member
# ``cv + 1`` times. The members are already trained here, so wrap them in
# :class:`~sklearn.frozen.FrozenEstimator` (whose ``fit`` does nothing) and fit
# the stack on the blending faces, which the members have not seen.
from sklearn.ensemble import StackingClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression

stack = StackingClassifier(
    [(name, FrozenEstimator(est)) for name, est in vote.named_estimators_.items()],
    final_estimator=LogisticRegression(max_iter=1000),
)
stack.fit(X_blend, y_blend)
scores["stacking"] = stack.score(X_test, y_test)
print(f"{'stacking':>12}: {scores['stacking']:.3f}")

# %%
# The stacking model learns how much to trust each member. The size of its
# logistic-regression weights on each member's seven probabilities shows it:
coef = np.abs(stack.final_estimator_.coef_).reshape(7, len(members), 7)
weight = coef.sum(axis=(0, 2))
for (name, _), w in zip(members, weight / weight.sum(), strict=True):
    print(f"{name:>12}: {w:.0%} of the weight")

# %%
# Test accuracy of every model:
fig, ax = plt.subplots(figsize=(7, 3))
names = list(scores)
bars = ax.barh(names, [scores[n] for n in names], color=["C0"] * 3 + ["C1"] * 2)
ax.bar_label(bars, fmt="%.3f", padding=3)
ax.axvline(1 / 7, color="grey", linestyle="--", label="chance")
ax.set_xlim(0, 1.1)
ax.set_xlabel("test accuracy")
ax.invert_yaxis()
ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
fig.tight_layout()
plt.show()
