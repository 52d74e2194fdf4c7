"""``--transfer-data``: the attacker's own table of another task, read with the audit data, before any attack."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from mia_audit.data.files import read_table
from mia_audit.data.records import LABEL_CANDIDATES
from mia_audit.errors import ConfigError


@dataclass(frozen=True)
class TransferTable:
    """The table as read (rows without a label dropped) and its label column."""

    path: Path
    frame: pd.DataFrame
    label_col: str

    @property
    def name(self) -> str:
        return self.path.name


def read_transfer_table(path: Path, label_col: str | None) -> TransferTable:
    frame, _ = read_table(path, "transfer data")
    col = _find_label_col(frame, label_col, path)
    return TransferTable(path, frame[frame[col].notna()].reset_index(drop=True), col)


def _find_label_col(frame: pd.DataFrame, label_col: str | None, path: object) -> str:
    if label_col is not None:
        if label_col not in frame.columns:
            raise ConfigError(
                f"transfer data {path} has no label column '{label_col}'; "
                f"its columns are {', '.join(map(str, frame.columns[:20]))}. Check --transfer-label-col."
            )
        return label_col
    lower = {str(c).lower(): str(c) for c in frame.columns}
    for name in LABEL_CANDIDATES:
        if name in lower:
            return lower[name]
    raise ConfigError(
        f"transfer data {path} has none of the label columns {', '.join(LABEL_CANDIDATES)}; "
        "name its label column with --transfer-label-col."
    )
