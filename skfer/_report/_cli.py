"""The ``report``, ``train`` and ``evaluate`` sub-commands of ``skfer``.

Each ``add_*_parser(subparsers)`` adds one sub-command whose ``func`` takes
the parsed arguments and returns the exit status; ``skfer.__main__`` turns
``ValueError``/``OSError`` into a one-line error.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["add_evaluate_parser", "add_report_parser", "add_train_parser"]

#: exit status after Ctrl-C (the model trained so far is still saved)
INTERRUPTED = 130


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _common(parser: argparse.ArgumentParser, *, test_only: bool = False) -> None:
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="FER2013 file or folder (default: synthetic faces from make_expressions)",
    )
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    # quick settings for tests and smoke runs
    if not test_only:
        parser.add_argument("--n-train", type=_positive_int, help=argparse.SUPPRESS)
    parser.add_argument("--n-test", type=_positive_int, help=argparse.SUPPRESS)


# --------------------------------------------------------------------- report
def _report(args: argparse.Namespace) -> int:
    from ._report import write_report

    metrics = write_report(
        args.out,
        data=args.data,
        models=args.models,
        epochs=args.epochs,
        seed=args.seed,
        n_train=args.n_train,
        n_test=args.n_test,
        filter_steps=args.filter_steps,
        force=args.force,
        quiet=args.quiet,
        debug=getattr(args, "debug", False),
    )
    return INTERRUPTED if metrics["notes"] else 0


def add_report_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``skfer report``: train, evaluate and write a browsable report.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers()``.

    Returns
    -------
    parser : argparse.ArgumentParser
        The sub-command's parser.
    """
    parser = subparsers.add_parser(
        "report",
        help="train, evaluate and write an HTML report",
        description="Train the models, evaluate them and write DIR/index.html "
        "with figures, metrics.json and the fitted models.",
    )
    _common(parser)
    parser.add_argument(
        "--models",
        default="cnn,dnn,ensemble",
        help="comma-separated: cnn, dnn, vgg, resnet, densenet, ensemble "
        "(default: cnn,dnn,ensemble)",
    )
    parser.add_argument(
        "--epochs",
        type=_positive_int,
        help="maximum epochs per network (default: 10 synthetic, 30 FER2013)",
    )
    parser.add_argument(
        "--out", default="skfer-report", metavar="DIR", help="report folder"
    )
    parser.add_argument(
        "--force", action="store_true", help="write into a folder holding files"
    )
    parser.add_argument(
        "--filter-steps", type=_positive_int, default=100, help=argparse.SUPPRESS
    )
    parser.set_defaults(func=_report)
    return parser


# ---------------------------------------------------------------------- train
def _train(args: argparse.Namespace) -> int:
    from ..persistence import save_model
    from ._training import (
        fit_with_progress,
        load_splits,
        make_ensemble,
        make_estimator,
        parse_models,
    )

    (name,) = parse_models(args.model) if "," not in args.model else (None,)
    if name is None:
        raise ValueError(f"--model takes one name. Got {args.model!r}.")
    out = Path(args.out or f"{name}.joblib")
    if out.exists() and not args.force:
        raise ValueError(f"{str(out)!r} already exists; pass --force to replace it.")
    if not out.parent.is_dir():
        raise ValueError(f"folder {str(out.parent)!r} does not exist.")
    X, y = load_splits(args.data, n_train=args.n_train, seed=args.seed)["Training"]
    members = ["cnn", "dnn"] if name == "ensemble" else [name]
    fitted = {}
    interrupted = False
    for member in members:
        est = make_estimator(
            member, synthetic=args.data is None, epochs=args.epochs, seed=args.seed
        )
        result = fit_with_progress(est, X, y, label=member, quiet=args.quiet)
        fitted[member] = est
        if not args.quiet:
            print(f"{member}: trained {result.epochs} epochs in {result.seconds:.1f} s")
        if result.interrupted:
            interrupted = True
            print(
                f"skfer: training of {member} interrupted after {result.epochs} "
                f"epochs; keeping the weights of its best epoch ({result.best_epoch}).",
                file=sys.stderr,
            )
            break
    if name == "ensemble" and not interrupted:
        model = make_ensemble(fitted, X, y)
    else:
        model = fitted[members[0]] if not interrupted else fitted[member]
    save_model(model, out)
    print(f"saved {out}")
    return INTERRUPTED if interrupted else 0


def add_train_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``skfer train``: train one model and save it (joblib).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers()``.

    Returns
    -------
    parser : argparse.ArgumentParser
        The sub-command's parser.
    """
    parser = subparsers.add_parser(
        "train",
        help="train a model and save it",
        description="Train a model on the Training split and save it with "
        "skfer.save_model. Ctrl-C keeps and saves the best weights so far.",
    )
    _common(parser)
    parser.add_argument(
        "--model",
        default="cnn",
        help="cnn, dnn, vgg, resnet, densenet or ensemble (default: cnn)",
    )
    parser.add_argument("--epochs", type=_positive_int, help="maximum epochs")
    parser.add_argument(
        "--out", metavar="FILE", help="model file (default: MODEL.joblib)"
    )
    parser.add_argument("--force", action="store_true", help="replace FILE")
    parser.set_defaults(func=_train)
    return parser


# ------------------------------------------------------------------- evaluate
def _evaluate(args: argparse.Namespace) -> int:
    from ..persistence import load_model
    from ._metrics import score_model
    from ._training import TEST_SPLITS, load_splits

    model = load_model(args.model)
    splits = load_splits(
        args.data, n_test=args.n_test, seed=args.seed, splits=TEST_SPLITS
    )
    scores = {split: score_model(model, X, y) for split, (X, y) in splits.items()}
    print(
        f"{'split':<12} {'faces':>6} {'accuracy':>9} {'balanced':>9} "
        f"{'macro-F1':>9} {'Disgust':>8} {'Fear':>8}"
    )
    for split, s in scores.items():
        cells = [
            f"{v:.3f}" if v is not None else "-"
            for v in (s["recall_disgust"], s["recall_fear"])
        ]
        print(
            f"{split:<12} {s['n_samples']:>6} {s['accuracy']:>9.3f} "
            f"{s['balanced_accuracy']:>9.3f} {s['macro_f1']:>9.3f} "
            f"{cells[0]:>8} {cells[1]:>8}"
        )
    if args.json:
        Path(args.json).write_text(
            json.dumps({"model": str(args.model), "scores": scores}, indent=2),
            encoding="utf-8",
        )
    return 0


def add_evaluate_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``skfer evaluate``: score a saved model on the test splits.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``parser.add_subparsers()``.

    Returns
    -------
    parser : argparse.ArgumentParser
        The sub-command's parser.
    """
    parser = subparsers.add_parser(
        "evaluate",
        help="score a saved model",
        description="Load a model file (skfer.load_model) and print accuracy, "
        "balanced accuracy, macro-F1 and Disgust/Fear recall per test split.",
    )
    parser.add_argument("model", metavar="MODEL", help="file written by skfer train")
    _common(parser, test_only=True)
    parser.add_argument("--json", metavar="FILE", help="also write the scores here")
    parser.set_defaults(func=_evaluate)
    return parser
