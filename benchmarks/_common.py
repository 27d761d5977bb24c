"""Helpers shared by the benchmark scripts (not part of skfer).

- :func:`load_training_subset`: a seeded, class-mixed subset of FER2013's
  Training faces (the shared file is sorted by class, so a plain ``[:n]``
  would be all anger);
- :func:`study_cnn` / :func:`study_dnn`: the study's networks written as the
  study wrote them, in plain Keras, taking ``X / 255`` as float32 (the CNN as
  ``(n, 48, 48, 1)`` images) and ending in ``Dense(7, activation="softmax")``;
  the baselines of the throughput benchmarks;
- :class:`StepTimer`: a Keras callback that timestamps training steps (wall
  and process CPU time), from which the steady-state images/s is computed;
- :func:`machine`: platform, CPU count and load average.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
RESULTS_DIR = REPO / "benchmarks" / "results"
#: Finished runs kept as float16 weights + card (``make_pretrained.py --out``).
MODELS_DIR = REPO / "benchmarks" / "models"
#: Where ``accuracy.py`` checkpoints runs and saves their models (not committed).
RUNS_DIR = REPO / "runs" / "accuracy"
#: Recipes of ``accuracy.py`` whose classifier augments in its own input
#: pipeline (no sampler) and predicts with mirror TTA.
MODERN = ("vgg", "resnet", "densenet")
#: Seed of the split made by :func:`holdout_split`: fixed, not the run's seed,
#: so that every run holding out the same fraction holds out the same faces.
HOLDOUT_SEED = 0
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_data import find_data  # noqa: E402  (the data lookup of bench_data)

#: Parameters of the study's networks for 7 classes (checked by the builders).
CNN_PARAMS = 4_087_323
DNN_PARAMS = 5_447_687


def hold_lock(path: Path):
    """``path`` opened and locked for this process alone, or None if another holds it.

    The lock lasts until the returned file is closed or the process ends.
    """
    lock = Path(path).open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    return lock


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages, rounded."""
    return [round(x, 2) for x in os.getloadavg()]


def machine() -> dict:
    """Where the benchmark ran."""
    info = {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "processor": platform.processor() or None,
    }
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    info["processor"] = line.split(":", 1)[1].strip()
                elif line.startswith("flags"):
                    # the vector units that decide float32 / bfloat16 speed
                    info["vector_flags"] = sorted(
                        f
                        for f in line.split(":", 1)[1].split()
                        if f.startswith(("avx", "amx")) or f == "fma"
                    )
                    break
    except OSError:
        pass
    return info


def load_training_subset(n: int | None, *, seed: int = 0, usage: str = "Training"):
    """Return ``(X, y)``: ``n`` random faces of ``usage`` (None: all, in file order).

    Raises FileNotFoundError when FER2013 cannot be found.
    """
    from skfer.datasets import load_fer2013

    path = find_data()
    if path is None:
        raise FileNotFoundError(
            "FER2013 not found: set SKFER_FER2013 or provide ../shared/data/fer2013."
        )
    bunch = load_fer2013(path, usage=usage)
    X, y = bunch.data, bunch.target
    if n is None or n >= len(y):
        return X, y
    idx = np.sort(np.random.RandomState(seed).permutation(len(y))[:n])
    idx = np.random.RandomState(seed + 1).permutation(idx)
    return X[idx], y[idx]


