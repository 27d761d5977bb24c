"""The ``skfer`` command (also ``python -m skfer``).

Sub-commands compose the library; they hold no logic of their own.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence


def _demo(args: argparse.Namespace) -> int:
    from sklearn.metrics import balanced_accuracy_score

    from skfer import FERCNNClassifier
    from skfer.datasets import EMOTIONS, make_expressions

    X, y = make_expressions(args.n_train, random_state=args.seed)
    X_test, y_test = make_expressions(args.n_test, random_state=args.seed + 1)
    print(
        f"skfer demo: a small CNN on {args.n_train} synthetic faces "
        f"(make_expressions), tested on {args.n_test} others."
    )
    clf = FERCNNClassifier(
        conv_filters=(16,) * 6,
        dense_units=(64,),
        conv_dropout=0.0,
        dense_dropout=0.2,
        activation="elu",
        batch_size=32,
        epochs=args.epochs,
        patience=3,
        random_state=args.seed,
        verbose=0 if args.quiet else 2,
    )
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start
    pred = clf.predict(X_test)
    accuracy = float((pred == y_test).mean())
    print(f"trained {clf.n_iter_} epochs in {seconds:.1f} s")
    print(f"test accuracy:          {accuracy:.3f}  (chance: {1 / len(EMOTIONS):.3f})")
    print(f"balanced test accuracy: {balanced_accuracy_score(y_test, pred):.3f}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="skfer", description="Facial expression recognition with skfer."
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="train a small CNN on synthetic faces")
    demo.add_argument("--n-train", type=int, default=2000)
    demo.add_argument("--n-test", type=int, default=700)
    demo.add_argument("--epochs", type=int, default=15)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    demo.set_defaults(func=_demo)

    from skfer._report import add_evaluate_parser, add_report_parser, add_train_parser

    add_report_parser(sub)
    add_train_parser(sub)
    add_evaluate_parser(sub)

    from skfer.faces import _add_predict_parser

    _add_predict_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``skfer`` command line.

    Parameters
    ----------
    argv : sequence of str, default=None
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    status : int
        The exit status: 0 on success, 1 on a reported error.
    """
    args = _parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, ImportError) as exc:
        if args.debug:
            raise
        print(f"skfer: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
