"""Every exit code of the CLI, through Typer's CliRunner, on real models and files."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest
from cli_checks import one_line_error
from e2e_data import AuditCase, overfit_case
from typer.testing import CliRunner

from mia_audit.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> AuditCase:
    return overfit_case(tmp_path_factory.mktemp("cli"))


def _scan(*args: str) -> object:
    return runner.invoke(app, ["scan", *args])


FAST = ("--attacks", "threshold,label_only.gap")  # the boundary attack trains and queries: not needed here


def _scan_forest(case: AuditCase, *args: str) -> object:
    """The fixture's random forest holds a tree type that skops does not trust by default."""
    return _scan(str(case.model), "--trust-model", *FAST, *args)


def test_exit_0_writes_all_reports(case: AuditCase, tmp_path: Path) -> None:
    out = tmp_path / "out"
    # Every attack family, with few shadow and reference models and boundary queries to stay quick.
    quick = ("--shadow-models", "2", "--shadow-epochs", "10", "--reference-models", "2", "--boundary-queries", "10")
    result = _scan(str(case.model), "--trust-model", "--data", str(case.data), "--out", str(out), *quick)
    assert result.exit_code == 0, result.output
    for name in ("report.json", "report.html", "report.pdf", "records.csv"):
        assert (out / name).stat().st_size > 0, name
    report = json.loads((out / "report.json").read_text())
    for key in ("schema_version", "tool", "run", "model", "data", "utility", "attacks", "properties", "risk", "gate"):
        assert key in report
    assert report["schema_version"] == "1"
    environment = report["run"]["environment"]
    assert environment["threads"] >= 1 and environment["device"] == "cpu"
    assert environment["torch"] and environment["onnx"]
    gate = {"configured": False, "passed": True, "reasons": ["no gate configured"], "rules": [], "inconclusive": False}
    assert report["gate"] == gate
    assert (out / "report.pdf").read_bytes().startswith(b"%PDF")
    # The standard profile measures the output defences: DESIGN.md's keys, and the section that shows them.
    defences = report["defences"]
    assert [d["id"] for d in defences] == [
        "output.top1", "output.top3", "output.round1", "output.round2", "output.temperature", "output.label_only"
    ]  # fmt: skip
    for d in defences:
        assert {"id", "kind", "setting", "utility", "attacks", "risk_level", "notes"} <= d.keys()
        assert d["kind"] == "output" and "test_accuracy" in d["utility"]
        assert all({"id", "auc", "auc_ci", "tpr_at_fpr"} <= a.keys() for a in d["attacks"])
    assert {a["id"] for a in defences[-1]["attacks"]} == {"label_only.gap", "label_only.boundary"}
    html = (out / "report.html").read_text()
    assert "What would lower the risk, measured" in html and 'id="defence-output-label_only"' in html


def test_exit_1_when_the_gate_fails(case: AuditCase, tmp_path: Path) -> None:
    result = _scan_forest(
        case, "--data", str(case.data), "--out", str(tmp_path), "--format", "json", "--fail-on", "medium"
    )
    assert result.exit_code == 1, result.output
    assert json.loads((tmp_path / "report.json").read_text())["gate"]["passed"] is False


def test_exit_0_when_the_gate_passes(case: AuditCase, tmp_path: Path) -> None:
    result = _scan_forest(
        case, "--data", str(case.data), "--out", str(tmp_path), "--format", "json", "--max-auc", "1.0"
    )
    assert result.exit_code == 0, result.output


def test_json_to_stdout(case: AuditCase, tmp_path: Path) -> None:
    result = _scan_forest(
        case, "--data", str(case.data), "--out", str(tmp_path), "--format", "json", "--json", "-", "--quiet"
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["risk"]["level"] in ("low", "medium", "high", "critical")


def test_exit_2_missing_label_column(case: AuditCase, tmp_path: Path) -> None:
    bad = tmp_path / "nolabel.csv"
    case.frame.rename(columns={"label": "outcome"}).to_csv(bad, index=False)
    one_line_error(_scan_forest(case, "--data", str(bad), "--out", str(tmp_path)), "--label-col")


def test_exit_2_pickle_without_trust(case: AuditCase, tmp_path: Path) -> None:
    import skops.io as sio

    model = sio.load(case.model, trusted=sio.get_untrusted_types(file=case.model))
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(model))
    one_line_error(_scan(str(path), "--data", str(case.data), "--out", str(tmp_path)), "--trust-model")
    trusted = _scan(
        str(path), "--data", str(case.data), "--out", str(tmp_path), "--format", "json", "--trust-model", *FAST
    )
    assert trusted.exit_code == 0, trusted.output


def test_exit_2_features_do_not_fit_the_model(case: AuditCase, tmp_path: Path) -> None:
    bad = tmp_path / "fewer.csv"
    case.frame.drop(columns=["f3", "f4"]).to_csv(bad, index=False)
    result = _scan_forest(case, "--data", str(bad), "--out", str(tmp_path))
    one_line_error(result)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--format", "docx"], "unknown --format"),
        (["--fail-on", "severe"], "--fail-on"),
        (["--attacks", "nonsense"], "unknown attack"),
        (["--population-share", "0"], "--population-share"),
        (["--member-col", "in_train"], "--member-col"),
        (["--shadow-family", "transformer"], "--shadow-family"),
        (["--shadow-data", "web"], "--shadow-data"),
        (["--shadow-models", "0"], "--shadow-models"),
        (["--shadow-epochs", "0"], "--shadow-epochs"),
        (["--device", "tpu"], "--device"),
        (["--boundary-queries", "0"], "--boundary-queries"),
        (["--risk-from", "threshold.loss"], "--risk-from"),
    ],
)
def test_exit_2_bad_options(case: AuditCase, tmp_path: Path, extra: list[str], fragment: str) -> None:
    one_line_error(_scan_forest(case, "--data", str(case.data), "--out", str(tmp_path), *extra), fragment)


