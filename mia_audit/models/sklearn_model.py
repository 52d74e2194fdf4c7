"""Target adapter for scikit-learn classifiers saved with skops, pickle or joblib.

The estimator is queried with the first method it offers of ``predict_proba`` (output kind
probabilities), ``decision_function`` (logits, through a stable softmax; a binary model's single
score d becomes the logits ``[0, d]``, so the second class gets probability sigmoid(d) as in
logistic regression; a multi-class one-vs-rest score matrix is softmaxed as it is) and ``predict``
(labels, returned one-hot). Classes are the estimator's ``classes_`` (a Pipeline's final step).
``output`` (``--output``) names one of those methods, ``output_kind`` (``--output-kind``) the kind
(probabilities: ``predict_proba``, logits: ``decision_function``, labels: ``predict``). A regressor
is refused (it has no classes to audit), and ``predict_proba`` must return probability rows
(non-negative, summing to one).

An estimator fitted on a DataFrame (``feature_names_in_``) gets the data's columns by name, so
Pipelines over raw string columns work; one fitted on an array gets all columns in order, checked
against ``n_features_in_``.

Loading: skops files are audited with ``skops.io.get_untrusted_types`` and load only when every
type is trusted or the caller trusts the file; pickle and joblib files run code when loaded and so
load only with ``trust_model``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mia_audit.errors import InputFileError, ModelDataMismatchError, ModelLoadError
from mia_audit.models.base import (
    REGRESSION_HINT,
    ModelInfo,
    OutputKind,
    RegressorFound,
    TensorInfo,
    looks_like_probabilities,
    one_hot,
    one_line,
    sha256_of,
    stable_softmax,
)

PICKLE_FORMATS = {
    ".pkl": "sklearn-pickle",
    ".pickle": "sklearn-pickle",
    ".joblib": "sklearn-joblib",
}

_METHODS = ("predict_proba", "decision_function", "predict")
_METHOD_OF_KIND = {"probabilities": "predict_proba", "logits": "decision_function", "labels": "predict"}

_TREE_STORAGE_TYPES = {
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
}


@dataclass(frozen=True)
class Reading:
    """How the adapter queries a model: rows per batch, which method (``--output``) and what it returns."""

    batch_size: int = 4096
    output: str | None = None
    output_kind: str = "auto"


def load_skops(path: str | Path, *, trust_model: bool = False, reading: Reading = Reading()) -> SklearnModel:
    """Load a ``.skops`` file after auditing its types; see the module docstring."""
    estimator, details = read_skops(path, trust_model=trust_model)
    return SklearnModel(estimator, path=path, fmt="sklearn-skops", details=details, **asdict(reading))


def load_pickled(path: str | Path, *, trust_model: bool = False, reading: Reading = Reading()) -> SklearnModel:
    """Load a pickle or joblib file; refused unless ``trust_model`` because unpickling runs code."""
    estimator, fmt, details = read_pickled(path, trust_model=trust_model)
    return SklearnModel(estimator, path=path, fmt=fmt, details=details, **asdict(reading))


def read_skops(path: str | Path, *, trust_model: bool = False) -> tuple[Any, dict[str, str]]:
    """The object in a ``.skops`` file, whatever it is, and the details of its loading (warnings, trusted types)."""
    import skops.io as sio

    path = _existing(path)
    try:
        untrusted = sio.get_untrusted_types(file=path)
    except Exception as exc:  # a zip error, a missing schema, bad JSON: not a skops file
        raise ModelLoadError(f"{path} is not a readable skops file: {one_line(exc)}") from exc
    if untrusted and not trust_model:
        raise ModelLoadError(
            f"{path} contains types that skops does not trust: {', '.join(untrusted)}"
            f"{_untrusted_reason(untrusted)}; inspect them and re-run with --trust-model if you "
            "trust this file"
        )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            estimator = sio.load(path, trusted=untrusted or None)
        except Exception as exc:  # a missing module or a broken object tree
            raise ModelLoadError(f"skops cannot load {path}: {one_line(exc)}") from exc
    details = _warning_details(caught)
    if untrusted:
        details["trusted_types"] = ", ".join(untrusted)
    return estimator, details


def read_pickled(path: str | Path, *, trust_model: bool = False) -> tuple[Any, str, dict[str, str]]:
    """The object in a pickle or joblib file, its format name and the details of its loading; refused unless
    ``trust_model`` because unpickling runs code."""
    path = _existing(path)
    fmt = PICKLE_FORMATS.get(path.suffix.lower(), "sklearn-pickle")
    if not trust_model:
        raise ModelLoadError(
            f"{path} is a {fmt.removeprefix('sklearn-')} file and unpickling runs arbitrary code, "
            "so it is not loaded by default; re-run with --trust-model if you trust this file, "
            "or export it with skops/ONNX"
        )
    import joblib  # reads plain pickles as well as joblib's own files

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            estimator = joblib.load(path)
        except Exception as exc:  # unpickling can fail in any way a class's code chooses
            raise ModelLoadError(f"cannot unpickle {path}: {one_line(exc)}") from exc
    return estimator, fmt, _warning_details(caught)


class SklearnModel:
    """A fitted scikit-learn classifier queried in batches of ``batch_size`` rows."""

    def __init__(
        self,
        estimator: Any,
        *,
        path: str | Path,
        fmt: str,
        batch_size: int = 4096,
        details: Mapping[str, str] | None = None,
        output: str | None = None,
        output_kind: str = "auto",
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}")
        self._path = Path(path)
        _check_classifier(estimator, self._path)
        self._estimator = estimator
        self._format = fmt
        self._batch_size = batch_size
        self._classes = _classes_of(estimator, self._path)
        self._index = {c: i for i, c in enumerate(self._classes)}
        self._method = _query_method(estimator, self._path, output, output_kind)
        self._names = feature_names(estimator)
        self._n_features_in = n_features_in(estimator, self._names)
        self._sha256 = sha256_of(self._path) if self._path.is_file() else ""
        self._details = dict(details or {})
        self._queries = 0

    # -- the TargetModel protocol ------------------------------------------------------------

    @property
    def classes(self) -> tuple[object, ...]:
        return self._classes

    @property
    def n_classes(self) -> int:
        return len(self._classes)

    @property
    def output_kind(self) -> OutputKind:
        return {
            "predict_proba": OutputKind.PROBABILITIES,
            "decision_function": OutputKind.LOGITS,
            "predict": OutputKind.LABELS,
        }[self._method]

    @property
    def queries(self) -> int:
        return self._queries

    @property
    def estimator(self) -> Any:
        return self._estimator

    @property
    def architecture(self) -> None:
        """A scikit-learn target is cloned, not read: see ``estimator``."""
        return None

    @property
    def info(self) -> ModelInfo:
        return ModelInfo(
            path=str(self._path),
            format=self._format,
            sha256=self._sha256,
            inputs=input_infos(self._names, self._n_features_in),
            outputs=(self._output_info(),),
            classes=self._classes,
            output_kind=self.output_kind,
            n_features=self._n_features_in,
            details={**estimator_details(self._estimator, self._method), **self._details},
        )

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X)
        model_input = estimator_input(frame, self._names, self._n_features_in)
        parts = []
        for start in range(0, len(frame), self._batch_size):
            batch = model_input[start : start + self._batch_size]
            parts.append(self._query(batch, frame))
            self._queries += len(batch)
        if not parts:
            return np.zeros((0, self.n_classes), dtype=np.float64)
        return np.vstack(parts)

    # -- querying ----------------------------------------------------------------------------

    def _query(self, batch: pd.DataFrame | np.ndarray, frame: pd.DataFrame) -> np.ndarray:
        try:
            out = np.asarray(getattr(self._estimator, self._method)(batch))
        except (ValueError, TypeError) as exc:
            raise ModelDataMismatchError(rejection(exc, frame, self._names)) from exc
        if self._method == "predict":
            return self._labels_to_one_hot(out)
        scores = out.astype(np.float64)
        if self._method == "decision_function" and scores.ndim == 1:
            scores = np.column_stack([np.zeros_like(scores), scores])
        if scores.ndim != 2 or scores.shape[1] != self.n_classes:
            raise ModelLoadError(
                f"{self._path.name}: {self._method} returned shape {scores.shape} for {self.n_classes} classes"
            )
        if self._method == "predict_proba":
            _check_probability_rows(scores, self._path)
        return stable_softmax(scores) if self._method == "decision_function" else scores

    def _labels_to_one_hot(self, labels: np.ndarray) -> np.ndarray:
        values = [_plain(v) for v in labels.ravel().tolist()]
        unknown = sorted({repr(v) for v in values if v not in self._index})
        if unknown:
            raise ModelLoadError(
                f"{self._path.name}: predict returned labels {', '.join(unknown[:5])} that are not in classes_"
            )
        indices = np.asarray([self._index[v] for v in values], dtype=np.int64)
        return one_hot(indices, self.n_classes)

    # -- description -------------------------------------------------------------------------

    def _output_info(self) -> TensorInfo:
        if self._method == "predict":
            return TensorInfo("predict", "label", (None,))
        return TensorInfo(self._method, "float64", (None, self.n_classes))


# -- shared with the regressor adapter (models.regressor) --------------------------------------------------------


def estimator_input(
    frame: pd.DataFrame, names: tuple[str, ...] | None, n_columns: int | None
) -> pd.DataFrame | np.ndarray:
    """What the estimator is given: the frame's columns by name when it was fitted on a DataFrame, else all columns
    as an array, checked against ``n_columns`` (the estimator's ``n_features_in_``)."""
    if names is not None:
        by_name = {str(c): i for i, c in enumerate(frame.columns)}
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ModelDataMismatchError(
                f"the model was fitted on columns the data lack: {_preview(missing)}; "
                "rename the data's columns to the model's feature names"
            )
        selected = frame.iloc[:, [by_name[n] for n in names]]
        return selected.set_axis(list(names), axis=1)
    if n_columns is not None and frame.shape[1] != n_columns:
        raise ModelDataMismatchError(
            f"the model takes {n_columns} feature columns but the data have "
            f"{frame.shape[1]} ({_preview([str(c) for c in frame.columns])}); choose the "
            "model's features with --feature-cols or drop the others with --drop-cols"
        )
    # Fitted on an array: pass one (sklearn would warn about a DataFrame's column names).
    # Plain numpy columns keep their dtype; pandas' nullable ones become float with NaN.
    if all(isinstance(dtype, np.dtype) for dtype in frame.dtypes):
        return frame.to_numpy()
    if all(_is_numeric(frame.iloc[:, j]) for j in range(frame.shape[1])):
        return frame.to_numpy(dtype=np.float64, na_value=np.nan)
    return frame.to_numpy()


def rejection(exc: Exception, frame: pd.DataFrame, names: tuple[str, ...] | None) -> str:
    """The one line for data the estimator refused to predict on."""
    message = f"the model rejected the data: {one_line(exc, limit=200)}"
    text_columns = [str(c) for j, c in enumerate(frame.columns) if not _is_numeric(frame.iloc[:, j])]
    if text_columns and names is None:
        message += (
            f" (columns holding text: {_preview(text_columns)}; drop them with --drop-cols "
            "or encode them as the model expects)"
        )
    return message


def input_infos(names: tuple[str, ...] | None, n_columns: int | None) -> tuple[TensorInfo, ...]:
    if names is not None:
        return tuple(TensorInfo(name, "column", (None,)) for name in names)
    return (TensorInfo("X", "numeric", (None, n_columns)),)


def estimator_details(estimator: Any, method: str) -> dict[str, str]:
    """``inspect``'s details of a scikit-learn target: the estimator (a Pipeline's final step too), the method."""
    import sklearn

    final = final_estimator(estimator)
    details = {
        "estimator": qualified_name(estimator),
        "query_method": method,
        "sklearn_version_here": sklearn.__version__,
    }
    if final is not estimator:
        details["final_estimator"] = qualified_name(final)
    return details


def is_regressor(estimator: Any) -> bool:
    """Whether a scikit-learn object, or a Pipeline's final step, is a regressor."""
    return _is_regressor(estimator) or _is_regressor(final_estimator(estimator))


def is_classifier(estimator: Any) -> bool:
    """Whether a scikit-learn object, or a Pipeline's final step, is a classifier (by its tags, or its classes_)."""
    from sklearn.base import is_classifier as tagged_classifier

    for candidate in (estimator, final_estimator(estimator)):
        if getattr(candidate, "classes_", None) is not None:
            return True
        try:
            if tagged_classifier(candidate):
                return True
        except Exception:  # not a scikit-learn estimator, or tags it cannot read
            continue
    return False


# -- inspecting the estimator ------------------------------------------------------------------


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"model file not found: {path}")
    return path


