"""report.json can be read back into an AuditResult (for re-rendering) without losing anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mia_audit.errors import InputFileError
from mia_audit.result import AuditResult
from mia_audit.result.codec import dumps, read_json, to_dict


def test_round_trip_keeps_every_key_and_number(audit_result: AuditResult, tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(dumps(audit_result))
    back = read_json(path)
    assert to_dict(back) == to_dict(audit_result)
    assert back.records is None  # per-record scores live in records.csv, not in the JSON


def test_design_keys_are_present(audit_result: AuditResult) -> None:
    d = to_dict(audit_result)
    assert {
        "schema_version",
        "tool",
        "run",
        "model",
        "data",
        "utility",
        "attacks",
        "properties",
        "risk",
        "gate",
    } <= set(d)
    attack = d["attacks"][0]
    for key in (
        "id",
        "family",
        "title",
        "assumptions",
        "auc",
        "auc_ci",
        "tpr_at_fpr",
        "advantage",
        "precision",
        "recall",
        "accuracy",
        "epsilon_lower_bound",
        "queries",
        "duration_s",
        "per_class_auc",
    ):
        assert key in attack, key


def test_not_a_report_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"schema_version": "1", "hello": 1}))
    with pytest.raises(InputFileError, match=r"not a mia-audit report\.json"):
        read_json(path)
    path.write_text(json.dumps({"schema_version": "9"}))
    with pytest.raises(InputFileError, match="schema_version"):
        read_json(path)
