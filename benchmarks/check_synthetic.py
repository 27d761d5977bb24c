"""Is ``make_expressions`` learnable by a CNN but not by a linear model?

Trains a small plain-Keras CNN and scikit-learn's ``LogisticRegression`` (raw
pixels scaled to [0, 1], default settings) on the same synthetic faces and
prints both held-out accuracies and the wall-clock times. Deliberately uses
plain Keras, not skfer's classifiers, so it checks the data set alone.

Run from the repository root (after ``make venv``, or with ``PYTHONPATH=.``)::

    .venv/bin/python benchmarks/check_synthetic.py            # defaults
    .venv/bin/python benchmarks/check_synthetic.py --json out.json

Expected: CNN accuracy > 0.90 within about a minute on 2 CPU cores, linear
accuracy clearly lower (< 0.60). Measured with the defaults on 2 busy cores:
LogisticRegression 0.497 (1.8 s), CNN 0.977 (20-28 s of training).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from skfer.datasets import make_expressions


def build_cnn(seed: int):
    """A small CNN: 3 conv layers (16, 32, 32 filters), one dense layer."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(2304,)),
            layers.Reshape((48, 48, 1)),
            layers.Rescaling(1.0 / 255.0),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(7, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=2500)
    parser.add_argument("--n-test", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    X, y = make_expressions(args.n_train + args.n_test, random_state=args.seed)
    t_data = time.perf_counter() - t0
    X_train, X_test = X[: args.n_train], X[args.n_train :]
    y_train, y_test = y[: args.n_train], y[args.n_train :]

    t0 = time.perf_counter()
    # one BLAS thread: on a busy 2-core machine more make lbfgs ~10x slower
    with threadpool_limits(1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        linear = LogisticRegression().fit(X_train / 255.0, y_train)
    linear_acc = float(linear.score(X_test / 255.0, y_test))
    t_linear = time.perf_counter() - t0

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    t0 = time.perf_counter()
    model = build_cnn(args.seed)
    history = model.fit(
        X_train.astype("float32"),
        y_train,
        epochs=args.epochs,
        batch_size=args.batch_size,
        verbose=0,
    )
    t_cnn = time.perf_counter() - t0
    _, cnn_acc = model.evaluate(X_test.astype("float32"), y_test, verbose=0)

    results = {
        "n_train": args.n_train,
        "n_test": args.n_test,
        "epochs": args.epochs,
        "seed": args.seed,
        "cpu_count": os.cpu_count(),
        "machine": platform.platform(),
        "data_seconds": round(t_data, 3),
        "linear_accuracy": round(linear_acc, 4),
        "linear_seconds": round(t_linear, 2),
        "cnn_accuracy": round(float(cnn_acc), 4),
        "cnn_train_accuracy": round(float(history.history["accuracy"][-1]), 4),
        "cnn_seconds": round(t_cnn, 2),
    }
    print(f"{'model':<28}{'test accuracy':>14}{'seconds':>10}")
    print(f"{'LogisticRegression (pixels)':<28}{linear_acc:>14.3f}{t_linear:>10.1f}")
    print(f"{'small CNN (keras)':<28}{cnn_acc:>14.3f}{t_cnn:>10.1f}")
    print(
        f"({args.n_train} train / {args.n_test} test faces, "
        f"{args.epochs} epochs, generated in {t_data:.2f} s)"
    )
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)
    return results


if __name__ == "__main__":
    main()
