"""Shared fixtures. Sections: models and synthetic data; FER2013 data paths."""

import os
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

# --------------------------------------------------------------------------
# Tiny models and synthetic data (keep unit tests at seconds, not minutes)
# --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def expressions():
    """700 synthetic faces: (X uint8 (700, 2304), y int in 0..6)."""
    from skfer.datasets import make_expressions

    return make_expressions(700, random_state=0)


@pytest.fixture(scope="session")
def expressions_test():
    """350 held-out synthetic faces from another seed."""
    from skfer.datasets import make_expressions

    return make_expressions(350, random_state=1)


@pytest.fixture
def tiny_cnn():
    """Factory of small, fast, seeded CNN classifiers."""
    from skfer import FERCNNClassifier

    def make(**params):
        defaults = dict(
            conv_filters=(8, 8, 8, 8, 8, 8),
            dense_units=(16,),
            epochs=2,
            batch_size=32,
            activation="elu",  # ReLU nets this small can die on 700 faces
            random_state=0,
        )
        return FERCNNClassifier(**{**defaults, **params})

    return make


#: settings with which a tiny CNN learns the synthetic faces in seconds
LEARNER = dict(
    conv_filters=(16,) * 6,
    dense_units=(64,),
    conv_dropout=0.0,
    dense_dropout=0.2,
    epochs=10,
    patience=None,
)


@pytest.fixture
def learner():
    """Keyword arguments that make ``tiny_cnn`` actually learn (~10 s)."""
    return dict(LEARNER)


@pytest.fixture
def tiny_dnn():
    """Factory of small, fast, seeded DNN classifiers."""
    from skfer import FERDNNClassifier

    def make(**params):
        defaults = dict(hidden_units=(32,), epochs=2, batch_size=64, random_state=0)
        return FERDNNClassifier(**{**defaults, **params})

    return make


# --------------------------------------------------------------------------
# FER2013 data paths (real data from ../shared, never copied into the repo)
# --------------------------------------------------------------------------

#: <repo>/../shared/data/fer2013, computed from this file's location
SHARED_FER2013 = (
    Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "fer2013"
)


@pytest.fixture(scope="session", autouse=True)
def _skfer_data_home(tmp_path_factory):
    """Point ``SKFER_DATA`` (downloads, parsed-data cache) at a session folder.

    Tests never write to the real ``~/skfer_data``; loads of the same file in
    one session share the cache.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SKFER_DATA", str(tmp_path_factory.mktemp("skfer_data")))
        yield


@pytest.fixture(scope="session")
def fer2013_dir():
    """The FER2013 data folder: ``$SKFER_FER2013``, else ``../shared/data/fer2013``.

    If ``SKFER_FER2013`` names a file, its folder is used. Skipped when
    missing, except on CI (``CI=true``), where it fails.
    """
    path = Path(os.environ.get("SKFER_FER2013") or SHARED_FER2013)
    if path.is_file():
        path = path.parent
    if not path.exists():
        message = (
            f"FER2013 data not found at {path}; set SKFER_FER2013 or provide "
            f"../shared/data/fer2013."
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path
