"""Report files are written atomically, never through a hard link, and records.csv holds no formulas."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pandas as pd
import pytest

from mia_audit.errors import InputFileError
from mia_audit.report import formats
from mia_audit.report.formats import FORMATS, check_writable, write_reports
from mia_audit.report.records_csv import neutralise
from mia_audit.result import AuditResult


def test_an_input_hard_linked_as_a_report_is_not_overwritten(audit_result: AuditResult, tmp_path: Path) -> None:
    data = tmp_path / "train.csv"
    data.write_text("my,training,data\n")
    out = tmp_path / "out"
    out.mkdir()
    os.link(data, out / "records.csv")  # the same file under two names
    write_reports(audit_result, out, ["csv"], protected=[data])
    assert data.read_text() == "my,training,data\n"
    assert (out / "records.csv").read_text().startswith("source,row_index,member,label")


def test_an_interrupted_write_leaves_the_old_file_whole_and_no_temporary(
    audit_result: AuditResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "report.json").write_text('{"old": true}')

    def half_then_fail(result: AuditResult, path: Path) -> None:
        path.write_text('{"new": ')
        raise KeyboardInterrupt

    monkeypatch.setattr("mia_audit.report.json_report.write_json", half_then_fail)
    with pytest.raises(KeyboardInterrupt):
        write_reports(audit_result, tmp_path, ["json"])
    assert (tmp_path / "report.json").read_text() == '{"old": true}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


def test_a_folder_that_cannot_be_written_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(InputFileError, match=r"--out .* is not writable"):
        check_writable(Path("/proc/mia-audit-out"), "--out")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(InputFileError, match="is not writable"):
        check_writable(blocker / "sub", "--out")
    check_writable(tmp_path / "new" / "folder", "--out")
    assert not (tmp_path / "new").exists()  # the probe and the folders made for it are gone
    (tmp_path / "kept").mkdir()
    check_writable(tmp_path / "kept", "--out")
    assert (tmp_path / "kept").is_dir() and not any((tmp_path / "kept").iterdir())


@pytest.mark.parametrize("cell", ["=SUM(A1:A3)", "+1", "-2+3", "@cmd", "\tx"])
def test_formula_cells_are_neutralised(cell: str) -> None:
    assert neutralise(cell) == "'" + cell
    assert neutralise("cat") == "cat" and neutralise(-2.5) == -2.5  # numbers (negative scores) stay numbers


def test_records_csv_neutralises_labels(audit_result: AuditResult, tmp_path: Path) -> None:
    records = audit_result.records
    assert records is not None
    formula = dataclasses.replace(records, label=("=HYPERLINK(1)",) * len(records.label))
    write_reports(dataclasses.replace(audit_result, records=formula), tmp_path, ["csv"])
    frame = pd.read_csv(tmp_path / "records.csv")
    assert set(frame["label"]) == {"'=HYPERLINK(1)"}


def test_every_format_is_registered_with_its_writer() -> None:
    import importlib

    for fmt in FORMATS.values():
        assert callable(getattr(importlib.import_module(fmt.module), fmt.function)), fmt.name
    assert formats.FOLDER_FORMATS == ("json", "html", "pdf", "csv", "markdown")
    # --format's choices and its default, declared below the report layer.
    from mia_audit.options import FORMAT_CHOICES
    from mia_audit.options import FORMATS as DEFAULT

    assert FORMAT_CHOICES == formats.FOLDER_FORMATS
    assert DEFAULT == ("json", "html", "pdf", "csv")
