"""A matrix of bad inputs: each ends with exit 2 and one line that says what is wrong, before any attack runs.

Every case runs `mia-audit scan` (or `mia-audit report`) through Typer's CliRunner against the bundled
sample model and data, with one thing broken. The expected fragment of the message is what a user
needs to fix it.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mia_audit.cli import app

SAMPLES = Path(__file__).resolve().parents[1] / "sample_models"
MODEL = SAMPLES / "mlp_leaky.onnx"
DATA = SAMPLES / "sample_audit.csv"


@dataclass(frozen=True)
class Case:
    name: str
    args: Callable[[Path], list[str]]  # the command line, given a scratch folder
    fragment: str
    command: str = "scan"


def _frame() -> pd.DataFrame:
    return pd.read_csv(DATA).sample(200, random_state=0).reset_index(drop=True)


def _csv(folder: Path, name: str, edit: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> str:
    frame = _frame()
    path = folder / name
    (edit(frame) if edit else frame).to_csv(path, index=False)
    return str(path)


def _text(folder: Path, name: str, content: bytes) -> str:
    path = folder / name
    path.write_bytes(content)
    return str(path)


def _scan(folder: Path, *extra: str, data: str | None = None) -> list[str]:
    return [str(MODEL), "--data", data or str(DATA), "--out", str(folder / "out"), "--attacks", "threshold", *extra]


def _with_inf(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[3, "x05"] = float("inf")
    return frame


def _with_missing(frame: pd.DataFrame) -> pd.DataFrame:
    frame.loc[3, "x02"] = None
    return frame


def _without_labels(frame: pd.DataFrame) -> pd.DataFrame:
    frame["label"] = frame["label"].astype(object)
    frame.loc[4, "label"] = None
    return frame


def _bad_membership(frame: pd.DataFrame) -> pd.DataFrame:
    frame["member"] = frame["member"].astype(object)
    frame.loc[0, "member"] = "maybe"
    return frame


def _report_with_text_auc(folder: Path) -> str:
    stored = json.loads((folder / "good" / "report.json").read_text())
    stored["attacks"][0]["auc"] = "abc"
    path = folder / "edited.json"
    path.write_text(json.dumps(stored))
    return str(path)


LATIN1 = "x,label,member\nä,1,1\n".encode("latin1")
REPEATED = b"a,a,label,member\n1,2,0,1\n"


def _split(folder: Path, copies: int = 0, population_copies: int = 0) -> tuple[str, str, str]:
    """Members, holdout and population files from the sample; ``copies`` members also put in the holdout."""
    frame = pd.read_csv(DATA)
    members, rest = frame[frame.member == 1].drop(columns="member"), frame[frame.member == 0].drop(columns="member")
    holdout, population = rest.iloc[:300], rest.iloc[300:600]
    holdout = pd.concat([holdout, members.iloc[:copies]])
    population = pd.concat([population, members.iloc[copies : copies + population_copies]])
    paths = (folder / "members.csv", folder / f"holdout{copies}.csv", folder / f"population{population_copies}.csv")
    for part, path in zip((members, holdout, population), paths, strict=True):
        part.to_csv(path, index=False)
    return str(paths[0]), str(paths[1]), str(paths[2])


def _files(folder: Path, *extra: str, copies: int = 0) -> list[str]:
    members, holdout, _ = _split(folder, copies)
    return [str(MODEL), "--members", members, "--holdout", holdout, "--out", str(folder / "out"), *extra]


CASES = [
    Case("model missing", lambda d: [str(d / "nope.onnx"), "--data", str(DATA)], "model file not found"),
    Case("brackets in a path", lambda d: [str(d / "model[final].onnx"), "--data", str(DATA)], "model[final].onnx"),
    Case("model is a folder", lambda d: [str(d), "--data", str(DATA)], "model path is not a file"),
    Case("model of unknown type", lambda d: [_text(d, "m.txt", b"x"), "--data", str(DATA)], ".txt"),
    Case("pickle without trust", lambda d: [_text(d, "m.pkl", b"\x80\x04N."), "--data", str(DATA)], "--trust-model"),
    Case("no data", lambda d: [str(MODEL)], "give --data FILE"),
    Case("data and members", lambda d: [*_scan(d), "--members", str(DATA)], "either --data or --members"),
    Case("members alone", lambda d: [str(MODEL), "--members", str(DATA)], "add --holdout FILE"),
    Case("data missing", lambda d: _scan(d, data=str(d / "none.csv")), "data file not found"),
    Case("data empty", lambda d: _scan(d, data=_text(d, "empty.csv", b"")), "is empty"),
    Case("data of unknown type", lambda d: _scan(d, data=_text(d, "a.xlsx", b"x")), "give a .csv or .parquet"),
    Case("data not UTF-8", lambda d: _scan(d, data=_text(d, "l1.csv", LATIN1)), "not UTF-8"),
    Case("repeated column", lambda d: _scan(d, data=_text(d, "dup.csv", REPEATED)), "repeated column names: a;"),
    Case("infinite value", lambda d: _scan(d, data=_csv(d, "inf.csv", _with_inf)), "infinite values (inf): x05;"),
    Case("missing feature", lambda d: _scan(d, data=_csv(d, "na.csv", _with_missing)), "missing values: 'x02'"),
    Case("missing label", lambda d: _scan(d, data=_csv(d, "nolabel.csv", _without_labels)), "empty values"),
    Case("no membership column", lambda d: _scan(d, "--member-col", "in_training"), "--member-col"),
    Case("bad membership value", lambda d: _scan(d, data=_csv(d, "m.csv", _bad_membership)), "member"),
    Case("unknown label column", lambda d: _scan(d, "--label-col", "outcome"), "outcome"),
    Case("markup in a label column", lambda d: _scan(d, "--label-col", "[/x]"), "[/x]"),
    Case("unknown drop column", lambda d: _scan(d, "--drop-cols", "zz"), "--drop-cols"),
    Case("unknown feature column", lambda d: _scan(d, "--feature-cols", "zz"), "--feature-cols"),
    Case("negative seed", lambda d: _scan(d, "--seed", "-1"), "--seed must not be negative"),
    Case("no shadow models", lambda d: _scan(d, "--shadow-models", "0"), "--shadow-models must lie between"),
    Case("unknown shadow family", lambda d: _scan(d, "--shadow-family", "xgb"), "--shadow-family must be one of"),
    Case("threshold FPR too high", lambda d: _scan(d, "--threshold-fpr", "0.7"), "--threshold-fpr"),
    Case("no boundary queries", lambda d: _scan(d, "--boundary-queries", "0"), "--boundary-queries"),
    Case("risk from a realistic attack", lambda d: _scan(d, "--risk-from", "threshold.loss"), "--risk-from takes"),
    Case("unknown attack", lambda d: _scan(d, "--attacks", "nope"), "unknown attack 'nope'"),
    Case("AUC limit above 1", lambda d: _scan(d, "--max-auc", "1.5"), "--max-auc must lie between 0 and 1"),
    Case("unknown FPR", lambda d: _scan(d, "--max-tpr-at-fpr", "0.05=0.2"), "FPR '0.05' is not one of"),
    Case("unknown risk level", lambda d: _scan(d, "--fail-on", "severe"), "--fail-on must be one of"),
    Case("unknown format", lambda d: _scan(d, "--format", "docx"), "unknown --format docx"),
    Case("quiet and verbose", lambda d: _scan(d, "--quiet", "--verbose"), "exclude each other"),
    Case("no GPU", lambda d: _scan(d, "--device", "cuda"), "no CUDA GPU"),
    Case("out is a file", lambda d: [*_scan(d)[:3], "--out", str(DATA)], "is a file"),
    Case("out not writable", lambda d: [*_scan(d)[:3], "--out", "/proc/mia-audit-out"], "--out /proc/mia-audit-out"),
    Case("junit is a folder", lambda d: _scan(d, "--junit", str(d)), "--junit"),
    Case("json over an input", lambda d: _scan(d, "--json", str(DATA)), "would overwrite one of your inputs"),
    Case("config missing", lambda d: _scan(d, "--config", str(d / "none.toml")), "config file not found"),
    Case("config not TOML", lambda d: _scan(d, "--config", _text(d, "c.toml", b"seed = \n")), "not valid TOML"),
    Case("config unknown key", lambda d: _scan(d, "--config", _text(d, "k.toml", b"sed = 1\n")), "unknown key 'sed'"),
    Case("config bad value", lambda d: _scan(d, "--config", _text(d, "v.toml", b"threads = 0\n")), "threads"),
    Case("baseline not a report", lambda d: _scan(d, "--baseline", str(DATA)), "report.json"),
    Case("population share", lambda d: _scan(d, "--population-share", "1.5"), "--population-share"),
    Case("transfer data missing", lambda d: _scan(d, "--transfer-data", str(d / "t.csv")), "transfer data file"),
    Case("no threads", lambda d: _scan(d, "--threads", "0"), "--threads must be positive"),
    Case("holdout is the members file", lambda d: _files(d, "--holdout", _split(d)[0]), "same file as --members"),
    Case("holdout copies the members", lambda d: _files(d, copies=300), "300 of the 600 held-out records (50%)"),
    Case("report: text in a number", lambda d: [_report_with_text_auc(d)], "not a number", command="report"),
    Case("report: csv", lambda d: [_report_with_text_auc(d), "--format", "csv"], "re-run the scan", command="report"),
]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch folder holding one good report.json (for the `report` cases)."""
    path = tmp_path_factory.mktemp("bad-inputs")
    result = CliRunner().invoke(app, ["scan", *_scan(path, "--format", "json")])
    assert result.exit_code == 0, result.output
    (path / "good").mkdir()
    shutil.copy(path / "out" / "report.json", path / "good" / "report.json")
    shutil.rmtree(path / "out")
    return path


