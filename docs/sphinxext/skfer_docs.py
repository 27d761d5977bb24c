"""Sphinx helpers for the skfer documentation (loaded by ``docs/conf.py``).

* :func:`write_generated` writes the API-reference sections of the modules
  still being written (from their ``__all__``, or a note when they cannot be
  imported, so the build works whatever their state) and the ``--help`` of
  every ``skfer`` command.
* :func:`check_api_complete` warns (an error under ``-W``) when a public name
  is missing from the API reference.
* :func:`validate_docstring` runs numpydoc's validation on every documented
  skfer object, with the checks that make sense for its kind.
* :class:`GalleryOrder` orders the example gallery.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import sys
from pathlib import Path

from numpydoc.validate import validate
from sphinx.ext.autosummary.generate import find_autosummary_in_files
from sphinx.pycode import ModuleAnalyzer
from sphinx.util import logging

logger = logging.getLogger(__name__)

#: Modules whose ``__all__`` must be in the API reference. A name may be
#: documented under its own module or, if it is the same object, under skfer.
PUBLIC_MODULES = (
    "skfer",
    "skfer.architectures",
    "skfer.augmentation",
    "skfer.datasets",
    "skfer.deploy",
    "skfer.distributed",
    "skfer.export",
    "skfer.faces",
    "skfer.inspection",
    "skfer.video",
)

#: numpydoc checks per kind of object: GL08 no docstring, PR01 parameter not
#: documented, PR02 unknown parameter documented, RT01 no Returns section,
#: EX01 no Examples section. Methods are not required to have examples.
VALIDATION_CHECKS = {
    "class": {"GL08", "PR01", "PR02", "EX01"},
    "function": {"GL08", "PR01", "PR02", "RT01", "EX01"},
    "method": {"GL08", "PR01", "PR02", "RT01"},
}

#: Inherited members shown on class pages: the estimator API. Every other
#: member defined outside skfer (scikeras internals, metadata routing,
#: ``set_output``, Dask plugin hooks...) is left out.
INHERITED_API = {
    "fit",
    "fit_transform",
    "get_params",
    "partial_fit",
    "predict",
    "predict_proba",
    "score",
    "set_params",
    "transform",
}


# --------------------------------------------------------------------------
# Generated parts of the API reference and of the command-line page

#: Modules still being written: their API-reference section is generated from
#: ``__all__`` (or is a note when the module cannot be imported), so the build
#: works whatever state they are in. Each goes to its own include file.
GENERATED_API = {
    "skfer.inspection": "_gen_api_inspection.rst",
    "skfer.distributed": "_gen_api_distributed.rst",
}
#: Include file of ``cli.rst``: the ``--help`` of every ``skfer`` command.
GENERATED_CLI = "_gen_cli.rst"


def _api_section(modname: str) -> str:
    try:
        module = importlib.import_module(modname)
        names = sorted(module.__all__)
    except Exception as exc:  # unfinished module: say so, build on
        reason = f"{type(exc).__name__}: {exc}".replace("`", "'").replace("\n", " ")
        return (
            f".. currentmodule:: {modname}\n\n"
            ".. note::\n\n"
            f"   ``{modname}`` could not be imported when this page was built:\n"
            f"   ``{reason}``.\n"
        )
    displays = [n for n in names if n.endswith("Display")]
    classes = [
        n for n in names if n not in displays and inspect.isclass(getattr(module, n))
    ]
    functions = [n for n in names if n not in displays and n not in classes]
    blocks = [("Displays", displays), ("Classes", classes), ("Functions", functions)]
    out = [f".. automodule:: {modname}", "   :no-members:", ""]
    out += [f".. currentmodule:: {modname}", ""]
    for title, members in blocks:
        if not members:
            continue
        out += [f".. rubric:: {title}", ""]
        out += [".. autosummary::", "   :toctree: generated/", ""]
        out += [f"   {name}" for name in members] + [""]
    return "\n".join(out)


def _cli_section() -> str:
    try:
        from skfer.__main__ import _parser

        parser = _parser()
        subparsers = next(
            a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
        )
        commands = [(parser.prog, parser)] + [
            (sub.prog, sub) for sub in subparsers.choices.values()
        ]
    except Exception as exc:  # the CLI is being written: say so, build on
        reason = f"{type(exc).__name__}: {exc}".replace("`", "'").replace("\n", " ")
        return f".. note::\n\n   The command line could not be loaded: ``{reason}``.\n"
    out = []
    for prog, command in commands:
        help_text = command.format_help().rstrip()
        out += [f"``{prog}``", "-" * (len(prog) + 4), "", ".. code-block:: text", ""]
        out += [f"    {line}".rstrip() for line in help_text.splitlines()] + [""]
    return "\n".join(out)


def _write(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")  # unchanged: keep Sphinx's cache


def write_generated(srcdir: str | Path) -> None:
    """Write the generated include files (API sections, command-line help).

    Parameters
    ----------
    srcdir : str or path-like
        The documentation source folder.
    """
    srcdir = Path(srcdir)
    for modname, filename in GENERATED_API.items():
        _write(srcdir / filename, _api_section(modname))
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "80"  # argparse wraps help to the terminal width
    try:
        _write(srcdir / GENERATED_CLI, _cli_section())
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


# --------------------------------------------------------------------------
# Completeness of the API reference


def _documented(srcdir: Path) -> set[str]:
    files = [str(srcdir / "api.rst")]
    files += [str(srcdir / name) for name in GENERATED_API.values()]
    return {entry.name for entry in find_autosummary_in_files(files)}


def check_api_complete(app) -> None:
    """Warn about every public name that the API reference does not list.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The Sphinx application.
    """
    documented = _documented(Path(app.srcdir))
    import skfer

    for modname in PUBLIC_MODULES:
        try:
            module = importlib.import_module(modname)
        except Exception:
            continue
        for name in getattr(module, "__all__", ()):
            if name.startswith("__"):
                continue
            top = getattr(skfer, name, None) if name in skfer.__all__ else None
            if f"{modname}.{name}" in documented:
                continue
            if top is getattr(module, name) and f"skfer.{name}" in documented:
                continue
            logger.warning(
                "%s.%s is public (in __all__) but not in the API reference "
                "(docs/api.rst)",
                modname,
                name,
            )


# --------------------------------------------------------------------------
# Members and docstring validation


def skip_member(app, what, name, obj, skip, options):
    """Keep class pages to skfer's methods and the inherited estimator API.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The Sphinx application.
    what : str
        The kind of the object whose member this is.
    name : str
        The member's name.
    obj : object
        The member.
    skip : bool
        Whether autodoc would skip it.
    options : dict
        The autodoc options.

    Returns
    -------
    skip : bool or None
        True to skip the member, None to let autodoc decide.
    """
    if what != "class":
        return None
    if not (callable(obj) or isinstance(obj, (classmethod, staticmethod))):
        return True  # class attributes and properties: see "Attributes"
    if not _defined_in_skfer(obj) and name not in INHERITED_API:
        return True
    return None


_VALIDATED: set[str] = set()


def data_docstring(app, what, name, obj, options, lines) -> None:
    """Document a constant with its ``#:`` comment, not its type's docstring.

    ``skfer.EMOTIONS`` is defined (and commented) in a private module; autodoc
    looks for the comment in the public one only and falls back to the
    docstring of ``tuple``.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The Sphinx application.
    what : str
        The kind of object.
    name : str
        Its fully qualified name.
    obj : object
        The object.
    options : dict
        The autodoc options.
    lines : list of str
        The docstring lines, replaced in place.
    """
    if what not in ("data", "attribute") or not name.startswith("skfer."):
        return
    type_doc = type(obj).__doc__ or ""
    if lines and lines[0] and lines[0] not in type_doc:
        return  # a real docstring was found
    attr = name.rsplit(".", 1)[1]
    for modname in sorted(m for m in sys.modules if m.split(".")[0] == "skfer"):
        if getattr(sys.modules[modname], attr, None) is not obj:
            continue
        try:
            comment = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except Exception:
            continue
        if ("", attr) in comment:
            lines[:] = list(comment["", attr])
            return


def _defined_in_skfer(obj) -> bool:
    obj = getattr(obj, "__func__", obj)
    return (getattr(obj, "__module__", None) or "").startswith("skfer")


def validate_docstring(app, what, name, obj, options, lines) -> None:
    """Report numpydoc validation errors of a documented skfer object.

    Parameters
    ----------
    app : sphinx.application.Sphinx
        The Sphinx application.
    what : str
        The kind of object (``"class"``, ``"function"``, ``"method"``...).
    name : str
        Its fully qualified name.
    obj : object
        The object.
    options : dict
        The autodoc options.
    lines : list of str
        The docstring lines (left unchanged).
    """
    checks = VALIDATION_CHECKS.get(what)
    if not checks or not app.config.skfer_validate_docstrings:
        return
    if not _defined_in_skfer(obj):
        return  # inherited from scikeras/scikit-learn: not ours to fix
    if name in _VALIDATED:
        return  # autosummary and autodoc both process some docstrings
    _VALIDATED.add(name)
    errors = [
        f"{code}: {message}"
        for code, message in validate(name)["errors"]
        if code in checks
    ]
    if errors:
        logger.warning(
            "[numpydoc] %s %s:\n  %s", what, name, "\n  ".join(errors), type="numpydoc"
        )


# --------------------------------------------------------------------------
# Gallery order


class GalleryOrder:
    """Sort key of the gallery: data and pipelines, ensembles, then the rest.

    Parameters
    ----------
    src_dir : str
        The gallery's source folder (unused).
    """

    FIRST = ("plot_pipeline", "plot_ensemble")
    LAST = ("plot_study",)

    def __init__(self, src_dir: str) -> None:
        self.src_dir = src_dir

    def __call__(self, filename: str) -> tuple[int, str]:
        """Return the sort key of an example file.

        Parameters
        ----------
        filename : str
            The example's file name.

        Returns
        -------
        key : tuple of (int, str)
            Rank of its group, then the file name.
        """
        name = Path(filename).name
        for rank, prefix in enumerate(self.FIRST):
            if name.startswith(prefix):
                return rank, name
        if name.startswith(self.LAST):
            return len(self.FIRST) + 1, name
        return len(self.FIRST), name

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"
