"""What every input error of the CLI must look like, checked in one place."""

from __future__ import annotations

from typing import Any


def one_line_error(result: Any, *fragments: str, alone: bool = False) -> str:
    """Exit 2, no traceback, and the problem in exactly one line starting with 'error:', the last one on
    stderr (the only one with ``alone``), holding every fragment; that line."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0], lines
    if alone:
        assert len(lines) == 1, lines
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]
