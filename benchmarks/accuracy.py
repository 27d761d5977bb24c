"""Train a recipe on FER2013's Training faces and record its PublicTest accuracy.

Recipes (``--recipe``):

- ``vgg``: :class:`skfer.FERVGGClassifier` with its defaults (AdamW, warm-up
  and cosine decay over ``--epochs`` epochs, random mirrors and 4-pixel
  shifts, label smoothing 0.1, mirror TTA), trained on all Training faces;
- ``resnet``: :class:`skfer.FERResNetClassifier` with its defaults (a
  residual network, the same recipe);
- ``densenet``: :class:`skfer.FERDenseNetClassifier` with its defaults (a
  densely connected network, the same recipe);
- ``study-cnn``: the study's recipe, ``make_pipeline(MirrorSampler(),
  FERCNNClassifier())`` (Adam 1e-3, batch 128, early stopping on a 10%
  mirror-aware validation split, patience 5);
- ``study-dnn``: the same with :class:`skfer.FERDNNClassifier`.

PublicTest (3,435 faces in the shared file) is never used for training, early
stopping or choosing anything: the number reported is the model at the end of
the run (for ``study-*``: the weights early stopping restored). It is also
*measured* after every epoch, for the learning curve and the time to reach a
given accuracy, and those rows are written as they come.

Every epoch the network and its optimiser state are checkpointed atomically
under ``--checkpoint`` (default ``runs/accuracy/<name>/``). Run the same
command again after an interruption and it resumes from the next epoch, with
the time already spent carried over; the learning-rate schedule follows the
optimiser's step count, so it continues on the same curve (the shuffling
order restarts from its seed, and ``study-*`` early stopping restarts its
patience). ``--fresh`` starts again. A run holds a lock on its checkpoint
folder (``.lock`` in it) while it goes: a second run on the same checkpoint,
started by hand or by ``plan.py``, is refused (exit status 2) instead of
writing over the first one's files.

``--param KEY=VALUE`` (repeatable) changes one of the classifier's parameters
for an ablation of the recipe, e.g. ``--param random_shift=0`` or
``--param lr_schedule=None``; VALUE is read as JSON (``0``, ``0.1``,
``null``, ``true``), ``None`` means ``None``, anything else is a string. The
changed parameters are part of the run's configuration.

``--holdout FRACTION`` keeps that stratified share of the Training faces
out of training, by a split whose seed is fixed (``_common.HOLDOUT_SEED``,
not ``--seed``), so every run holding out the same share of the same faces
holds out the same ones; at the end the network's accuracy on them (its own
prediction) is recorded as ``final.holdout_accuracy``. Those faces are what
``tta_select.py`` chooses on, where nothing may be chosen on PublicTest.

``--init-from SOURCE`` starts the network from the weights of a fitted one
(``pretrained:NAME``, a run name or a ``.joblib`` path, as in
``ensemble.py``) instead of random ones: a fine-tuning run. ``--swa`` keeps
the running mean of the network's trainable weights at the end of every
epoch (stochastic weight averaging, Izmailov et al. 2018); at the end the
network takes the mean, its batch-normalisation statistics are recomputed on
the Training faces, and that network is the one measured and saved. The
mean is checkpointed with the network, so a resumed run loses none of it.
Together, e.g. ``--init-from pretrained:fer2013-vgg --swa --epochs 12
--param lr_schedule=None --param learning_rate=2e-4``: twelve epochs at a
constant small rate around the shipped network, averaged.

``--teacher SOURCE`` (repeatable; same forms as ``--init-from``) trains
towards a teacher's class distributions instead of the one-hot labels
(knowledge distillation, Hinton et al. 2015): the teacher is the soft vote
of the SOURCEs (each with its own test-time augmentation), its
probabilities on the Training faces are softened by ``--teacher-temperature``
``T`` (``p ** (1 / T)``, renormalised) and mixed with the one-hot labels,
``--teacher-weight`` of the teacher's, and the mixture goes to ``fit`` as
``soft_targets`` (label smoothing still applies). The targets are computed
once and kept beside the checkpoint (``teacher.npy``), so a resumed run
trains towards the same ones. With ``--init-from``, e.g. ``--init-from
pretrained:fer2013-vgg --teacher pretrained:fer2013-vgg --teacher
vgg-bf16-e45-s2 --teacher vgg-bf16-e100-s6``: the shipped network
fine-tuned towards the three-network ensemble it belongs to.

At the end the fitted estimator is saved (``skfer.save_model``) next to the
checkpoint, and the result, with the exact command, configuration, seed,
epochs, wall time, machine, PublicTest accuracy and per-class recall, goes to
``benchmarks/results/accuracy/<name>.json``; ``benchmarks/accuracy_table.py``
turns those files into the README's table. Long: run it in the background::

    nohup .venv/bin/python benchmarks/accuracy.py --recipe vgg --epochs 60 \\
        --precision mixed_bfloat16 --name vgg-bf16-e60-s0 > runs/vgg.log 2>&1 &

Exits non-zero only when it cannot run.
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

from _common import (  # noqa: E402
    MODERN,
    REPO,
    RESULTS_DIR,
    RUNS_DIR,
    hold_lock,
    holdout_split,
    load_fitted,
    load_training_subset,
    loadavg,
    machine,
)

#: the skfer classifier each recipe trains
_CLASSIFIERS = {
    "vgg": "FERVGGClassifier",
    "resnet": "FERResNetClassifier",
    "densenet": "FERDenseNetClassifier",
    "study-cnn": "FERCNNClassifier",
    "study-dnn": "FERDNNClassifier",
}
RECIPES = tuple(_CLASSIFIERS)
OUT_DIR = RESULTS_DIR / "accuracy"


def _write_json(path: Path, state: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(state, indent=2) + "\n")
    os.replace(tmp, path)


def recipe_classifier(recipe: str):
    """The skfer classifier class that ``recipe`` trains."""
    import skfer

    return getattr(skfer, _CLASSIFIERS[recipe])


def build_estimator(args, callback):
    """The estimator of ``args.recipe``, with ``callback`` attached."""
    from imblearn.pipeline import make_pipeline

    from skfer import MirrorSampler

    seed = args.seed
    if args.recipe in MODERN and args.resumed:
        # weights and optimiser state come from the checkpoint; a new seed
        # keeps the resumed epochs from replaying the first epochs' shuffling,
        # augmentation and dropout masks (study-* keep theirs: it also fixes
        # their validation split)
        seed = args.seed + 7919 * args.resumed
    clf = recipe_classifier(args.recipe)(
        epochs=args.epochs,
        random_state=seed,
        callbacks=[callback],
        precision=args.precision,
    )
    clf.set_params(**args.params)
    return clf if args.recipe in MODERN else make_pipeline(MirrorSampler(), clf)


def parse_params(items, recipe: str) -> dict:
    """``["random_shift=0", ...]`` as ``{"random_shift": 0, ...}``, checked.

    Raises ValueError naming the item that is malformed or not a parameter of
    the recipe's classifier (or one the script sets itself).
    """
    cls = recipe_classifier(recipe)
    known = set(cls().get_params()) - {
        "epochs",
        "random_state",
        "callbacks",
        "precision",
    }
    params = {}
    for item in items or ():
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--param {item!r}: expected KEY=VALUE")
        if key not in known and not key.startswith("optimizer__"):
            raise ValueError(
                f"--param {item!r}: {key!r} is not a parameter {cls.__name__} "
                f"takes here; choose from {sorted(known)}"
            )
        if text.strip() == "None":
            value = None
        else:
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                value = text
        if isinstance(value, list):
            value = tuple(value)  # e.g. hidden_units=[512,512]
        params[key] = value
    _check_optimizer_params(params, cls)
    return params


def _check_optimizer_params(params: dict, cls) -> None:
    """Refuse ``optimizer__NAME`` keys the chosen optimizer does not take.

    The classifier routes them to its optimizer's constructor, which would
    only refuse a misspelt one when the network is built, after the data has
    loaded; this names it at once.
    """
    routed = [key for key in params if key.startswith("optimizer__")]
    if not routed:
        return
    import inspect

    import keras

    # a name: the one given with --param, or the classifier's default
    optimizer = params.get("optimizer", cls().optimizer)
    try:
        opt_cls = type(keras.optimizers.get(optimizer))
    except ValueError:
        raise ValueError(
            f"--param optimizer={optimizer!r}: unknown optimizer"
        ) from None
    accepted = set()
    for klass in opt_cls.__mro__[:-1]:  # the optimizer's and its bases', not object's
        accepted |= set(inspect.signature(klass.__init__).parameters)
    accepted -= {"self", "args", "kwargs", "name"}
    for key in routed:
        name = key.split("__", 1)[1]
        if name not in accepted:
            raise ValueError(
                f"--param {key}: {name!r} is not an argument of "
                f"{opt_cls.__name__}; choose from {sorted(accepted)}"
            )


class ArchitectureError(ValueError):
    """The ``--init-from`` network does not fit the recipe's."""


