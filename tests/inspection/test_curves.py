"""TrainingCurvesDisplay."""

import numpy as np
import pytest

from skfer import FERCNNClassifier
from skfer.inspection import TrainingCurvesDisplay

HISTORY = {
    "accuracy": [0.3, 0.5, 0.6],
    "loss": [1.8, 1.2, 1.0],
    "val_accuracy": [0.35, 0.45, 0.5],
    "val_loss": [1.7, 1.4, 1.3],
}


def test_cnn_and_dnn_side_by_side(trained_cnn, trained_dnn, pyplot):
    disp = TrainingCurvesDisplay.from_estimator([trained_cnn, trained_dnn])
    assert disp.names == ["FERCNNClassifier", "FERDNNClassifier"]
    assert disp.ax_.shape == (2, 2)
    assert [a.get_title() for a in disp.ax_[0]] == disp.names
    assert [a.get_ylabel() for a in disp.ax_[:, 0]] == ["accuracy", "loss"]
    line = disp.lines_[0, "val_loss"]
    np.testing.assert_allclose(line.get_ydata(), trained_cnn.history_["val_loss"])
    np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 11))  # epochs
    assert len(disp.lines_) == 8  # 2 models x (train, val) x (accuracy, loss)
    for row in disp.ax_:  # rows share their y range
        assert row[0].get_ylim() == row[1].get_ylim()


def test_from_history_and_pipeline(mirror_pipeline, pyplot):
    disp = TrainingCurvesDisplay.from_history({"study": HISTORY, "other": HISTORY})
    assert disp.names == ["study", "other"]
    fig, ax = pyplot.subplots(2, 1)
    no_val = {"accuracy": [0.2, 0.4], "loss": [2.0, 1.5]}
    disp = TrainingCurvesDisplay.from_history(no_val, names="mine", ax=ax)
    assert disp.figure_ is fig and set(disp.lines_) == {(0, "accuracy"), (0, "loss")}
    disp = TrainingCurvesDisplay.from_estimator({"mirrored": mirror_pipeline})
    assert disp.names == ["mirrored"]
    assert disp.histories[0]["loss"].shape == (1,)


@pytest.fixture(params=["from_estimator", "from_history"])
def constructor(request, trained_cnn):
    """Call either constructor with the same (possibly bad) inputs."""

    def make(source=None, **kwargs):
        if request.param == "from_estimator":
            source = trained_cnn if source is None else source
            return TrainingCurvesDisplay.from_estimator(source, **kwargs)
        if source is None:
            source = trained_cnn.history_
        elif isinstance(source, FERCNNClassifier):  # an unfitted estimator
            source = {}
        return TrainingCurvesDisplay.from_history(source, **kwargs)

    return make


def test_training_curves_validation(constructor, pyplot):
    with pytest.raises(ValueError, match="one entry per history: got 2 names for 1"):
        constructor(names=["a", "b"])
    with pytest.raises(ValueError, match=r"no history_|has no \['accuracy', 'loss'\]"):
        constructor(FERCNNClassifier())
    with pytest.raises(ValueError, match=r"draws on 2 axes \(2 x 1\)"):
        constructor(ax=pyplot.subplots(1, 3)[1])


def test_history_must_be_dicts(pyplot):
    with pytest.raises(TypeError, match="Each history must be a dict"):
        TrainingCurvesDisplay.from_history([HISTORY, [0.1, 0.2]])
    with pytest.raises(ValueError, match="at least one history"):
        TrainingCurvesDisplay.from_history([])
