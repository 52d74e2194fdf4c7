"""The PDF report: WeasyPrint typesets the same HTML as ``render_html``.

The print rules (A4, margins, running header with the model file name, "Page X of Y" footer,
tables that fit the page, figures kept whole) live in ``templates/report.css`` under ``@page`` and
``@media print``, so a browser's "Print to PDF" of the HTML gives a similar document.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from mia_audit.report.html import render_html
from mia_audit.report.templates import template_dir

if TYPE_CHECKING:
    from mia_audit.result import AuditResult


def write_pdf(result: AuditResult, path: str | Path) -> Path:
    """Write the report as a PDF to ``path`` and return the path."""
    import weasyprint

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    html = render_html(result)
    with _quiet("weasyprint", "fontTools"):
        document = weasyprint.HTML(string=html, base_url=str(template_dir()))
        document.write_pdf(str(out))
    return out


@contextmanager
def _quiet(*names: str) -> Iterator[None]:
    """Silence warnings of these loggers for the block.

    WeasyPrint warns about every CSS property it does not know, including the ``style``
    attributes of the inline SVG that its SVG renderer does handle, and about screen-only rules;
    none of that is news to the user.
    """
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
