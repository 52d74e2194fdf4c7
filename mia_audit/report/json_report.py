"""``report.json``: the result in its JSON form (``result.codec``), written to a file or a stream."""

from __future__ import annotations

from pathlib import Path
from typing import IO

from mia_audit.result import AuditResult
from mia_audit.result.codec import dumps


def write_json(result: AuditResult, target: Path | IO[str]) -> None:
    text = dumps(result) + "\n"
    if isinstance(target, Path):
        target.write_text(text, encoding="utf-8")
    else:
        target.write(text)