def test_the_matrix_is_large_enough() -> None:
    assert len(CASES) >= 30 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_bad_input_exits_2_with_one_line(case: Case, folder: Path) -> None:
    result = CliRunner().invoke(app, [case.command, *case.args(folder)])
    assert result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1, lines
    message = " ".join(lines[lines.index(errors[0]) :])  # a long line may wrap on a narrow console
    assert case.fragment in message, message
    assert not (folder / "out").exists() or not any((folder / "out").iterdir())  # nothing written


def test_semicolon_separated_csv_is_read(tmp_path: Path) -> None:
    path = tmp_path / "semi.csv"
    _frame().to_csv(path, index=False, sep=";")
    result = CliRunner().invoke(app, ["scan", *_scan(tmp_path, "--format", "json", data=str(path))])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["data"]["members"] + report["data"]["holdout"] == 200


def test_a_few_copied_members_leave_the_evaluation_with_a_note(tmp_path: Path) -> None:
    members, holdout, population = _split(tmp_path, copies=5, population_copies=7)
    args = [str(MODEL), "--members", members, "--holdout", holdout, "--population", population]
    result = CliRunner().invoke(app, ["scan", *args, "--out", str(tmp_path / "out"), "--format", "json", *FAST])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["data"]["member_copies"] == {"holdout": 5, "population": 7}
    assert any("5 held-out records are copies of training members" in note for note in report["notes"])
    assert report["data"]["holdout"] == 300  # the five copies are not counted as held out


FAST = ("--attacks", "threshold")
