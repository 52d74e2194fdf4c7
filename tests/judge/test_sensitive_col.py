"""--sensitive-col: read as a model feature or as a dropped column, kept per record, and shown in every report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from e2e_data import AuditCase, overfit_case
from typer.testing import CliRunner

from mia_audit.cli import app
from mia_audit.data.records import MAX_SENSITIVE_GROUPS, DataSpec, load_audit_data
from mia_audit.errors import DataContractError

runner = CliRunner()


def _frame(n: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, n),
            "sex": rng.choice(["F", "M"], n),
            "region": rng.choice(["north", "south", None], n),
            "label": rng.choice(["yes", "no"], n),
            "member": [1] * (n // 2) + [0] * (n - n // 2),
            # A continuous feature: with age alone, people of the same age and label would be copies.
            "score": rng.normal(size=n).round(6),
        }
    )


@pytest.fixture
def data_csv(tmp_path: Path) -> Path:
    path = tmp_path / "audit.csv"
    _frame().to_csv(path, index=False)
    return path


def test_sensitive_column_that_the_model_reads(data_csv: Path) -> None:
    data = load_audit_data(DataSpec(data=data_csv, drop_cols=("region",), sensitive_col="sex"), seed=0)
    assert "sex" in data.feature_cols
    assert data.sensitive is not None and data.sensitive_col == "sex"
    assert data.sensitive.tolist() == data.features["sex"].tolist()


def test_sensitive_column_the_model_does_not_read(tmp_path: Path) -> None:
    data_csv = tmp_path / "audit.csv"
    _frame().to_csv(data_csv, index=False)
    data = load_audit_data(DataSpec(data=data_csv, drop_cols=("region", "sex"), sensitive_col="sex"), seed=0)
    assert "sex" not in data.feature_cols
    assert data.sensitive is not None
    assert data.sensitive.tolist() == _frame()["sex"].tolist()


def test_empty_sensitive_cells_form_their_own_group(data_csv: Path) -> None:
    data = load_audit_data(DataSpec(data=data_csv, drop_cols=("region",), sensitive_col="region"), seed=0)
    assert data.sensitive is not None
    assert set(data.sensitive.tolist()) == {"north", "south", "(missing)"}


def test_no_sensitive_column_keeps_none(data_csv: Path) -> None:
    data = load_audit_data(DataSpec(data=data_csv, drop_cols=("region",)), seed=0)
    assert data.sensitive is None and data.sensitive_col is None


@pytest.mark.parametrize(
    ("column", "fragment"),
    [
        ("gender", "sensitive column 'gender' not found in the data file; columns are: age, sex, region, label, score"),
        ("label", "is the label column"),
        ("member", "is the membership column"),
    ],
)
def test_bad_sensitive_column_is_one_clear_error(data_csv: Path, column: str, fragment: str) -> None:
    with pytest.raises(DataContractError, match=fragment):
        load_audit_data(DataSpec(data=data_csv, drop_cols=("region",), sensitive_col=column), seed=0)


def test_a_continuous_sensitive_column_is_refused(data_csv: Path, tmp_path: Path) -> None:
    frame = _frame(200).assign(age=np.arange(200))
    path = tmp_path / "wide.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(DataContractError, match=f"200 distinct values.*at most {MAX_SENSITIVE_GROUPS}"):
        load_audit_data(DataSpec(data=path, drop_cols=("region",), sensitive_col="age"), seed=0)


def test_a_population_file_may_lack_the_column(tmp_path: Path) -> None:
    frame = _frame()
    frame[frame.member == 1].to_csv(tmp_path / "m.csv", index=False)
    frame[frame.member == 0].to_csv(tmp_path / "h.csv", index=False)
    frame.drop(columns=["sex"]).to_csv(tmp_path / "p.csv", index=False)
    spec = DataSpec(
        members=tmp_path / "m.csv",
        holdout=tmp_path / "h.csv",
        population=tmp_path / "p.csv",
        drop_cols=("region", "sex"),
        sensitive_col="sex",
    )
    data = load_audit_data(spec, seed=0)
    assert data.sensitive is not None
    assert set(data.sensitive[data.population_idx].tolist()) == {"(missing)"}


# ----------------------------------------------------------------------------- through the CLI


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> AuditCase:
    tmp = tmp_path_factory.mktemp("sensitive")
    case = overfit_case(tmp)
    frame = case.frame.assign(sex=np.where(case.frame["f3"] > 0, "F", "M"))
    frame.to_csv(case.data, index=False)
    return AuditCase(case.model, case.data, frame)


def _scan(case: AuditCase, out: Path, *args: str) -> object:
    fixed = ["--trust-model", "--attacks", "threshold", "--data", str(case.data), "--out", str(out)]
    return runner.invoke(app, ["scan", str(case.model), *fixed, *args])


def test_cli_sensitive_col_gives_per_group_exposure_in_json_and_html(case: AuditCase, tmp_path: Path) -> None:
    result = _scan(case, tmp_path, "--drop-cols", "sex", "--sensitive-col", "sex", "--format", "json,html")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    report = json.loads((tmp_path / "report.json").read_text())
    vulnerability = report["vulnerability"]
    assert vulnerability["attack_id"] == report["risk"]["strongest_attack"]
    groups = vulnerability["by_group"]
    assert groups["column"] == "sex" and [r["name"] for r in groups["rows"]] == ["F", "M"]
    for row in groups["rows"]:
        assert row["n_members"] + row["n_nonmembers"] > 0 and 0.0 <= row["auc"] <= 1.0
    assert sum(r["n_members"] for r in groups["rows"]) == vulnerability["n_members"]
    assert [r["name"] for r in vulnerability["by_class"]["rows"]] == report["model"]["classes"]
    props = report["properties"]
    assert props["group_fairness"]["value"] is not None and "sex=" in props["group_fairness"]["interpretation"]
    assert report["run"]["config"]["sensitive_col"] == "sex"
    html = (tmp_path / "report.html").read_text()
    section = html[html.index('<section id="per-class">') :]
    section = section[: section.index("</section>")]
    assert "By group (<code>sex</code>)" in section and "By class (<code>label</code>)" in section
    assert "Group fairness δ_g" in html


def test_cli_sensitive_col_that_is_a_model_feature(tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"sex": rng.integers(0, 2, 400), "x": rng.normal(size=400)})
    frame["label"] = (frame.x + frame.sex + rng.normal(size=400) > 0.5).astype(int)
    frame["member"] = (np.arange(400) < 200).astype(int)
    model = LogisticRegression().fit(frame.loc[frame.member == 1, ["sex", "x"]], frame.label[frame.member == 1])
    sio.dump(model, tmp_path / "lr.skops")
    frame.to_csv(tmp_path / "audit.csv", index=False)
    case = AuditCase(tmp_path / "lr.skops", tmp_path / "audit.csv", frame)
    result = _scan(case, tmp_path / "out", "--sensitive-col", "sex", "--format", "json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["data"]["feature_cols"] == ["sex", "x"]
    assert [r["name"] for r in report["vulnerability"]["by_group"]["rows"]] == ["0", "1"]


def test_cli_without_sensitive_col_says_so(case: AuditCase, tmp_path: Path) -> None:
    result = _scan(case, tmp_path, "--drop-cols", "sex", "--format", "json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["vulnerability"]["by_group"] is None
    assert "No --sensitive-col" in report["vulnerability"]["group_note"]
    assert report["properties"]["group_fairness"]["value"] is None


def test_cli_missing_sensitive_column_exits_2_with_one_line(case: AuditCase, tmp_path: Path) -> None:
    result = _scan(case, tmp_path, "--drop-cols", "sex", "--sensitive-col", "gender")
    assert result.exit_code == 2, result.output  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    lines = result.stderr.strip().splitlines()  # type: ignore[attr-defined]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], lines
    assert "sensitive column 'gender' not found" in errors[0] and "columns are: f0, f1" in errors[0]
