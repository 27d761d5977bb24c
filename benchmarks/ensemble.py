"""Soft-voting ensembles of fitted networks, scored on PublicTest.

Each member is a run of ``benchmarks/accuracy.py`` (its
``runs/accuracy/<run>/model.joblib``, or wherever its ``--checkpoint`` put it
as its results file records, when this checkout trained it, else its
float16 weights kept in ``benchmarks/models/`` by ``make_pretrained.py --out
benchmarks/models``), a shipped network (``pretrained:fer2013-vgg``) or a
``.joblib`` file. The script averages the members' PublicTest class
probabilities with equal weights (``sklearn.ensemble.VotingClassifier
(voting="soft")`` over ``sklearn.frozen.FrozenEstimator`` members; nothing is
fitted or chosen on PublicTest), with each member's own test-time
augmentation or, with ``--tta``, the same one for all, and records the
ensemble's and each member's accuracy, the gain over the best member,
per-class recall and, for every pair of members, the share of faces on which
they predict different classes (``"members_disagreement"``), in
``benchmarks/results/accuracy/<name>.json`` (or ``--out``). Each member
predicts PublicTest once: the vote is computed from those probabilities as
``VotingClassifier.predict`` computes it, checked against it on a few faces::

    .venv/bin/python benchmarks/ensemble.py --runs pretrained:fer2013-vgg vgg-f32-e70-s1

With ``--stack`` it also measures stacking the same frozen members with a
``LogisticRegression`` on their class probabilities (what
``sklearn.ensemble.StackingClassifier`` over ``FrozenEstimator`` members
computes). The members were trained on all of Training, so no face is left
on which a combiner could learn honestly without training each network k
times; instead the combiner is cross-validated on PublicTest (5 stratified
folds: fitted on four fifths, it predicts the fifth it never saw). That
number is stored apart (``"stacking"``), compared with the soft vote on the
same faces, and kept out of the README's table: a combiner that learned from
PublicTest faces does not give a PublicTest score in the table's sense.
With ``--cache DIR`` each member's PublicTest class probabilities are also
kept in ``DIR`` (``runs/cache`` is git-ignored), named by the SHA-256 of the
member's weights (its card's, or its ``.joblib`` file's), the test-time
augmentation and the PublicTest faces; a member found there is not asked to
predict again, so a vote that adds one member to an earlier one costs one
network's prediction. The record lists those members
(``"cached_members"``), and the check against ``VotingClassifier.predict``,
which calls every member, still runs. Exits non-zero only when it cannot run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    REPO,
    RESULTS_DIR,
    load_fitted,
    load_training_subset,
    machine,
    run_model_file,
)
from accuracy import _final_metrics, _write_json  # noqa: E402
from tta import _stem  # noqa: E402
from tta_select import CANDIDATES, tta_param  # noqa: E402


def disagreement(predictions: dict) -> dict:
    """Share of faces on which each pair of members predicts different classes.

    ``predictions`` maps a member's name to its predicted labels (same faces,
    same order); the result maps ``"a vs b"`` to the share, rounded to 4
    places, for every pair in the given order. Members that err on different
    faces (a high share at similar accuracy) are what a soft vote gains from.
    """
    names = list(predictions)
    return {
        f"{a} vs {b}": round(
            float(np.mean(np.asarray(predictions[a]) != np.asarray(predictions[b]))),
            4,
        )
        for i, a in enumerate(names)
        for b in names[i + 1 :]
    }


def _tta_text(name: str) -> str:
    """How the description names the ``--tta`` given."""
    if name == "False":
        return name
    if name in ("flip", "flip+shift"):
        return repr(name)
    return f"{name!r} views (tta_select.py)"


def cache_key(spec: str, card: dict, member, X) -> str:
    """Name of a member's cached probabilities, from what determines them.

    The member's weights and settings (its whole card, whose ``"sha256"``
    ``load_pretrained`` checks against the weights, for a shipped or kept
    network; else the SHA-256 of the ``.joblib`` file ``load_fitted`` read),
    the test-time augmentation it predicts with (its own or ``--tta``) and
    the faces ``X``: a change to any of them gives another name, never a
    stale hit.
    """
    from skfer.pretrained import _sha256

    if card.get("sha256"):
        text = json.dumps(card, sort_keys=True, default=str)
        weights = hashlib.sha256(text.encode()).hexdigest()
    else:
        path = Path(spec)
        if path.suffix != ".joblib":
            path = run_model_file(spec)
        weights = _sha256(path)
    final = member[-1] if hasattr(member, "steps") else member
    tta = final.get_params().get("tta")
    faces = hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest()
    text = f"{weights}|tta={tta!r}|faces={faces}|{np.shape(X)}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def soft_vote(voting, probas) -> np.ndarray:
    """``voting.predict`` from its members' class probabilities ``probas``.

    What a fitted ``VotingClassifier(voting="soft")`` without weights
    computes (the argmax of the mean probability, through its label
    encoder), without calling the members again.
    """
    return voting.le_.inverse_transform(np.mean(probas, axis=0).argmax(axis=1))


def stacking_cv(probas, y, *, n_splits: int = 5, seed: int = 0) -> dict:
    """Cross-validated stacking of frozen members against their soft vote.

    ``probas`` holds each member's class probabilities, shape
    ``(n_faces, n_classes)``; a ``LogisticRegression`` on their concatenation
    is fitted on ``n_splits - 1`` stratified folds and predicts the last one,
    in turn, so every face is predicted by a combiner that never saw it.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    probas = [np.asarray(p, dtype=np.float64) for p in probas]
    y = np.asarray(y)
    features = np.hstack(probas)
    soft = np.mean(probas, axis=0).argmax(axis=1)
    stacked = np.empty_like(y)
    folds = []
    cv = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    for train, test in cv.split(features, y):
        combiner = LogisticRegression(max_iter=2000).fit(features[train], y[train])
        stacked[test] = combiner.predict(features[test])
        gain = np.mean(stacked[test] == y[test]) - np.mean(soft[test] == y[test])
        folds.append(round(float(gain), 4))
    accuracy = float(np.mean(stacked == y))
    soft_accuracy = float(np.mean(soft == y))
    return {
        "final_estimator": "LogisticRegression(max_iter=2000)",
        "protocol": f"{n_splits}-fold stratified cross-validation on PublicTest "
        f"(shuffled, seed {seed}): the combiner is fitted on {n_splits - 1} folds "
        "and predicts the other; members frozen",
        "accuracy": round(accuracy, 4),
        "soft_vote_accuracy": round(soft_accuracy, 4),
        "gain_over_soft_vote": round(accuracy - soft_accuracy, 4),
        "gain_per_fold": folds,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", required=True)
    parser.add_argument("--name", default=None)
    parser.add_argument(
        "--out", type=Path, default=None, help="results file (default: by name)"
    )
    parser.add_argument(
        "--tta",
        choices=["False", *[c for c in CANDIDATES if c != "none"]],
        default=None,
        help="test-time augmentation of every member (default: each its own)",
    )
    parser.add_argument(
        "--stack",
        action="store_true",
        help="also cross-validate a LogisticRegression stack on PublicTest",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="folder keeping each member's PublicTest probabilities "
        "(e.g. runs/cache): a member found there does not predict again",
    )
    args = parser.parse_args(argv)
    try:
        loaded = [load_fitted(spec) for spec in args.runs]
    except (FileNotFoundError, ValueError) as exc:
        print(f"ensemble: cannot run: {exc}", file=sys.stderr)
        return 2
    tta = None
    if args.tta is not None:
        tta = False if args.tta == "False" else tta_param(args.tta)
    stems = [_stem(spec) for spec in args.runs]

    from skfer._report._training import make_ensemble

    X_pub, y_pub = load_training_subset(None, usage="PublicTest")
    members = [estimator for estimator, _, _ in loaded]
    if args.tta is not None:
        for member in members:
            (member[-1] if hasattr(member, "steps") else member).set_params(tta=tta)
    # VotingClassifier(voting="soft") over FrozenEstimator members: "fitting"
    # it only reads the class labels of these 140 Training faces; no member is refitted
    X_few, y_few = load_training_subset(7 * 20, seed=0)
    voting = make_ensemble(dict(zip(stems, members, strict=True)), X_few, y_few)
    t0 = time.time()
    probas, cached = [], []
    for spec, stem, member, (_, _, card) in zip(
        args.runs, stems, members, loaded, strict=True
    ):
        path = None
        if args.cache is not None:
            path = args.cache / f"{cache_key(spec, card, member, X_pub)}.npy"
        if path is not None and path.is_file():
            proba = np.load(path)
            expected = (len(X_pub), len(member.classes_))
            if proba.shape != expected:
                print(
                    f"ensemble: cannot run: cached probabilities {path} have "
                    f"shape {proba.shape}, expected {expected}; delete the file",
                    file=sys.stderr,
                )
                return 2
            probas.append(proba)
            cached.append(stem)
            continue
        probas.append(member.predict_proba(X_pub))  # each member once
        if path is not None:  # written whole, then renamed: never half a file
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(path.stem + ".partial.npy")
            np.save(partial, probas[-1])
            partial.replace(path)
    pred = soft_vote(voting, probas)
    # the vote's own predictions, on a few faces: the shortcut must agree
    few = min(64, len(y_pub))
    if not np.array_equal(voting.predict(X_pub[:few]), pred[:few]):
        raise AssertionError("the soft vote of the members' probabilities "
                             "differs from VotingClassifier.predict")  # fmt: skip
    final = _final_metrics(voting, X_pub, y_pub, pred=pred)
    preds = [m.classes_[p.argmax(axis=1)] for m, p in zip(members, probas, strict=True)]
    member_acc = {
        stem: round(float((pred == y_pub).mean()), 4)
        for stem, pred in zip(stems, preds, strict=True)
    }
    final["members_public_test_accuracy"] = member_acc
    final["gain_over_best_member"] = round(
        final["public_test_accuracy"] - max(member_acc.values()), 4
    )
    final["members_disagreement"] = disagreement(dict(zip(stems, preds, strict=True)))
    stacking = None
    if args.stack:
        stacking = stacking_cv(probas, y_pub)
    suffix = "" if args.tta is None else "-tta-" + args.tta.replace("+", "-")
    name = args.name or "ensemble-" + "+".join(stems) + suffix
    train_seconds = 0.0
    for stem, (_, _, card) in zip(stems, loaded, strict=True):
        result = RESULTS_DIR / "accuracy" / f"{stem}.json"
        if card.get("results_file"):  # a packaged run: the run that trained it
            result = REPO / card["results_file"]
        if result.is_file():
            train_seconds += json.loads(result.read_text()).get("train_seconds", 0.0)
    state = {
        "name": name,
        "description": "soft voting: "
        + ", ".join(what for _, what, _ in loaded)
        + ("" if args.tta is None else f", all with `tta={_tta_text(args.tta)}`"),
        "command": "benchmarks/ensemble.py " + " ".join(sys.argv[1:] or argv or []),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": machine(),
        "config": {"recipe": "ensemble", "members": args.runs, "tta": args.tta},
        "n_public_test_faces": len(y_pub),
        "train_seconds": train_seconds,
        "predict_seconds": round(time.time() - t0, 1),
        "cached_members": cached,
        "final": {**final, "epochs_run": None},
        "epochs": [],
    }
    if stacking is not None:
        state["stacking"] = stacking
    out = args.out or RESULTS_DIR / "accuracy" / f"{name}.json"
    _write_json(out, state)
    print(json.dumps({"name": name, **final, "stacking": stacking}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
