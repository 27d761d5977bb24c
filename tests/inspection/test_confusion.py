"""FERConfusionMatrixDisplay: scikit-learn's display with FER defaults."""

import numpy as np
import pytest
from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix, recall_score

from skfer.datasets import EMOTIONS
from skfer.inspection import FERConfusionMatrixDisplay


def test_from_estimator_defaults(trained_cnn, expressions_test, pyplot):
    X, y = expressions_test
    disp = FERConfusionMatrixDisplay.from_estimator(trained_cnn, X, y)
    assert isinstance(disp, ConfusionMatrixDisplay)
    assert list(disp.display_labels) == list(EMOTIONS)
    y_pred = trained_cnn.predict(X)
    np.testing.assert_allclose(
        disp.confusion_matrix, confusion_matrix(y, y_pred, normalize="true")
    )
    np.testing.assert_array_equal(disp.counts, confusion_matrix(y, y_pred))
    np.testing.assert_allclose(disp.recall, recall_score(y, y_pred, average=None))
    # axes: FER names, true-class labels carry their recall
    assert [t.get_text() for t in disp.ax_.get_xticklabels()] == list(EMOTIONS)
    ylabels = [t.get_text() for t in disp.ax_.get_yticklabels()]
    assert ylabels[3] == f"Happy\n(recall {disp.recall[3]:.0%})"
    assert disp.text_[0, 0].get_text() == f"{disp.confusion_matrix[0, 0]:.2f}"
    assert len(disp.highlights_) == len(disp.most_confused(3))


def test_most_confused_pairs(pyplot):
    y_true = [0] * 10 + [3] * 10 + [6] * 10
    y_pred = [0] * 6 + [6] * 4 + [3] * 10 + [6] * 8 + [3] * 2
    disp = FERConfusionMatrixDisplay.from_predictions(y_true, y_pred, highlight=2)
    assert disp.display_labels == ["Angry", "Happy", "Neutral"]
    assert disp.most_confused(5) == [
        ("Angry", "Neutral", 0.4),
        ("Neutral", "Happy", 0.2),
    ]
    frame = disp.highlights_[0]  # the Angry -> Neutral cell: row 0, column 2
    assert frame.get_xy() == (1.5, -0.5)
    np.testing.assert_allclose(disp.recall, [0.6, 1.0, 0.8])
    # counts instead of rates: same recall and pairs, integer cells
    counts = FERConfusionMatrixDisplay.from_predictions(y_true, y_pred, normalize=None)
    assert counts.text_[0, 2].get_text() == "4"
    np.testing.assert_allclose(counts.recall, disp.recall)
    # built from a matrix alone, as scikit-learn's display
    bare = FERConfusionMatrixDisplay(confusion_matrix(y_true, y_pred)).plot()
    assert bare.most_confused(1) == [(0, 2, 0.4)]


def test_pipeline_and_all_classes(mirror_pipeline, expressions_test, pyplot):
    X, y = expressions_test
    keep = y != 1  # no Disgust among the true labels
    disp = FERConfusionMatrixDisplay.from_estimator(mirror_pipeline, X[keep], y[keep])
    assert disp.confusion_matrix.shape == (7, 7)  # the classifier's classes_
    assert np.isnan(disp.recall[1])


@pytest.fixture(params=["from_estimator", "from_predictions"])
def constructor(request, trained_cnn, expressions_test):
    X, y = expressions_test

    def make(**kwargs):
        if request.param == "from_estimator":
            return FERConfusionMatrixDisplay.from_estimator(trained_cnn, X, y, **kwargs)
        return FERConfusionMatrixDisplay.from_predictions(y, y[::-1], **kwargs)

    return make


def test_confusion_matrix_validation(constructor, pyplot):
    with pytest.raises(ValueError, match="normalize must be one of"):
        constructor(normalize="rows")
    with pytest.raises(ValueError, match="At least one label specified must be in"):
        constructor(labels=[10, 11])


def test_from_estimator_needs_a_classifier(expressions_test, pyplot):
    from sklearn.linear_model import LinearRegression

    X, y = expressions_test
    reg = LinearRegression().fit(X[:20], y[:20])
    with pytest.raises(ValueError, match="only supports classifiers"):
        FERConfusionMatrixDisplay.from_estimator(reg, X, y)
