"""Query-heavy label_only.boundary scores a seeded subsample of a large evaluation set (--boundary-records):
its metrics and intervals come from the subsample, the report says so, and nothing else reads the gaps."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from e2e_data import AuditCase, overfit_case
from typer.testing import CliRunner

from mia_audit.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], pd.DataFrame]:
    folder = tmp_path_factory.mktemp("subsample")
    case: AuditCase = overfit_case(folder)
    out = folder / "out"
    args = ["scan", str(case.model), "--data", str(case.data), "--out", str(out), "--trust-model"]
    args += ["--attacks", "threshold.loss,label_only", "--boundary-records", "100", "--boundary-queries", "10"]
    result = runner.invoke(app, [*args, "--format", "json,csv"])
    assert result.exit_code == 0, result.output
    return json.loads((out / "report.json").read_text()), pd.read_csv(out / "records.csv")


def test_the_boundary_metrics_come_from_the_subsample(report: tuple[dict[str, object], pd.DataFrame]) -> None:
    data, _ = report
    attacks = {a["id"]: a for a in data["attacks"]}  # type: ignore[attr-defined]
    boundary, loss = attacks["label_only.boundary"], attacks["threshold.loss"]
    assert boundary["n_members"] + boundary["n_nonmembers"] == 100
    assert loss["n_members"] + loss["n_nonmembers"] == 600
    assert any("subsample of 100 of the 600 evaluation records" in n for n in boundary["notes"])
    assert data["run"]["config"]["boundary_records"] == 100  # type: ignore[index]
    # The split-half ε is measured on all evaluation records: the subsampled attack is not a candidate.
    assert "label_only.boundary" not in data["epsilon_lower_bound"]["candidates"]  # type: ignore[index]


def test_records_csv_leaves_the_unscored_records_empty(report: tuple[dict[str, object], pd.DataFrame]) -> None:
    _, records = report
    column = records["score:label_only.boundary"]
    assert column.notna().sum() == 100 and len(records) == 600
    assert records["score:threshold.loss"].notna().all()