def _copy_weights(source, target) -> None:
    """Give the Keras model ``target`` the weights of ``source`` (same network).

    Raises ArchitectureError naming the first weight whose name or shape
    differs, before anything is copied.
    """
    src, dst = source.weights, target.weights
    if len(src) != len(dst):
        raise ArchitectureError(
            f"--init-from: the source network has {len(src)} weights, this "
            f"recipe's {len(dst)}: not the same architecture"
        )
    for a, b in zip(src, dst, strict=True):
        if tuple(a.shape) != tuple(b.shape) or a.name != b.name:
            raise ArchitectureError(
                f"--init-from: weight {a.path} {tuple(a.shape)} of the source does "
                f"not match {b.path} {tuple(b.shape)}: not the same architecture"
            )
    for a, b in zip(src, dst, strict=True):
        b.assign(a.numpy())


def recompute_batchnorm(model, X, batch_size: int = 256) -> int:
    """Set every BatchNormalization layer's moving statistics to ``X``'s.

    After weight averaging the averaged network's activations no longer
    match the statistics its layers kept; this runs ``X`` (raw faces) through
    the network in training mode (as :func:`torch.optim.swa_utils.update_bn`
    does) with each layer's momentum set so that its moving mean and
    variance become the plain average of the per-batch ones. Only the
    statistics change (no optimiser step). Returns the number of layers.
    """
    from skfer._tf import keras, tf

    layers = [
        layer
        for layer in model._flatten_layers()
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    if not layers:
        return 0
    saved = [layer.momentum for layer in layers]
    try:
        for k, start in enumerate(range(0, len(X), batch_size)):
            for layer in layers:
                # moving <- moving * m + batch * (1 - m): m = k / (k + 1)
                # makes it the mean of the k + 1 batches seen so far
                layer.momentum = k / (k + 1)
            model(tf.cast(X[start : start + batch_size], tf.float32), training=True)
    finally:
        for layer, momentum in zip(layers, saved, strict=True):
            layer.momentum = momentum
    return len(layers)


def make_callback(state, *, X_pub, y_pub, out, ckpt_dir, args, resume_from, clock):
    """The Keras callback that measures, checkpoints, times and stops."""
    import numpy as np

    from skfer._tf import keras, tf
    from skfer.augmentation import flip_horizontal

    X_pub_mirror = flip_horizontal(X_pub)

    class Recorder(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            if resume_from is not None:
                # the optimiser's slots must exist before its state can load
                self.model.optimizer.build(self.model.trainable_variables)
                self.model.load_weights(resume_from)
            elif args.init_source is not None:
                _copy_weights(args.init_source.model_, self.model)
            self.swa = None
            if args.swa and state.get("swa_count"):
                with np.load(ckpt_dir / "swa.npz") as saved:
                    self.swa = [saved[f"w{i}"] for i in range(len(saved.files))]
            self._fwd = tf.function(
                lambda x: self.model(tf.cast(x, tf.float32), training=False)
            )
            self._t_epoch = time.perf_counter()
            state.setdefault("setup_seconds", []).append(
                round(self._t_epoch - clock["fit_start"], 2)
            )

        def _proba(self, X):
            return np.concatenate(
                [self._fwd(X[i : i + 512]).numpy() for i in range(0, len(X), 512)]
            )

        def _train_seconds(self) -> float:
            return state["train_seconds"] + time.perf_counter() - self._t_epoch

        def on_epoch_end(self, epoch, logs=None):
            state["train_seconds"] = self._train_seconds()
            t0 = time.perf_counter()
            proba = self._proba(X_pub)
            proba_tta = (proba + self._proba(X_pub_mirror)) / 2
            row = {
                "epoch": len(state["epochs"]) + 1,
                "train_minutes": round(state["train_seconds"] / 60, 3),
                "public_test_accuracy": round(
                    float(np.mean(proba.argmax(1) == y_pub)), 4
                ),
                "public_test_accuracy_tta": round(
                    float(np.mean(proba_tta.argmax(1) == y_pub)), 4
                ),
                "load_1min": loadavg()[0],
                **{k: round(float(v), 6) for k, v in (logs or {}).items()},
            }
            state["epochs"].append(row)
            if args.swa:
                weights = [w.numpy() for w in self.model.trainable_weights]
                n = state.get("swa_count", 0)
                if self.swa is None:
                    self.swa = weights
                else:  # running mean of the n + 1 epochs' weights
                    self.swa = [
                        m + (w - m) / (n + 1)
                        for m, w in zip(self.swa, weights, strict=True)
                    ]
                state["swa_count"] = n + 1
            if row["epoch"] >= args.epochs:
                self.model.stop_training = True
            elif state["train_seconds"] > args.max_minutes * 60:
                # checked between epochs, so a resumed run never repeats one
                state["stopped"] = "max-minutes"
                self.model.stop_training = True
            if ckpt_dir is not None:
                ckpt_dir.mkdir(parents=True, exist_ok=True)
                if self.swa is not None:  # before state.json counts it
                    with open(ckpt_dir / "swa.tmp.npz", "wb") as fh:
                        np.savez(fh, **{f"w{i}": w for i, w in enumerate(self.swa)})
                    os.replace(ckpt_dir / "swa.tmp.npz", ckpt_dir / "swa.npz")
                tmp = ckpt_dir / "model.tmp.keras"
                self.model.save(tmp)
                os.replace(tmp, ckpt_dir / "model.keras")
                _write_json(ckpt_dir / "state.json", state)
            state["eval_seconds"] += time.perf_counter() - t0
            _write_json(out, state)
            print(
                f"epoch {row['epoch']}/{args.epochs}: {row['train_minutes']:.1f} min, "
                f"loss {row.get('loss', float('nan')):.4f}, PublicTest "
                f"{row['public_test_accuracy']:.4f} (TTA "
                f"{row['public_test_accuracy_tta']:.4f}), load {row['load_1min']}",
                flush=True,
            )
            self._t_epoch = time.perf_counter()

    return Recorder()


def teacher_targets(members, X, y, *, weight: float, temperature: float):
    """Distillation targets: the members' soft vote on ``X``, mixed with ``y``.

    The mean of the members' ``predict_proba`` is softened to
    ``p ** (1 / temperature)`` (renormalised), then ``weight`` of it is mixed
    with ``1 - weight`` of the one-hot labels. Returns the targets (float32,
    rows summing to 1) and what to record: the vote's accuracy on ``X``, its
    mean top probability before and after softening, and the seconds taken.
    """
    import numpy as np

    t0 = time.perf_counter()
    proba = np.mean([member.predict_proba(X) for member in members], axis=0)
    soft = proba ** (1.0 / temperature)
    soft /= soft.sum(axis=1, keepdims=True)
    onehot = np.eye(proba.shape[1])[y]
    targets = (weight * soft + (1.0 - weight) * onehot).astype(np.float32)
    info = {
        "train_accuracy": round(float(np.mean(proba.argmax(1) == y)), 4),
        "mean_top_probability": round(float(proba.max(1).mean()), 4),
        "mean_top_probability_softened": round(float(soft.max(1).mean()), 4),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return targets, info


def _final_metrics(estimator, X_pub, y_pub, *, pred=None) -> dict:
    """PublicTest metrics of ``estimator`` (or of its predictions ``pred``)."""
    import numpy as np
    from sklearn.metrics import balanced_accuracy_score, confusion_matrix, f1_score

    from skfer import EMOTIONS

    if pred is None:
        pred = estimator.predict(X_pub)
    cm = confusion_matrix(y_pub, pred, labels=range(7))
    recall = cm.diagonal() / np.maximum(cm.sum(axis=1), 1)
    return {
        "public_test_accuracy": round(float(np.mean(pred == y_pub)), 4),
        "public_test_balanced_accuracy": round(
            float(balanced_accuracy_score(y_pub, pred)), 4
        ),
        "public_test_macro_f1": round(float(f1_score(y_pub, pred, average="macro")), 4),
        "per_class_recall": {
            EMOTIONS[k]: round(float(r), 4) for k, r in enumerate(recall)
        },
        "confusion_matrix": cm.tolist(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", choices=RECIPES, default="vgg")
    parser.add_argument("--name", help="run name (default: recipe-precision-seed)")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument(
        "--precision", choices=("float32", "mixed_bfloat16"), default="float32"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-minutes", type=float, default=600.0)
    parser.add_argument(
        "--n-train", type=int, default=None, help="random Training faces (default all)"
    )
    parser.add_argument(
        "--holdout",
        type=float,
        default=None,
        metavar="FRACTION",
        help="hold out this stratified share of Training (a fixed split) and "
        "score the network on it",
    )
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument(
        "--init-from",
        metavar="SOURCE",
        default=None,
        help="start from a fitted network: pretrained:NAME, a run or a .joblib",
    )
    parser.add_argument(
        "--swa",
        action="store_true",
        help="average the weights of every epoch's end (stochastic weight averaging)",
    )
    parser.add_argument(
        "--teacher",
        action="append",
        metavar="SOURCE",
        help="distil from this fitted network (repeatable: their soft vote)",
    )
    parser.add_argument(
        "--teacher-weight",
        type=float,
        default=0.5,
        help="share of the teacher in the targets (the rest: one-hot labels)",
    )
    parser.add_argument(
        "--teacher-temperature",
        type=float,
        default=2.0,
        help="soften the teacher's probabilities to p ** (1 / T)",
    )
    parser.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="change a classifier parameter (repeatable), e.g. random_shift=0",
    )
    args = parser.parse_args(argv)
    try:
        args.params = parse_params(args.param, args.recipe)
    except ValueError as exc:
        print(f"accuracy: {exc}", file=sys.stderr)
        return 2
    if args.epochs is None:
        args.epochs = 60 if args.recipe in MODERN else 100
    name = args.name or f"{args.recipe}-{args.precision}-s{args.seed}"
    out = args.out or OUT_DIR / f"{name}.json"
    ckpt_dir = args.checkpoint or RUNS_DIR / name
    if str(ckpt_dir).lower() == "none":
        ckpt_dir = None
    if ckpt_dir is not None:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        # held open until the process ends, when the system releases it
        args.lock = hold_lock(ckpt_dir / ".lock")
        if args.lock is None:
            print(
                f"accuracy: {ckpt_dir} is in use by another run (its .lock is "
                "held); wait for it to end or stop it first",
                file=sys.stderr,
            )
            return 2

    try:
        X, y = load_training_subset(args.n_train, seed=args.seed)
        X_pub, y_pub = load_training_subset(None, usage="PublicTest")
    except FileNotFoundError as exc:
        print(f"accuracy: cannot run: {exc}", file=sys.stderr)
        return 2
    X_held = y_held = None
    if args.holdout is not None:
        try:
            fit_idx, held_idx = holdout_split(y, args.holdout)
        except ValueError as exc:
            print(f"accuracy: --holdout: {exc}", file=sys.stderr)
            return 2
        X, y, X_held, y_held = X[fit_idx], y[fit_idx], X[held_idx], y[held_idx]

    config = {
        k: getattr(args, k)
        for k in ("recipe", "epochs", "precision", "seed", "n_train")
    }
    if args.holdout is not None:  # only when set: older checkpoints stay resumable
        config["holdout"] = args.holdout
    if args.params:  # only when set: older checkpoints stay resumable
        config["params"] = {k: args.params[k] for k in sorted(args.params)}
    if args.init_from is not None:
        if args.recipe not in MODERN:
            print(
                "accuracy: --init-from needs --recipe vgg, resnet or densenet",
                file=sys.stderr,
            )
            return 2
        config["init_from"] = args.init_from
        try:
            source, _, _ = load_fitted(args.init_from)
        except (FileNotFoundError, ValueError) as exc:
            print(f"accuracy: --init-from: {exc}", file=sys.stderr)
            return 2
        args.init_source = source[-1] if hasattr(source, "steps") else source
    else:
        args.init_source = None
    if args.teacher:
        if args.recipe not in MODERN:
            print(
                "accuracy: --teacher needs --recipe vgg, resnet or densenet",
                file=sys.stderr,
            )
            return 2
        if not 0.0 < args.teacher_weight <= 1.0 or not args.teacher_temperature > 0:
            print(
                "accuracy: --teacher-weight must be in (0, 1] and "
                "--teacher-temperature > 0",
                file=sys.stderr,
            )
            return 2
        config["teacher"] = {
            "members": list(args.teacher),
            "weight": args.teacher_weight,
            "temperature": args.teacher_temperature,
        }
    if args.swa:
        if args.recipe not in MODERN or ckpt_dir is None:
            print(
                "accuracy: --swa needs --recipe vgg, resnet or densenet and a "
                "checkpoint",
                file=sys.stderr,
            )
            return 2
        config["swa"] = True
    state, resume_from = None, None
    if args.fresh and ckpt_dir is not None:
        for entry in ckpt_dir.iterdir():  # all but the lock this run holds
            if entry.name == ".lock":
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
    if ckpt_dir is not None and (ckpt_dir / "state.json").is_file():
        saved = json.loads((ckpt_dir / "state.json").read_text())
        if saved.get("config") != json.loads(json.dumps(config)):
            print(
                f"accuracy: {ckpt_dir} holds a run of another configuration "
                f"({saved.get('config')}); use --fresh or another --name",
                file=sys.stderr,
            )
            return 2
        if saved.get("final") is not None:
            print(f"already finished: {out}")
            return 0
        state, resume_from = saved, ckpt_dir / "model.keras"
        state["resumed"] = state.get("resumed", 0) + 1
        print(f"resuming after epoch {len(state['epochs'])}", flush=True)
    if state is None:
        state = {
            "name": name,
            "command": "benchmarks/accuracy.py " + " ".join(sys.argv[1:] or argv or []),
            "date": time.strftime("%Y-%m-%d %H:%M:%S"),
            "machine": machine(),
            "load_average_before": loadavg(),
            "config": config,
            "n_train_faces": len(y),
            **({} if y_held is None else {"n_holdout_faces": len(y_held)}),
            "n_public_test_faces": len(y_pub),
            "train_seconds": 0.0,
            "eval_seconds": 0.0,
            "stopped": None,
            "final": None,
            "epochs": [],
        }
    args.resumed = state.get("resumed", 0)
    if len(state["epochs"]) >= args.epochs:
        print("all epochs done but no final result: rerun with --fresh")
        return 2

    soft_targets = None
    if args.teacher:
        import numpy as np

        cached = None if ckpt_dir is None else ckpt_dir / "teacher.npy"
        if cached is not None and resume_from is not None and cached.is_file():
            soft_targets = np.load(cached)
        else:
            try:
                members = [load_fitted(spec)[0] for spec in args.teacher]
            except (FileNotFoundError, ValueError) as exc:
                print(f"accuracy: --teacher: {exc}", file=sys.stderr)
                return 2
            soft_targets, state["teacher"] = teacher_targets(
                members,
                X,
                y,
                weight=args.teacher_weight,
                temperature=args.teacher_temperature,
            )
            del members
            print(f"teacher: {state['teacher']}", flush=True)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                with open(cached.with_suffix(".tmp.npy"), "wb") as fh:
                    np.save(fh, soft_targets)
                os.replace(cached.with_suffix(".tmp.npy"), cached)

    clock = {}
    callback = make_callback(
        state,
        X_pub=X_pub,
        y_pub=y_pub,
        out=out,
        ckpt_dir=ckpt_dir,
        args=args,
        resume_from=resume_from,
        clock=clock,
    )
    estimator = build_estimator(args, callback)
    from skfer import __version__, save_model

    state["estimator"] = repr(estimator)
    state["skfer_version"] = __version__
    clock["fit_start"] = time.perf_counter()
    t0 = time.time()
    try:
        if soft_targets is None:
            estimator.fit(X, y)
        else:
            estimator.fit(X, y, soft_targets=soft_targets)
    except ArchitectureError as exc:
        print(f"accuracy: {exc}", file=sys.stderr)
        return 2
    state["wall_seconds"] = round(state.get("wall_seconds", 0.0) + time.time() - t0, 1)
    if state["stopped"] == "max-minutes":
        state["stopped"] = None  # resumable: the next run continues
        if ckpt_dir is not None:
            _write_json(ckpt_dir / "state.json", state)
        _write_json(out, state)
        print(f"stopped after --max-minutes; run again to resume: {out}")
        return 0
    state["stopped"] = state["stopped"] or (
        "max-epochs" if len(state["epochs"]) >= args.epochs else "early stopping"
    )
    state["load_average_after"] = loadavg()
    clf = estimator[-1] if hasattr(estimator, "steps") else estimator
    clf.callbacks = None  # the recorder holds the data; the saved model must not
    if args.swa:
        import numpy as np

        with np.load(ckpt_dir / "swa.npz") as saved:
            mean = [saved[f"w{i}"] for i in range(len(saved.files))]
        for variable, value in zip(clf.model_.trainable_weights, mean, strict=True):
            variable.assign(value)
        t1 = time.perf_counter()
        state["swa_batchnorm_layers"] = recompute_batchnorm(clf.model_, X)
        state["swa_batchnorm_seconds"] = round(time.perf_counter() - t1, 1)
        state["last_epoch_public_test_accuracy_tta"] = state["epochs"][-1][
            "public_test_accuracy_tta"
        ]
    state["final"] = _final_metrics(estimator, X_pub, y_pub)
    state["final"]["epochs_run"] = len(state["epochs"])
    state["final"]["tta"] = bool(getattr(clf, "tta", False))
    if y_held is not None:  # the faces held out of Training, same predictions
        import numpy as np

        state["final"]["holdout_accuracy"] = round(
            float(np.mean(estimator.predict(X_held) == y_held)), 4
        )
    if ckpt_dir is not None:
        save_model(estimator, ckpt_dir / "model.joblib")
        state["model_file"] = os.path.relpath(ckpt_dir / "model.joblib", REPO)
        _write_json(ckpt_dir / "state.json", state)
    _write_json(out, state)
    print(json.dumps({"name": name, **state["final"]}, indent=1))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
