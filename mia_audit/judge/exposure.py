"""The most exposed records: those the strongest attack scores highest.

By default they are named by row index, role and class only, so the report does not itself leak
training records; feature values are attached only when the user asks (``--include-records``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from mia_audit.result import ExposedRecord, RecordScores

TOP_RECORDS = 20


def most_exposed(
    records: RecordScores,
    attack_id: str,
    features: pd.DataFrame | None = None,
    n: int = TOP_RECORDS,
) -> tuple[ExposedRecord, ...]:
    """The ``n`` highest-scoring evaluation records of ``attack_id``.

    ``features`` (one row per evaluation record, in the order of ``records``) adds each record's
    feature values as text. NaN scores rank last; ties keep the evaluation order.
    """
    if attack_id not in records.scores:
        return ()
    scores = np.asarray(records.scores[attack_id], dtype=np.float64)
    key = np.where(np.isnan(scores), np.inf, -scores)
    order = np.argsort(key, kind="stable")[:n]
    return tuple(
        ExposedRecord(
            rank=rank,
            row_index=records.row_index[i],
            source=records.source[i],
            member=records.member[i],
            label=records.label[i],
            score=float(scores[i]),
            features=None if features is None else {str(c): str(v) for c, v in features.iloc[i].items()},
        )
        for rank, i in enumerate(order.tolist(), start=1)
    )
