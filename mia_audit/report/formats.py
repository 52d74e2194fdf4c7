"""The report formats: each a function of the result alone, written atomically.

``FORMATS`` maps a name to its writer (imported when used, so that the CLI starts fast) and the file
name it takes in the ``--out`` folder. Adding a format is one line here and its module.
"""

from __future__ import annotations

import importlib
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mia_audit.errors import InputFileError
from mia_audit.result import AuditResult


@dataclass(frozen=True)
class ReportFormat:
    name: str
    filename: str  # in the --out folder
    module: str
    function: str
    # Per-record scores are not in report.json: a result read back from it cannot write this format.
    needs_records: bool = False
    # Written only to a file named by its own option (--junit), never into --out by default.
    in_out_folder: bool = True

    def write(self, result: AuditResult, path: Path) -> Path:
        """Write under a temporary name in the same folder, then rename into place.

        A reader never sees a half-written file, an interrupted run leaves the previous file whole,
        and a file hard-linked elsewhere is replaced, not written through.
        """
        writer = getattr(importlib.import_module(self.module), self.function)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            writer(result, temporary)
            os.replace(temporary, path)
        except OSError as exc:
            raise InputFileError(f"cannot write {path}: {exc.strerror or exc}.") from None
        finally:
            temporary.unlink(missing_ok=True)
        return path


FORMATS: dict[str, ReportFormat] = {
    f.name: f
    for f in (
        ReportFormat("json", "report.json", "mia_audit.report.json_report", "write_json"),
        ReportFormat("html", "report.html", "mia_audit.report.html", "write_html"),
        ReportFormat("pdf", "report.pdf", "mia_audit.report.pdf", "write_pdf"),
        ReportFormat("csv", "records.csv", "mia_audit.report.records_csv", "write_records_csv", needs_records=True),
        ReportFormat("markdown", "summary.md", "mia_audit.report.markdown", "write_markdown"),
        ReportFormat("junit", "junit.xml", "mia_audit.report.junit", "write_junit", in_out_folder=False),
    )
}
FOLDER_FORMATS = tuple(name for name, f in FORMATS.items() if f.in_out_folder)


def planned_outputs(out: Path, formats: Sequence[str], protected: Iterable[Path] = ()) -> list[Path]:
    """The files a run will write; fails before any work if one would overwrite an input."""
    if out.exists() and not out.is_dir():
        raise InputFileError(f"--out {out} is a file; give a folder for the reports.")
    targets = [out / FORMATS[f].filename for f in formats]
    inputs = {p.resolve() for p in protected}
    clash = [t for t in targets if t.resolve() in inputs]
    if clash:
        raise InputFileError(f"writing the report would overwrite your input {clash[0]}; choose another --out folder.")
    return targets


def check_writable(folder: Path, option: str) -> None:
    """Make ``folder``, write a probe file in it and take both away again, so that a folder the reports
    cannot go to stops the run before any work, and a run that stops later leaves nothing behind."""
    made = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".mia-audit-probe-"):
            pass
        for path in made:  # deepest first
            path.rmdir()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise InputFileError(f"{option} {folder} is not writable ({reason}); choose another folder.") from None


def check_output_file(path: Path, option: str, protected: Iterable[Path] = (), planned: Iterable[Path] = ()) -> Path:
    """One extra output file (``--junit``, ``--json``): checked before any work like ``planned_outputs``."""
    if path.is_dir():
        raise InputFileError(f"{option} {path} is a folder; give a file name.")
    target = path.resolve()
    if target in {p.resolve() for p in protected}:
        raise InputFileError(f"{option} {path} would overwrite one of your inputs; choose another file.")
    if target in {p.resolve() for p in planned}:
        raise InputFileError(f"{option} {path} would overwrite a report this run writes; choose another file.")
    return path


def write_reports(result: AuditResult, out: Path, formats: Sequence[str], protected: Iterable[Path] = ()) -> list[Path]:
    """Write each format into ``out``; refuse to overwrite any of the ``protected`` input files."""
    planned = dict(zip(formats, planned_outputs(out, formats, protected), strict=True))
    has_records = result.records is not None
    chosen = {name: path for name, path in planned.items() if has_records or not FORMATS[name].needs_records}
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputFileError(f"cannot create the output folder {out}: {exc.strerror}.") from None
    return [FORMATS[name].write(result, path) for name, path in chosen.items()]


def write_file(result: AuditResult, name: str, path: Path) -> Path:
    """One format to a file a user named (``--json FILE``, ``--junit FILE``)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputFileError(f"cannot create the folder {path.parent}: {exc.strerror or exc}.") from None
    return FORMATS[name].write(result, path)
