"""Per-record exposure through the CLI: records.csv, the exposed list, --include-records, the ε bound."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from e2e_data import AuditCase, overfit_case
from typer.testing import CliRunner

from mia_audit.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> AuditCase:
    return overfit_case(tmp_path_factory.mktemp("records"))


def _scan(case: AuditCase, out: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    result = runner.invoke(
        app,
        [
            "scan",
            str(case.model),
            "--trust-model",
            "--data",
            str(case.data),
            "--attacks",
            "threshold",
            "--format",
            "json,html,csv",
            "--out",
            str(out),
            *extra,
        ],
    )
    assert result.exit_code == 0, result.output
    return json.loads((out / "report.json").read_text())  # type: ignore[no-any-return]


def test_records_csv_and_exposed_list_hold_indices_only(case: AuditCase, tmp_path: Path) -> None:
    report = _scan(case, tmp_path)
    csv = pd.read_csv(tmp_path / "records.csv")
    data = report["data"]
    assert len(csv) == data["eval_members"] + data["eval_nonmembers"]
    assert set(csv.columns) >= {"source", "row_index", "member", "label", "score:threshold.loss"}
    exposed = report["exposed_records"]
    assert len(exposed) == 20 and all(r["features"] is None for r in exposed)
    strongest = f"score:{report['risk']['strongest_attack']}"
    top = csv.sort_values(strongest, ascending=False, kind="stable").head(20)
    assert [r["row_index"] for r in exposed] == top["row_index"].tolist()
    html = (tmp_path / "report.html").read_text()
    assert "never feature values" in html
    # The overfitted forest leaks: the split-half bound is positive and names its halves.
    eps = report["epsilon_lower_bound"]
    assert eps["epsilon"] > 0.5 and len(eps["halves"]) == 2
    assert report["mitigations"][0]["id"] == "regularisation"


def test_include_records_adds_feature_values(case: AuditCase, tmp_path: Path) -> None:
    report = _scan(case, tmp_path, "--include-records")
    features = report["exposed_records"][0]["features"]
    source = pd.read_csv(case.data)
    assert set(features) == set(report["data"]["feature_cols"])
    row = source.iloc[report["exposed_records"][0]["row_index"]]
    assert all(features[c] == str(row[c]) for c in features)
    assert "--include-records" in (tmp_path / "report.html").read_text()
