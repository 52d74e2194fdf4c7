"""``records.csv``: one row per evaluation record with every attack's score — indices, never features."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mia_audit.result import AuditResult

# A spreadsheet runs a cell that starts with one of these as a formula (OWASP: CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: object) -> object:
    """Text that a spreadsheet would run as a formula, prefixed with ' so that it shows as text."""
    return "'" + value if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def records_frame(result: AuditResult) -> pd.DataFrame:
    if result.records is None:
        raise ValueError("this result holds no per-record scores (it was read back from report.json)")
    rec = result.records
    frame = pd.DataFrame(
        {
            "source": [neutralise(s) for s in rec.source],
            "row_index": rec.row_index,
            "member": rec.member,
            "label": [neutralise(label) for label in rec.label],
        }
    )
    for attack_id, scores in rec.scores.items():
        frame[f"score:{attack_id}"] = scores
    return frame


def write_records_csv(result: AuditResult, path: Path) -> None:
    records_frame(result).to_csv(path, index=False, float_format="%.6g")
