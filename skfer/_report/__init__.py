"""The ``skfer report`` job: train, evaluate and write a browsable report.

It composes the library (datasets, classifiers, ensembles, inspection,
persistence) and holds no model logic of its own. The command-line side is
:func:`add_report_parser`, :func:`add_train_parser` and
:func:`add_evaluate_parser`, wired into ``skfer.__main__``.

Private: the supported interface is the ``skfer report``, ``skfer train``
and ``skfer evaluate`` commands (see the command-line page of the
documentation); the Python names here may change without notice.
"""

from ._cli import add_evaluate_parser, add_report_parser, add_train_parser
from ._metrics import library_versions, score_model
from ._report import check_output_folder, write_report
from ._training import (
    MODEL_NAMES,
    FitResult,
    fit_with_progress,
    load_splits,
    make_ensemble,
    make_estimator,
    parse_models,
)

__all__ = [
    "MODEL_NAMES",
    "FitResult",
    "add_evaluate_parser",
    "add_report_parser",
    "add_train_parser",
    "check_output_folder",
    "fit_with_progress",
    "library_versions",
    "load_splits",
    "make_ensemble",
    "make_estimator",
    "parse_models",
    "score_model",
    "write_report",
]
