"""Wall-clock time for the study's CNN recipe to reach 0.60 PublicTest accuracy.

The recipe: ``make_pipeline(MirrorSampler(), FERCNNClassifier(...))`` trained
on FER2013's Training faces (28,709, mirrored to 57,418), the study's CNN with
its defaults (Adam 1e-3, batch 128, early stopping on a 10% mirror-aware
validation split with patience 5, restoring the best weights), up to
``--max-epochs`` epochs. After every epoch a callback measures the accuracy
on PublicTest (the faces of the file's ``PublicTest`` usage: 3,435 in the
shared file; never used for training or early stopping),
appends a row to the JSON result, checkpoints the network and the optimiser
state, and stops training as soon as the accuracy reaches ``--target`` or the
training time exceeds ``--max-minutes`` (checked after every batch).

Times: ``train_minutes`` is the wall-clock time spent in training epochs
(input pipeline and early-stopping validation included), summed over resumed
runs; ``setup_seconds`` the time from the start of ``fit`` to the first
training step of each run (mirroring, validation split, network building);
``eval_minutes`` the time spent on PublicTest evaluation and checkpoints
(reported apart, since it is not part of the recipe);
``minutes_to_target`` the training time at the end of the first epoch whose
PublicTest accuracy reached the target.

Resuming: when ``--checkpoint`` (default
``benchmarks/results/time_to_accuracy_ckpt/``) holds a checkpoint of the same
configuration, the run restores the network and Adam's state and continues
from the next epoch, with the time already spent carried over; ``--fresh``
starts again. The validation split is the same (it is seeded by
``--seed``); early stopping's patience counter restarts on resume.

Takes over an hour on 2 CPU cores. Run from the repository root::

    .venv/bin/python benchmarks/time_to_accuracy.py                 # the measurement
    .venv/bin/python benchmarks/time_to_accuracy.py --max-minutes 1 \\
        --out benchmarks/results/time_to_accuracy_smoke.json --fresh \\
        --checkpoint /tmp/skfer-tta-smoke                          # smoke test

Writes ``benchmarks/results/time_to_accuracy.json`` (after every epoch) and
exits non-zero only when it cannot run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import RESULTS_DIR, load_training_subset, loadavg, machine  # noqa: E402

DEFAULT_OUT = RESULTS_DIR / "time_to_accuracy.json"
DEFAULT_CKPT = RESULTS_DIR / "time_to_accuracy_ckpt"


def _config(args) -> dict:
    return {
        "target": args.target,
        "max_epochs": args.max_epochs,
        "patience": args.patience,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "seed": args.seed,
        "n_train": args.n_train,
    }


def _write_json(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, path)


def make_callback(
    state, *, X_pub, y_pub, out, ckpt_dir, deadline_s, resume_from, clock
):
    """The Keras callback that evaluates, checkpoints, times and stops."""
    import numpy as np

    from skfer._tf import keras, tf

    class TimeToAccuracy(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            if resume_from is not None:
                # Adam's slots must exist before its state can be loaded
                self.model.optimizer.build(self.model.trainable_variables)
                self.model.load_weights(resume_from)
            self._fwd = tf.function(
                lambda x: self.model(tf.cast(x, tf.float32), training=False)
            )
            self._t_epoch = time.perf_counter()
            self._stopped_for_time = False
            state.setdefault("setup_seconds", []).append(
                round(self._t_epoch - clock["fit_start"], 2)
            )

        def _train_seconds(self) -> float:
            return state["train_seconds"] + time.perf_counter() - self._t_epoch

        def on_train_batch_end(self, batch, logs=None):
            if self._train_seconds() > deadline_s:
                self._stopped_for_time = True
                self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            state["train_seconds"] = self._train_seconds()
            t0 = time.perf_counter()
            proba = np.concatenate(
                [
                    self._fwd(X_pub[i : i + 1024]).numpy()
                    for i in range(0, len(X_pub), 1024)
                ]
            )
            acc = float(np.mean(proba.argmax(axis=1) == y_pub))
            row = {
                "epoch": len(state["epochs"]) + 1,
                "train_minutes": round(state["train_seconds"] / 60, 3),
                "public_test_accuracy": round(acc, 4),
                "partial_epoch": self._stopped_for_time,
                "load_1min": loadavg()[0],
                **{k: round(float(v), 4) for k, v in (logs or {}).items()},
            }
            state["epochs"].append(row)
            if acc >= state["config"]["target"] and state["reached"] is None:
                state["reached"] = row["epoch"]
                state["minutes_to_target"] = row["train_minutes"]
                state["stopped"] = "target reached"
                self.model.stop_training = True
            elif self._stopped_for_time:
                state["stopped"] = "max-minutes"
            if ckpt_dir is not None:
                ckpt_dir.mkdir(parents=True, exist_ok=True)
                tmp = ckpt_dir / "model.tmp.keras"
                self.model.save(tmp)
                os.replace(tmp, ckpt_dir / "model.keras")
                (ckpt_dir / "state.json").write_text(json.dumps(state, indent=2))
            state["eval_seconds"] += time.perf_counter() - t0
            state["eval_minutes"] = round(state["eval_seconds"] / 60, 3)
            _write_json(out, state)
            print(
                f"epoch {row['epoch']}: {row['train_minutes']:.1f} min, "
                f"PublicTest accuracy {acc:.4f}, load {row['load_1min']}",
                flush=True,
            )
            self._t_epoch = time.perf_counter()

    return TimeToAccuracy()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", type=float, default=0.60)
    parser.add_argument(
        "--max-minutes",
        type=float,
        default=180.0,
        help="stop after this much training time (default 180)",
    )
    parser.add_argument("--max-epochs", type=int, default=100)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--n-train",
        type=int,
        default=None,
        help="train on this many random Training faces (default all)",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument(
        "--checkpoint",
        type=Path,
        default=DEFAULT_CKPT,
        help="checkpoint folder ('none' to disable)",
    )
    parser.add_argument(
        "--fresh", action="store_true", help="ignore an existing checkpoint"
    )
    args = parser.parse_args(argv)
    ckpt_dir = None if str(args.checkpoint).lower() == "none" else args.checkpoint

    try:
        X, y = load_training_subset(args.n_train, seed=args.seed)
        X_pub, y_pub = load_training_subset(None, usage="PublicTest")
    except FileNotFoundError as exc:
        print(f"time_to_accuracy: cannot run: {exc}", file=sys.stderr)
        return 2

    config = _config(args)
    resume_from = None
    state = None
    if ckpt_dir is not None and not args.fresh and (ckpt_dir / "state.json").is_file():
        saved = json.loads((ckpt_dir / "state.json").read_text())
        if saved.get("config") == config and (ckpt_dir / "model.keras").is_file():
            if saved.get("reached") is not None:
                print(f"already reached the target: {args.out}")
                _write_json(args.out, saved)
                return 0
            state, resume_from = saved, ckpt_dir / "model.keras"
            state["resumed"] = state.get("resumed", 0) + 1
            print(
                f"resuming after epoch {len(state['epochs'])} "
                f"({state['train_seconds'] / 60:.1f} min of training)"
            )
        else:
            print("checkpoint is of another configuration: starting afresh")
    if args.fresh and ckpt_dir is not None and ckpt_dir.exists():
        shutil.rmtree(ckpt_dir)
    if state is None:
        state = {
            "script": "benchmarks/time_to_accuracy.py " + " ".join(sys.argv[1:]),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": machine(),
            "load_average_before": loadavg(),
            "config": config,
            "n_train_faces": len(y),
            "n_public_test_faces": len(y_pub),
            "train_seconds": 0.0,
            "eval_seconds": 0.0,
            "reached": None,
            "minutes_to_target": None,
            "stopped": None,
            "epochs": [],
        }
    done = len(state["epochs"])
    remaining = args.max_epochs - done
    if remaining <= 0 or state["train_seconds"] >= args.max_minutes * 60:
        state["stopped"] = state["stopped"] or "max-epochs or max-minutes"
        _write_json(args.out, state)
        print(f"nothing left to do: {state['stopped']}")
        return 0

    from imblearn.pipeline import make_pipeline

    from skfer import FERCNNClassifier, MirrorSampler

    clock = {}
    callback = make_callback(
        state,
        X_pub=X_pub,
        y_pub=y_pub,
        out=args.out,
        ckpt_dir=ckpt_dir,
        deadline_s=args.max_minutes * 60,
        resume_from=resume_from,
        clock=clock,
    )
    clf = FERCNNClassifier(
        epochs=remaining,
        patience=args.patience,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        random_state=args.seed,
        callbacks=[callback],
    )
    pipe = make_pipeline(MirrorSampler(), clf)
    t0 = clock["fit_start"] = time.perf_counter()
    pipe.fit(X, y)
    state["wall_seconds_this_run"] = round(time.perf_counter() - t0, 1)
    if state["stopped"] is None:
        state["stopped"] = (
            "early stopping" if len(state["epochs"]) < args.max_epochs else "max-epochs"
        )
    state["load_average_after"] = loadavg()
    state["best_public_test_accuracy"] = max(
        (r["public_test_accuracy"] for r in state["epochs"]), default=None
    )
    _write_json(args.out, state)
    print(
        json.dumps(
            {
                k: state[k]
                for k in (
                    "reached",
                    "minutes_to_target",
                    "stopped",
                    "best_public_test_accuracy",
                )
            }
        )
    )
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
