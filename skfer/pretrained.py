"""Networks trained on FER2013 that ship inside the package.

How the weights ship: as float16 arrays in a compressed ``.npz`` file inside
the package (``skfer/_weights/``), next to a JSON card that says how the
network was trained (the exact command and its result file under
``benchmarks/results/accuracy/``), its hyper-parameters, the SHA-256 of the
weights file and the accuracy *these* weights score on FER2013's PublicTest.
A compact network (1.8 million parameters, 3.3 MB) keeps the repository and
the wheel small and works offline, with no download on first use; float16
halves the file and costs nothing measurable in accuracy (the card holds both
figures, from ``benchmarks/make_pretrained.py``). At load time the weights are
cast to float32 and checked against the card (SHA-256) and the network (names
and shapes), so a damaged file fails loudly instead of predicting nonsense.
``weights=`` loads a local file of the same layout instead (for example a
network you fine-tuned and exported the same way), and the path of a card
(``.json``) loads a network packaged outside skfer, such as the ensemble
members kept in a checkout's ``benchmarks/models/``, with the same checks.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ._base import FERClassifierBase

__all__ = ["list_pretrained", "load_pretrained"]

#: Folder of the shipped weight files and their cards.
_WEIGHTS_DIR = Path(__file__).resolve().parent / "_weights"


def _cards() -> dict[str, dict]:
    cards = {}
    for path in sorted(_WEIGHTS_DIR.glob("*.json")):
        card = json.loads(path.read_text(encoding="utf-8"))
        cards[card["name"]] = card
    return cards


def list_pretrained() -> dict[str, dict[str, Any]]:
    """The pretrained networks that ship with skfer, and what they score.

    Returns
    -------
    cards : dict of str to dict
        For each name accepted by :func:`load_pretrained`: its estimator
        class, ``public_test_accuracy`` (of the shipped float16 weights, with
        the estimator's test-time augmentation), the command that trained it
        and the file recording that run.

    Examples
    --------
    >>> from skfer import list_pretrained
    >>> "fer2013-vgg" in list_pretrained()
    True
    """
    return {
        name: {k: v for k, v in card.items() if k not in ("params", "history")}
        for name, card in _cards().items()
    }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_weights(path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {key: npz[key] for key in npz.files}
    except (OSError, ValueError) as exc:
        raise ValueError(
            f"cannot read the weights file {path}: {type(exc).__name__}: {exc}"
        ) from None


def _package(clf, folder: Path, name: str, info: dict[str, Any]) -> Path:
    """Write ``clf``'s weights (float16 ``.npz``) and its card; return the card.

    ``info`` goes into the card as it is (provenance, accuracy); the
    hyper-parameters are the estimator's, in float32 precision.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = name.replace("-", "_")
    npz = folder / f"{stem}.npz"
    np.savez_compressed(
        npz, **{v.path: v.numpy().astype(np.float16) for v in clf.model_.weights}
    )
    params = {
        k: v
        for k, v in clf.get_params().items()
        if k not in ("callbacks", "verbose", "warm_start")
    }
    params["precision"] = "float32"
    card = {
        "name": name,
        "estimator": type(clf).__name__,
        "params": params,
        "classes": clf.classes_.tolist(),
        "weights_file": npz.name,
        "weights_dtype": "float16",
        "sha256": _sha256(npz),
        "n_parameters": int(clf.model_.count_params()),
        **info,
    }
    path = folder / f"{stem}.json"
    path.write_text(json.dumps(card, indent=1) + "\n", encoding="utf-8")
    return path


def load_pretrained(
    name: str | os.PathLike = "fer2013-vgg",
    *,
    weights: str | os.PathLike | None = None,
) -> FERClassifierBase:
    """Return a fitted classifier with weights trained on FER2013.

    Parameters
    ----------
    name : str or path-like, default="fer2013-vgg"
        Which network; :func:`list_pretrained` lists the names with their
        accuracy. ``"fer2013-vgg"`` is a :class:`~skfer.FERVGGClassifier`
        trained on FER2013's 28,709 Training faces. A path ending in
        ``.json`` is the card of a network packaged outside skfer (by
        ``benchmarks/make_pretrained.py --out FOLDER``, for example the
        ensemble members in a checkout's ``benchmarks/models/``); its
        weights file, named on the card, lies beside it and is SHA-256
        checked the same way.
    weights : path-like, default=None
        A local ``.npz`` file to load instead of the shipped one; it must
        hold an array for every weight of the network (same names and
        shapes). Its SHA-256 is not checked.

    Returns
    -------
    estimator : FERClassifierBase
        The skfer classifier the card names (:class:`~skfer.FERVGGClassifier`
        for the shipped network); a fitted estimator (``predict``,
        ``predict_proba``, ``score``, inspection displays, export,
        ``save_model``), in float32, with
        ``history_`` the per-epoch training curve of the run that made it.
        Refitting it trains a new network from scratch with the same
        hyper-parameters.

    Raises
    ------
    ValueError
        If ``name`` is unknown, a card cannot be read or lacks a field, or
        the weights file is missing, damaged (SHA-256 or content) or does
        not fit the network.

    Examples
    --------
    >>> from skfer import load_pretrained
    >>> from skfer.datasets import make_expressions
    >>> clf = load_pretrained()
    >>> X, _ = make_expressions(3, random_state=0)
    >>> clf.predict_proba(X).shape
    (3, 7)
    """
    if str(name).lower().endswith(".json"):
        card_path = Path(name)
        card = _read_card(card_path)
        folder = card_path.parent
    else:
        cards = _cards()
        if name not in cards:
            raise ValueError(
                f"Unknown pretrained network {name!r}; available: {sorted(cards)}"
                " (or the path of a card, NAME.json)."
            )
        card, folder = cards[name], _WEIGHTS_DIR
    if weights is None:
        return _load_package(folder / card["weights_file"], card)
    path = Path(weights)
    if not path.is_file():
        raise ValueError(f"weights file not found: {path}")
    return _build(card, path)


#: what a card must hold for :func:`_build` and :func:`_load_package`
_CARD_FIELDS = ("name", "estimator", "params", "classes", "weights_file", "sha256")


def _read_card(path: Path) -> dict[str, Any]:
    """The card at ``path``, refusing one that cannot rebuild a network."""
    if not path.is_file():
        raise ValueError(f"card not found: {path}")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"the card {path} is not valid JSON (line {exc.lineno}, column "
            f"{exc.colno}): {exc.msg}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read the card {path}: {exc}") from None
    if not isinstance(card, dict):
        raise ValueError(f"the card {path} holds {type(card).__name__}, not an object.")
    missing = [key for key in _CARD_FIELDS if key not in card]
    if missing:
        raise ValueError(f"the card {path} lacks {', '.join(missing)}.")
    from . import classifiers

    if card["estimator"] not in classifiers.__all__:
        raise ValueError(
            f"the card {path} names estimator {card['estimator']!r}; skfer "
            f"rebuilds {', '.join(classifiers.__all__)}."
        )
    return card