def _check_classifier(estimator: Any, path: Path) -> None:
    if not callable(getattr(estimator, "predict", None)):
        raise ModelLoadError(f"{path} holds a {qualified_name(estimator)} object, not a model with a predict method")
    final = final_estimator(estimator)
    if is_regressor(estimator):
        raise RegressorFound(
            f"{path} holds a {qualified_name(final)}: a regressor, not a classifier; it predicts numbers, "
            "not classes, so there are no class probabilities, scores or labels to audit; audit a fitted "
            f"classifier (one with classes_); {REGRESSION_HINT}"
        )


def _is_regressor(estimator: Any) -> bool:
    if getattr(estimator, "_estimator_type", None) == "regressor":
        return True
    try:
        from sklearn.base import is_regressor

        return bool(is_regressor(estimator))
    except Exception:  # not a scikit-learn estimator, or tags it cannot read: judged by classes_ later
        return False


def _check_probability_rows(scores: np.ndarray, path: Path) -> None:
    finite = scores[np.all(np.isfinite(scores), axis=1)]
    if len(finite) and not looks_like_probabilities(finite):
        sums = finite.sum(axis=1)
        raise ModelDataMismatchError(
            f"{path.name}: predict_proba returned rows that are not probabilities (values in "
            f"[{finite.min():.4g}, {finite.max():.4g}], row sums {sums.min():.4g}–{sums.max():.4g}); choose "
            "another output with --output decision_function or --output predict"
        )


