"""Fixtures of the inspection tests: pyplot, fitted models, faces with masks."""

import numpy as np
import pytest


@pytest.fixture
def pyplot():
    """matplotlib.pyplot on the Agg backend; closes every figure afterwards."""
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    yield plt
    plt.close("all")


@pytest.fixture(scope="session")
def trained_cnn(expressions):
    """A tiny CNN that has learned the synthetic faces (> 0.9 held out, ~10 s).

    The settings are tests/conftest.py's ``tiny_cnn`` defaults with its
    ``LEARNER`` settings (a session fixture cannot use those function-scoped
    fixtures, hence the copy).
    """
    from skfer import FERCNNClassifier

    X, y = expressions
    return FERCNNClassifier(
        conv_filters=(16,) * 6,
        dense_units=(64,),
        conv_dropout=0.0,
        dense_dropout=0.2,
        epochs=10,
        patience=None,
        activation="elu",
        batch_size=32,
        random_state=0,
    ).fit(X, y)


@pytest.fixture(scope="session")
def trained_dnn(expressions):
    """A tiny fitted DNN (2 epochs, seconds)."""
    from skfer import FERDNNClassifier

    X, y = expressions
    return FERDNNClassifier(
        hidden_units=(32,), epochs=2, batch_size=64, random_state=0
    ).fit(X, y)


@pytest.fixture(scope="session")
def mirror_pipeline(expressions):
    """``make_pipeline(MirrorSampler(), <tiny_cnn>)`` fitted for one epoch."""
    from imblearn.pipeline import make_pipeline

    from skfer import FERCNNClassifier, MirrorSampler

    X, y = expressions
    clf = FERCNNClassifier(
        conv_filters=(8,) * 6,
        dense_units=(16,),
        epochs=1,
        batch_size=32,
        activation="elu",
        random_state=0,
    )
    return make_pipeline(MirrorSampler(), clf).fit(X[:210], y[:210])


@pytest.fixture(scope="session")
def faces_with_masks():
    """``expressions_test``'s 350 faces with their signal masks (n, 2304) bool."""
    from skfer.datasets import make_expressions

    return make_expressions(350, random_state=1, return_masks=True)


@pytest.fixture
def faces(expressions_test):
    """Eight held-out faces, uint8 (8, 2304)."""
    return np.asarray(expressions_test[0][:8])