def _load_package(path: Path, card: dict[str, Any]):
    """The fitted classifier of ``card`` with the weights ``path``, SHA-256 checked.

    Also loads networks packaged outside skfer (``benchmarks/models/``).
    """
    if not path.is_file():
        raise ValueError(f"the weights file of {card['name']!r} is missing: {path}")
    found = _sha256(path)
    if found != card["sha256"]:
        raise ValueError(
            f"the weights file {path} is damaged: its SHA-256 is {found}, "
            f"expected {card['sha256']}. "
            + (
                "Reinstall skfer."
                if path.parent == _WEIGHTS_DIR
                else "Restore it, or package the network again."
            )
        )
    return _build(card, path)


def _build(card: dict[str, Any], path: Path):
    """The classifier of ``card`` (not trained) with ``path``'s weights."""
    arrays = _read_weights(path)

    from . import classifiers
    from .datasets._labels import N_PIXELS

    cls = getattr(classifiers, card["estimator"])
    params = {
        k: tuple(v) if isinstance(v, list) else v for k, v in card["params"].items()
    }
    clf = cls(**params)
    classes = np.asarray(card["classes"])
    # builds the network and the label encoder, without training
    clf.initialize(np.zeros((len(classes), N_PIXELS), dtype=np.uint8), classes)
    variables = {v.path: v for v in clf.model_.weights}
    missing = sorted(set(variables) - set(arrays))
    extra = sorted(set(arrays) - set(variables))
    if missing or extra:
        raise ValueError(
            f"the weights file {path} does not fit {card['estimator']}"
            f"({card['params']}): missing {missing[:5]}, unexpected {extra[:5]}."
        )
    for key, variable in variables.items():
        value = arrays[key]
        if tuple(value.shape) != tuple(variable.shape):
            raise ValueError(
                f"the weights file {path} holds {key} of shape {value.shape}; "
                f"the network needs {tuple(variable.shape)}."
            )
        if not np.isfinite(value).all():
            raise ValueError(f"the weights file {path} holds non-finite {key}.")
        variable.assign(value.astype(variable.dtype))
    # an optimiser with its slots, as after a fit: saving and reloading the
    # estimator then round-trips without Keras warnings
    clf.model_.optimizer.build(clf.model_.trainable_variables)
    clf.history_ = {k: list(v) for k, v in card.get("history", {}).items()}
    clf.n_iter_ = len(clf.history_.get("loss", []))
    clf.validation_indices_ = None
    clf.X_shape_ = (card.get("n_train_faces", len(classes)), N_PIXELS)
    return clf