def test_exit_2_untrusted_skops_types(case: AuditCase, tmp_path: Path) -> None:
    result = _scan(str(case.model), "--data", str(case.data), "--out", str(tmp_path))
    one_line_error(result, "sklearn.tree._tree.Tree", "--trust-model")


def test_exit_2_labels_the_model_does_not_know(case: AuditCase, tmp_path: Path) -> None:
    bad = tmp_path / "relabelled.csv"
    case.frame.assign(label=case.frame["label"].replace({"red": "purple"})).to_csv(bad, index=False)
    one_line_error(_scan_forest(case, "--data", str(bad), "--out", str(tmp_path)), "'purple'", "--label-col")


def test_exit_2_transfer_corpus_without_a_label_column(case: AuditCase, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus.csv"
    case.frame.drop(columns=["label", "member"]).to_csv(corpus, index=False)
    result = _scan(
        str(case.model),
        "--trust-model",
        "--data",
        str(case.data),
        "--out",
        str(tmp_path / "o"),
        "--attacks",
        "transfer",
        "--transfer-data",
        str(corpus),
    )
    one_line_error(result, "--transfer-label-col")


def test_exit_2_missing_files(case: AuditCase, tmp_path: Path) -> None:
    one_line_error(_scan(str(tmp_path / "nope.onnx"), "--data", str(case.data)), "not found")
    one_line_error(_scan_forest(case, "--data", str(tmp_path / "nope.csv")), "not found")


def test_exit_2_not_a_model(case: AuditCase, tmp_path: Path) -> None:
    fake = tmp_path / "fake.onnx"
    fake.write_bytes(case.data.read_bytes())
    one_line_error(_scan(str(fake), "--data", str(case.data), "--out", str(tmp_path)))


def test_exit_2_refuses_to_overwrite_an_input(case: AuditCase, tmp_path: Path) -> None:
    data = tmp_path / "records.csv"
    data.write_bytes(case.data.read_bytes())
    before = data.read_bytes()
    one_line_error(_scan_forest(case, "--data", str(data), "--out", str(tmp_path)), "overwrite")
    assert data.read_bytes() == before


def test_exit_3_internal_error_without_traceback(case: AuditCase, monkeypatch: pytest.MonkeyPatch) -> None:
    import mia_audit.audit as pipeline

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline, "compute_utility", broken)
    result = _scan_forest(case, "--data", str(case.data), "--format", "json")
    assert result.exit_code == 3
    assert "internal error" in result.stderr and "Traceback" not in result.output
    debug = _scan_forest(case, "--data", str(case.data), "--format", "json", "--debug")
    assert debug.exit_code == 3 and "Traceback" in debug.stderr


def test_inspect_prints_format_and_sha(case: AuditCase) -> None:
    from mia_audit.models.base import sha256_of

    result = runner.invoke(app, ["inspect", str(case.model), "--trust-model"])
    assert result.exit_code == 0, result.output
    assert sha256_of(case.model) in result.stdout


def test_inspect_exit_2_on_pickle_without_trust(tmp_path: Path) -> None:
    path = tmp_path / "m.pkl"
    path.write_bytes(pickle.dumps({"not": "a model"}))
    result = runner.invoke(app, ["inspect", str(path)])
    assert result.exit_code == 2 and "--trust-model" in result.stderr


def test_attacks_lists_ids() -> None:
    result = runner.invoke(app, ["attacks"])
    assert result.exit_code == 0 and "threshold.loss" in result.stdout


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and "mia-audit" in result.stdout


def test_explain_prints_an_attacks_knowledge_method_and_settings() -> None:
    result = runner.invoke(app, ["explain", "label_only.boundary"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("label_only.boundary — Boundary attack")
    knowledge = result.output.split("What the attacker is assumed to have:")[1].split("Method:")[0]
    assert [line.strip("- ").strip() for line in knowledge.strip().splitlines()] == [
        "predicted label only",
        "true labels",
        "population records",
        "training-set size",
    ]
    assert "Choquette-Choo et al. 2021" in result.output and "--boundary-queries" in result.output
    auditor = runner.invoke(app, ["explain", "supervised"])
    assert auditor.exit_code == 0 and "Auditor only" in auditor.output


def test_explain_an_unknown_attack_is_one_line_with_the_closest_ids() -> None:
    one_line_error(runner.invoke(app, ["explain", "lira.onlin"]), "unknown attack 'lira.onlin'", "lira.online")


def test_help_shows_examples_and_flags_without_a_type() -> None:
    top = runner.invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert top.exit_code == 0 and "Examples:" in top.output and "mia-audit explain" in top.output
    scan = runner.invoke(app, ["scan", "--help"], env={"COLUMNS": "120"})
    assert scan.exit_code == 0 and "<bool>" not in scan.output
    for panel in ("Inputs", "Data contract", "Attacks", "Shadow and reference models", "Gate", "Output", "Run"):
        assert f"─ {panel} " in scan.output, panel
