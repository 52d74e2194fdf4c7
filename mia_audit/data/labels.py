"""Map the labels in the audit data to the column order of the model's outputs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mia_audit.errors import ModelDataMismatchError


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
    raise ModelDataMismatchError(
        f"labels {shown} are not classes of the model ({model_classes}); "
        "check --label-col or recode the labels to the model's classes."
    )


def _is_index_range(classes: tuple[object, ...]) -> bool:
    return [label_key(c) for c in classes] == [str(i) for i in range(len(classes))]