def _classes_of(estimator: Any, path: Path) -> tuple[object, ...]:
    classes = getattr(estimator, "classes_", None)
    if classes is None:
        classes = getattr(final_estimator(estimator), "classes_", None)
    if classes is None:
        raise ModelLoadError(
            f"{path} holds a {qualified_name(estimator)} without classes_: not a fitted "
            "classifier (a regressor, or an estimator that was never fitted)"
        )
    array = np.asarray(classes, dtype=object) if isinstance(classes, list) else np.asarray(classes)
    if array.ndim != 1 or len(array) < 2:
        raise ModelLoadError(
            f"{path}: classes_ has shape {array.shape}; only single-output classifiers with at "
            "least two classes are supported"
        )
    return tuple(_plain(c) for c in array.tolist())


def _query_method(estimator: Any, path: Path, output: str | None = None, requested: str = "auto") -> str:
    """The method to query: ``output`` when given, else the one ``requested`` names, else the first offered."""
    offered = _offered_methods(estimator)
    if output is not None and output not in offered:
        raise ModelLoadError(
            f"{path.name}: --output {output!r} is not an output of this {qualified_name(estimator)}; a "
            f"scikit-learn model's outputs are its methods: {', '.join(offered)}"
        )
    wanted = _METHOD_OF_KIND.get(requested)
    if wanted is not None and wanted not in offered:
        raise ModelLoadError(
            f"{path.name}: --output-kind {requested} needs {wanted}, which this {qualified_name(estimator)} "
            f"does not offer (it offers {', '.join(offered)})"
        )
    if output is not None and wanted is not None and output != wanted:
        raise ModelLoadError(
            f"{path.name}: --output {output} gives {_kind_of(output)}, not {requested}; drop one of the two options"
        )
    return output or wanted or offered[0]


