"""Map the labels in the audit data to the column order of the model's outputs."""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from mia_audit.errors import DataContractError, ModelDataMismatchError

# The true values of a regression audit are cut at these quantiles for the per-range breakdown.
VALUE_QUANTILES = (0.25, 0.5, 0.75)


@dataclass(frozen=True)
class LabelMapping:
    indices: np.ndarray
    note: str | None


def label_key(value: object) -> str:
    """Compare labels by text, so that 1, 1.0, '1' and np.int64(1) all match."""
    if isinstance(value, (bool, np.bool_)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value).strip()


def map_labels(raw: np.ndarray, classes: tuple[object, ...]) -> LabelMapping:
    """Index each raw label into ``classes``.

    A model exported from torch knows its classes only as 0..C-1. When the data hold text labels
    instead, they are matched in sorted order (the convention of scikit-learn's LabelEncoder),
    and the mapping is stated in the report.
    """
    lookup = {label_key(c): i for i, c in enumerate(classes)}
    keys = np.array([label_key(v) for v in raw], dtype=object)
    known = np.array([k in lookup for k in keys])
    if known.all():
        return LabelMapping(np.array([lookup[k] for k in keys], dtype=np.int64), None)

    distinct = sorted(set(keys))
    if _is_index_range(classes) and len(distinct) <= len(classes) and not known.any():
        order = {k: i for i, k in enumerate(distinct)}
        shown = ", ".join(f"{k}→{i}" for k, i in list(order.items())[:10])
        note = (
            "The model names its classes only by index; the data's labels were matched to them in "
            f"sorted order ({shown}{', …' if len(order) > 10 else ''})."
        )
        return LabelMapping(np.array([order[k] for k in keys], dtype=np.int64), note)

    unknown = sorted(set(keys[~known]))
    shown = ", ".join(repr(u) for u in unknown[:5]) + (", …" if len(unknown) > 5 else "")
    model_classes = ", ".join(repr(label_key(c)) for c in classes[:10]) + (", …" if len(classes) > 10 else "")
    hint = "; if the model predicts numbers, pass --task regression" if _looks_numeric(distinct) else ""
    raise ModelDataMismatchError(
        f"labels {shown} are not classes of the model ({model_classes}); "
        f"check --label-col or recode the labels to the model's classes{hint}."
    )


def _looks_numeric(keys: list[str]) -> bool:
    """Many distinct numbers, or fractions: values of a regression target, not class labels."""
    try:
        values = [float(k) for k in keys]
    except ValueError:
        return False
    return len(values) > 20 or any(not v.is_integer() for v in values)


def _is_index_range(classes: tuple[object, ...]) -> bool:
    return [label_key(c) for c in classes] == [str(i) for i in range(len(classes))]


def numeric_targets(raw: np.ndarray, label_col: str) -> np.ndarray:
    """The label column of a regression audit as finite floats; anything else is a data-contract error."""
    import pandas as pd

    values = pd.to_numeric(pd.Series(raw), errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        shown = ", ".join(repr(v) for v in list(dict.fromkeys(raw[bad].tolist()))[:3])
        raise DataContractError(
            f"label column '{label_col}' has {int(bad.sum())} values that are not finite numbers ({shown}); "
            "--task regression needs a number per record: fix or drop those rows, or name the column with --label-col."
        )
    return values


def value_ranges(values: np.ndarray) -> tuple[np.ndarray, tuple[str, ...]]:
    """Every record's quartile of the true value (an index) and the ranges' names ("87 to under 140.5"), for
    per-range exposure.

    The cut points are quantiles over all audit records, which needs no membership.
    """
    cuts = np.unique(np.quantile(values, VALUE_QUANTILES))
    cuts = cuts[cuts > values.min()]  # no empty range below the smallest value
    index = np.searchsorted(cuts, values, side="right").astype(np.int64)
    if len(cuts) == 0:
        return index, ("all values",)
    edges = [f"{c:.4g}" for c in cuts]
    names = [f"under {edges[0]}"] + [f"{a} to under {b}" for a, b in pairwise(edges)] + [f"{edges[-1]} or more"]
    return index, tuple(names)
