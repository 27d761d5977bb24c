"""skfer classifiers inside scikit-learn's own ensembles, searches and displays."""

import numpy as np
import pytest
from imblearn.pipeline import make_pipeline
from sklearn.ensemble import StackingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import ConfusionMatrixDisplay
from sklearn.model_selection import GridSearchCV, cross_val_score

from skfer import MirrorSampler


def test_soft_voting_averages_members(expressions, tiny_cnn, tiny_dnn):
    X, y = expressions
    members = [
        ("cnn_a", tiny_cnn(random_state=1)),
        ("cnn_b", tiny_cnn(random_state=2)),
        ("dnn", tiny_dnn()),
    ]
    vote = VotingClassifier(members, voting="soft", weights=[2, 1, 1]).fit(X, y)
    probas = [est.predict_proba(X[:10]) for est in vote.estimators_]
    expected = (2 * probas[0] + probas[1] + probas[2]) / 4
    np.testing.assert_allclose(vote.predict_proba(X[:10]), expected, atol=1e-6)
    np.testing.assert_array_equal(vote.classes_, np.arange(7))


def test_stacking_learns_a_linear_combination(expressions, tiny_cnn):
    X, y = expressions
    stack = StackingClassifier(
        [("a", tiny_cnn(random_state=1)), ("b", tiny_cnn(random_state=2))],
        final_estimator=LogisticRegression(max_iter=200),
        cv=2,
    ).fit(X, y)
    assert stack.final_estimator_.coef_.shape == (7, 14)  # 2 members x 7 probas
    assert stack.predict(X[:5]).shape == (5,)


@pytest.mark.slow
def test_grid_search_in_processes_over_a_pipeline(expressions, tiny_cnn):
    X, y = expressions
    X, y = X[:280], y[:280]
    pipe = make_pipeline(MirrorSampler(), tiny_cnn(epochs=1))
    search = GridSearchCV(
        pipe, {"fercnnclassifier__dense_units": [(8,), (16,)]}, cv=2, n_jobs=2
    ).fit(X, y)
    assert search.best_params_["fercnnclassifier__dense_units"] in [(8,), (16,)]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    assert search.best_estimator_.predict(X[:3]).shape == (3,)


@pytest.mark.slow
def test_cross_val_score_in_processes(expressions, tiny_dnn):
    X, y = expressions
    scores = cross_val_score(tiny_dnn(epochs=1), X, y, cv=2, n_jobs=2)
    assert scores.shape == (2,) and np.all((scores >= 0) & (scores <= 1))


def test_sklearn_confusion_matrix_display_accepts_it(expressions, tiny_dnn):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    X, y = expressions
    clf = tiny_dnn().fit(X, y)
    disp = ConfusionMatrixDisplay.from_estimator(clf, X, y, normalize="true")
    assert disp.confusion_matrix.shape == (7, 7)
    plt.close("all")