def holdout_split(y: np.ndarray, fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(fit, held)`` of a stratified split of the faces labelled ``y``.

    ``fraction`` of each class is held out, chosen by :data:`HOLDOUT_SEED`
    (not by a run's seed): runs holding out the same fraction of the same
    faces hold out the same ones, so their predictions on them can be
    compared and combined. Both index arrays are sorted.
    """
    from sklearn.model_selection import train_test_split

    if not 0.0 < fraction < 0.5:
        raise ValueError(f"the holdout fraction must be in (0, 0.5). Got {fraction}.")
    fit, held = train_test_split(
        np.arange(len(y)), test_size=fraction, stratify=y, random_state=HOLDOUT_SEED
    )
    return np.sort(fit), np.sort(held)


def run_model_file(run: str) -> Path:
    """Where ``accuracy.py`` saved the fitted model of run ``run``.

    A finished run's results file names it (``"model_file"``, relative to the
    repository), wherever ``--checkpoint`` put it; without one (an unfinished
    run, or none at all) the default place, ``runs/accuracy/<run>/model.joblib``.
    """
    import json

    result = RESULTS_DIR / "accuracy" / f"{run}.json"
    try:
        model_file = json.loads(result.read_text()).get("model_file")
    except (OSError, ValueError, AttributeError):
        model_file = None
    return REPO / model_file if model_file else RUNS_DIR / run / "model.joblib"


def load_fitted(spec: str):
    """A fitted classifier, what it is (text) and its card (``{}`` if none).

    ``spec`` is ``pretrained:NAME`` (shipped with skfer), a run of
    ``accuracy.py`` (its saved model, :func:`run_model_file`, if this checkout
    trained it, else its weights kept in ``benchmarks/models/<run>.json``), or
    the path of a ``.joblib`` file. Raises FileNotFoundError or ValueError
    naming what is missing.
    """
    import json

    from skfer import list_pretrained, load_model, load_pretrained

    if spec.startswith("pretrained:"):
        name = spec.split(":", 1)[1]
        cards = list_pretrained()
        if name not in cards:
            raise ValueError(
                f"no pretrained network {name!r}; choose from {sorted(cards)}"
            )
        return load_pretrained(name), f"the shipped `{name}` weights", cards[name]
    path = Path(spec)
    if path.suffix == ".joblib":
        if not path.is_file():
            raise FileNotFoundError(f"no saved model at {path}")
        return load_model(path), f"`{path}`", {}
    run_model = run_model_file(spec)
    if run_model.is_file():
        return load_model(run_model), f"run `{spec}`", {}
    card_file = MODELS_DIR / f"{spec.replace('-', '_')}.json"
    if card_file.is_file():
        clf = load_pretrained(card_file)  # SHA-256 checked
        card = json.loads(card_file.read_text())
        return clf, f"run `{spec}` (float16 weights kept in benchmarks/models)", card
    raise FileNotFoundError(
        f"no model for {spec!r}: neither {run_model} nor {card_file} exists"
    )


def study_cnn(n_classes: int = 7, seed: int = 0):
    """The study's CNN in plain Keras: input ``(48, 48, 1)`` floats in [0, 1]."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(48, 48, 1)),
            layers.Conv2D(64, 5, activation="relu"),
            layers.ZeroPadding2D(2),
            layers.MaxPooling2D(5, strides=2),
            layers.ZeroPadding2D(1),
            layers.Conv2D(64, 3, activation="relu"),
            layers.ZeroPadding2D(1),
            layers.Conv2D(64, 3, activation="relu"),
            layers.AveragePooling2D(3, strides=2),
            layers.ZeroPadding2D(1),
            layers.Dropout(0.25),
            layers.Conv2D(96, 3, activation="relu"),
            layers.ZeroPadding2D(1),
            layers.Conv2D(128, 3, activation="relu"),
            layers.ZeroPadding2D(1),
            layers.Dropout(0.25),
            layers.Conv2D(128, 3, activation="relu"),
            layers.ZeroPadding2D(1),
            layers.AveragePooling2D(3, strides=2),
            layers.Dropout(0.25),
            layers.Flatten(),
            layers.Dense(900, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(900, activation="relu"),
            layers.Dropout(0.5),
            layers.Dense(n_classes, activation="softmax"),
        ],
        name="study_cnn",
    )
    if n_classes == 7 and model.count_params() != CNN_PARAMS:
        raise AssertionError(f"study CNN has {model.count_params()} parameters")
    return model


def study_dnn(n_classes: int = 7, seed: int = 0):
    """The study's DNN in plain Keras: input ``(2304,)`` floats in [0, 1]."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    stack = [keras.Input(shape=(2304,))]
    for width in (1024, 1024, 768, 768, 512, 512):
        stack += [layers.Dense(width, activation="relu"), layers.Dropout(0.5)]
    stack.append(layers.Dense(n_classes, activation="softmax"))
    model = keras.Sequential(stack, name="study_dnn")
    if n_classes == 7 and model.count_params() != DNN_PARAMS:
        raise AssertionError(f"study DNN has {model.count_params()} parameters")
    return model


def study_inputs(X: np.ndarray, net: str) -> np.ndarray:
    """``X / 255`` as float32, reshaped to images for the CNN (the study's prep)."""
    Xf = (X / 255.0).astype(np.float32)
    return Xf.reshape(-1, 48, 48, 1) if net == "cnn" else Xf


def make_step_timer(warmup_steps: int = 3):
    """A Keras callback recording (epoch, step, wall, cpu) at each step's end."""
    import keras

    class StepTimer(keras.callbacks.Callback):
        """Timestamps of training steps; ``rate(batch_size)`` is images/s.

        The first ``warmup_steps`` steps of the first epoch (tracing, first
        allocations) are left out, and so is every interval that spans an
        epoch boundary (validation, shuffling) or ends on an epoch's last,
        possibly partial, batch.
        """

        def __init__(self):
            super().__init__()
            self.warmup_steps = warmup_steps
            self.marks: list[tuple[int, int, float, float]] = []
            self._epoch = 0

        def on_epoch_begin(self, epoch, logs=None):
            self._epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            self.marks.append(
                (self._epoch, int(batch), time.perf_counter(), time.process_time())
            )

        def intervals(self):
            marks = self.marks
            first_epoch = marks[0][0] if marks else 0
            last_step = {}
            for epoch, step, _, _ in marks:
                last_step[epoch] = max(step, last_step.get(epoch, -1))
            out = []
            for a, b in itertools.pairwise(marks):
                if a[0] != b[0] or b[1] == last_step[b[0]]:
                    continue
                if a[0] == first_epoch and a[1] < self.warmup_steps - 1:
                    continue
                out.append((b[1] - a[1], b[2] - a[2], b[3] - a[3]))
            return out

        def summary(self, batch_size: int) -> dict:
            iv = self.intervals()
            if not iv:
                return {"images_per_s": float("nan"), "steps": 0}
            steps = sum(s for s, _, _ in iv)
            wall = sum(w for _, w, _ in iv)
            cpu = sum(c for _, _, c in iv)
            images = steps * batch_size
            return {
                "images_per_s": images / wall,
                "cpu_ms_per_image": 1000.0 * cpu / images,
                "steps": steps,
                "seconds": wall,
            }

    return StepTimer()
