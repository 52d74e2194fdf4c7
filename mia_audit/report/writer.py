"""Write the chosen report files into the output folder without touching the user's inputs."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from mia_audit.errors import InputFileError
from mia_audit.result import AuditResult

FILE_NAMES = {"json": "report.json", "html": "report.html", "pdf": "report.pdf", "csv": "records.csv"}


def planned_outputs(out: Path, formats: Sequence[str], protected: Iterable[Path] = ()) -> list[Path]:
    """The files a run will write; fails before any work if one would overwrite an input."""
    if out.exists() and not out.is_dir():
        raise InputFileError(f"--out {out} is a file; give a folder for the reports.")
    targets = [out / FILE_NAMES[f] for f in formats]
    inputs = {p.resolve() for p in protected}
    clash = [t for t in targets if t.resolve() in inputs]
    if clash:
        raise InputFileError(f"writing the report would overwrite your input {clash[0]}; choose another --out folder.")
    return targets


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
    """Write each format to ``out``; refuse to overwrite any of the ``protected`` input files."""
    targets = [
        t for t in planned_outputs(out, formats, protected) if t.name != "records.csv" or result.records is not None
    ]
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputFileError(f"cannot create the output folder {out}: {exc.strerror}.") from None
    for target in targets:
        _write_one(result, target)
    return targets


def _write_one(result: AuditResult, target: Path) -> None:
    name = target.name
    if name == "report.json":
        from mia_audit.report.json_report import write_json

        write_json(result, target)
    elif name == "report.html":
        from mia_audit.report.html import write_html

        write_html(result, target)
    elif name == "report.pdf":
        from mia_audit.report.pdf import write_pdf

        write_pdf(result, target)
    else:
        from mia_audit.report.records_csv import write_records_csv

        write_records_csv(result, target)