def _offered_methods(estimator: Any) -> list[str]:
    final = final_estimator(estimator)
    # One-vs-one scores have one column per pair of classes, not per class.
    ovo = getattr(final, "decision_function_shape", "ovr") == "ovo"
    return [m for m in _METHODS if hasattr(estimator, m) and not (m == "decision_function" and ovo)]


def _kind_of(method: str) -> str:
    return next(kind for kind, m in _METHOD_OF_KIND.items() if m == method)


def feature_names(estimator: Any) -> tuple[str, ...] | None:
    names = getattr(estimator, "feature_names_in_", None)
    return None if names is None else tuple(str(n) for n in names)


def n_features_in(estimator: Any, names: tuple[str, ...] | None) -> int | None:
    if names is not None:
        return len(names)
    n = getattr(estimator, "n_features_in_", None)
    return int(n) if isinstance(n, int | np.integer) else None


def final_estimator(estimator: Any) -> Any:
    steps = getattr(estimator, "steps", None)
    if isinstance(steps, list) and steps:
        return steps[-1][1]
    return estimator


def qualified_name(obj: Any) -> str:
    kind = type(obj)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _untrusted_reason(untrusted: Sequence[str]) -> str:
    if any(name in _TREE_STORAGE_TYPES for name in untrusted):
        return (
            " (skops never trusts tree node storage by default: a crafted file can crash the "
            "process when the model predicts)"
        )
    return ""


def _warning_details(caught: Sequence[warnings.WarningMessage]) -> dict[str, str]:
    messages = list(dict.fromkeys(one_line(w.message, limit=200) for w in caught))
    return {"load_warnings": " | ".join(messages[:3])} if messages else {}


def _is_numeric(column: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column))


def _plain(value: object) -> object:
    return value.item() if isinstance(value, np.generic) else value


def _preview(items: Sequence[object], limit: int = 10) -> str:
    shown = ", ".join(str(i) for i in items[:limit])
    return shown + (f", … ({len(items)} in all)" if len(items) > limit else "")
