"""The CLI in a pipeline: `report` re-rendering, --junit, --json -, --quiet/--verbose, plain output off a terminal."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from cli_checks import one_line_error
from e2e_data import AuditCase, overfit_case
from typer.testing import CliRunner

from mia_audit.cli import app

runner = CliRunner()
ANSI = "\x1b["


@pytest.fixture(autouse=True)
def _no_forced_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A CI runner may set these; the tests check what happens when nothing forces a terminal."""
    for name in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE", "CLICOLOR_FORCE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> AuditCase:
    return overfit_case(tmp_path_factory.mktemp("ci"))


def _scan(case: AuditCase, out: Path, *args: str) -> Any:
    common = ("--trust-model", "--data", str(case.data), "--out", str(out), "--attacks", "threshold")
    return runner.invoke(app, ["scan", str(case.model), *common, "--format", "json", *args])


@pytest.fixture(scope="module")
def scanned(case: AuditCase, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scan's folder with report.json and report.html (the PDF is re-rendered once, below)."""
    out = tmp_path_factory.mktemp("scanned")
    result = _scan(case, out, "--format", "json,html", "--fail-on", "critical")
    assert result.exit_code == 0, result.output
    return out


def _section_ids(html: str) -> list[str]:
    return re.findall(r'<section id="([^"]+)"', html)


def _pdf_text(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [page.extract_text() for page in PdfReader(path).pages]


# ----------------------------------------------------------------- mia-audit report


def test_report_rerenders_the_same_html_and_pdf(scanned: Path, tmp_path: Path) -> None:
    out = tmp_path / "again"
    result = runner.invoke(app, ["report", str(scanned / "report.json"), "--format", "html,pdf", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "report.pdf"]
    first, again = (scanned / "report.html").read_text(), (out / "report.html").read_text()
    assert _section_ids(again) == _section_ids(first) and len(_section_ids(first)) > 5
    assert again == first
    pdf = " ".join(_pdf_text(out / "report.pdf"))
    stored = json.loads((scanned / "report.json").read_text())
    assert stored["risk"]["level"].upper() in pdf and stored["risk"]["strongest_attack"] in pdf
    assert f"wrote {out / 'report.html'}" in result.stdout


def test_report_detail_full_adds_the_long_tables_and_a_bad_detail_is_one_line(scanned: Path, tmp_path: Path) -> None:
    summary = (scanned / "report.html").read_text()
    result = runner.invoke(
        app, ["report", str(scanned / "report.json"), "--format", "html", "--out", str(tmp_path), "--detail", "full"]
    )
    assert result.exit_code == 0, result.output
    full = (tmp_path / "report.html").read_text()
    assert "Table 2. Attacker knowledge" in full and "Table 2. Attacker knowledge" not in summary
    bad = runner.invoke(app, ["report", str(scanned / "report.json"), "--out", str(tmp_path), "--detail", "long"])
    assert bad.exit_code == 2 and "--detail must be one of summary, full" in bad.stderr
    assert "Traceback" not in bad.output


def test_report_writes_beside_the_json_by_default(scanned: Path, tmp_path: Path) -> None:
    shutil.copy(scanned / "report.json", tmp_path / "report.json")
    result = runner.invoke(app, ["report", str(tmp_path / "report.json"), "--format", "html", "--quiet"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report.html").read_text() == (scanned / "report.html").read_text()
    assert result.stdout == ""


def test_report_exits_0_whatever_the_stored_verdict(case: AuditCase, tmp_path: Path) -> None:
    assert _scan(case, tmp_path, "--fail-on", "low").exit_code == 1
    result = runner.invoke(app, ["report", str(tmp_path / "report.json"), "--format", "html"])
    assert result.exit_code == 0, result.output


def _one_line_error(result: object, *fragments: str) -> None:
    one_line_error(result, *fragments, alone=True)


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ('{"tool": {"name": "other"}, "attacks": []}', "is not a mia-audit report.json"),
        ('{"testsuites": []}', "is not a mia-audit report.json"),
        ("<html></html>", "not JSON"),
        ('{"schema_version": "99", "tool": {"name": "mia-audit"}}', "schema_version"),
    ],
)
def test_report_exit_2_on_a_foreign_json(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "other.json"
    path.write_text(content)
    _one_line_error(runner.invoke(app, ["report", str(path), "--out", str(tmp_path / "o")]), fragment)
    assert not (tmp_path / "o").exists()


def test_report_exit_2_on_bad_arguments(scanned: Path, tmp_path: Path) -> None:
    report = str(scanned / "report.json")
    _one_line_error(runner.invoke(app, ["report", str(tmp_path / "nope.json")]), "not found")
    _one_line_error(runner.invoke(app, ["report", report, "--format", "csv", "--out", str(tmp_path)]), "csv")
    _one_line_error(runner.invoke(app, ["report", report, "--format", "docx", "--out", str(tmp_path)]), "docx")
    # json into the report's own folder would overwrite the input
    _one_line_error(runner.invoke(app, ["report", report, "--format", "json"]), "overwrite")


# ----------------------------------------------------------------- --junit


def test_junit_from_a_scan(case: AuditCase, tmp_path: Path) -> None:
    junit = tmp_path / "ci" / "mia-audit.xml"
    result = _scan(
        case,
        tmp_path / "out",
        "--junit",
        str(junit),
        "--max-auc",
        "0.6",
        "--max-tpr-at-fpr",
        "0.01=1.0",
        "--max-epsilon",
        "100",
        "--json",
        str(tmp_path / "copies" / "report.json"),
    )
    assert result.exit_code == 1, result.output
    assert json.loads((tmp_path / "copies" / "report.json").read_text())["gate"]["passed"] is False
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert list(cases) == ["max_auc", "max_tpr_at_fpr.0.01", "max_epsilon"]
    assert [n for n, c in cases.items() if c.find("failure") is not None] == ["max_auc"]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["gate"]["passed"] is False
    assert f"wrote {junit}" in result.stdout


def test_junit_never_overwrites_an_input_or_a_report(case: AuditCase, tmp_path: Path) -> None:
    data = tmp_path / "audit.csv"
    shutil.copy(case.data, data)
    before = data.read_bytes()
    common = ("--trust-model", "--data", str(data), "--out", str(tmp_path / "out"), "--attacks", "threshold")
    result = runner.invoke(app, ["scan", str(case.model), *common, "--junit", str(data)])
    _one_line_error(result, "--junit", "overwrite one of your inputs")
    assert data.read_bytes() == before
    _one_line_error(_scan(case, tmp_path / "out", "--junit", str(tmp_path / "out" / "report.json")), "a report")
    _one_line_error(_scan(case, tmp_path / "out", "--junit", str(tmp_path)), "is a folder")
    _one_line_error(_scan(case, tmp_path / "out", "--json", str(case.model)), "--json", "inputs")
    assert not (tmp_path / "out").exists()  # every check ran before the audit


# ----------------------------------------------------------------- console


def test_json_to_stdout_and_people_to_stderr(case: AuditCase, tmp_path: Path) -> None:
    result = _scan(case, tmp_path, "--json", "-", "--fail-on", "critical")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["tool"]["name"] == "mia-audit" and report["gate"]["configured"]
    assert "Risk level:" in result.stderr and "Gate: PASSED" in result.stderr
    assert "✓ Attack 1/4 threshold.loss" in result.stderr


def test_no_colour_codes_off_a_terminal(case: AuditCase, tmp_path: Path) -> None:
    result = _scan(case, tmp_path, "--verbose", "--max-auc", "0.6")
    assert result.exit_code == 1
    assert ANSI not in result.stdout and ANSI not in result.stderr
    assert "Gate: FAILED" in result.stdout
    # progress goes to stderr as one plain line per step, each with its time
    steps = [line for line in result.stderr.splitlines() if line.startswith("✓ Attack")]
    assert len(steps) == 4 and all(re.search(r"\(\d", line) for line in steps)


def test_quiet_prints_only_the_verdict(case: AuditCase, tmp_path: Path) -> None:
    result = _scan(case, tmp_path, "--quiet", "--fail-on", "critical")
    assert result.exit_code == 0, result.output
    level = json.loads((tmp_path / "report.json").read_text())["risk"]["level"]
    assert result.stdout.splitlines() == [f"risk: {level} — gate passed"]
    assert result.stderr == ""
    failing = _scan(case, tmp_path, "-q", "--fail-on", "low")
    assert failing.exit_code == 1 and failing.stdout.splitlines() == [f"risk: {level} — gate FAILED"]


def test_verbose_shows_assumptions_notes_and_sources(case: AuditCase, tmp_path: Path) -> None:
    result = _scan(case, tmp_path, "--verbose", "--max-auc", "0.99")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "max_auc from command line" in out and "config file: none" in out
    assert "threshold.loss — " in out and "assumes: " in out and "threshold: " in out
    assert "Gate rule max_auc: limit 0.9900" in out and "passed" in out
    plain = _scan(case, tmp_path, "--max-auc", "0.99")
    assert "assumes: " not in plain.stdout


def test_quiet_and_verbose_together_exit_2(case: AuditCase, tmp_path: Path) -> None:
    _one_line_error(_scan(case, tmp_path, "--quiet", "--verbose"), "--quiet and --verbose")


def test_a_report_of_ten_thousand_columns_renders_quickly(scanned: Path, tmp_path: Path) -> None:
    """Every feature name in one table cell kept a PDF from rendering; the report lists 40 and a count."""
    stored = json.loads((scanned / "report.json").read_text())
    stored["data"]["feature_cols"] = [f"column_{i:05d}" for i in range(10_000)]
    wide = tmp_path / "report.json"
    wide.write_text(json.dumps(stored))
    result = runner.invoke(app, ["report", str(wide), "--format", "html,pdf", "--quiet"])
    assert result.exit_code == 0, result.output
    html = (tmp_path / "report.html").read_text()
    assert "column_00039" in html and "column_00040" not in html and "9960 more" in html
    assert (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")
