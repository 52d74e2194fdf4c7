"""``records.csv``: one row per evaluation record with every attack's score — indices, never features."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mia_audit.result import AuditResult


def records_frame(result: AuditResult) -> pd.DataFrame:
    if result.records is None:
        raise ValueError("this result holds no per-record scores (it was read back from report.json)")
    rec = result.records
    frame = pd.DataFrame({"source": rec.source, "row_index": rec.row_index, "member": rec.member, "label": rec.label})
    for attack_id, scores in rec.scores.items():
        frame[f"score:{attack_id}"] = scores
    return frame


def write_records_csv(result: AuditResult, path: Path) -> None:
    records_frame(result).to_csv(path, index=False, float_format="%.6g")
