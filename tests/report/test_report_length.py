"""The report's length on a real audit: a 30-class MLP with every attack (the Location-like bench target of
bench/bench_reference.py, report.json as `mia-audit scan` wrote it on 2026-11-30) fits a dozen A4 pages by
default, holds the verdict on page 1, and keeps the long form for ``--detail full``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pypdf import PdfReader

from mia_audit.attacks.registry import attacks_for
from mia_audit.report.html import render_html, with_detail
from mia_audit.report.pdf import write_pdf
from mia_audit.result import AuditResult
from mia_audit.result.codec import read_json

FIXTURE = Path(__file__).parent / "fixtures" / "location30_report.json"
MAX_PAGES = 12


@pytest.fixture(scope="module")
def location() -> AuditResult:
    result = read_json(FIXTURE)
    assert result.model.n_classes == 30
    assert {a.id for a in result.attacks} == {a.info.id for a in attacks_for("classification")}  # every attack ran
    return result


@pytest.fixture(scope="module")
def pages(location: AuditResult, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """The default report's pages (the full one's PDF takes 10 s more: its HTML is checked instead)."""
    path = write_pdf(with_detail(location, "summary"), tmp_path_factory.mktemp("summary") / "report.pdf")
    return {"summary": [page.extract_text() or "" for page in PdfReader(str(path)).pages]}


def test_the_default_report_fits_a_dozen_pages(pages: dict[str, list[str]], location: AuditResult) -> None:
    assert len(pages["summary"]) <= MAX_PAGES
    full = render_html(with_detail(location, "full"))  # the long form is kept, not lost
    assert "Table 2. Attacker knowledge" in full and full.count('class="grid numbers exposure"') >= 1


def test_page_one_holds_the_verdict_the_numbers_and_what_to_do(
    pages: dict[str, list[str]], location: AuditResult
) -> None:
    first = " ".join(pages["summary"][0].split())
    assert location.risk.level.upper() in first
    assert "63%" in first and "What to do" in first  # the plain reading of the strongest attack, the advice
    assert "ε lower bound" in first or "lower bound" in first


@pytest.mark.parametrize("detail", ["summary", "full"])
def test_no_python_repr_in_any_page(pages: dict[str, list[str]], location: AuditResult, detail: str) -> None:
    if detail == "summary":
        text = " ".join(pages[detail])
    else:
        text = re.sub(
            r"<style.*?</style>|<svg.*?</svg>|<[^>]+>", " ", render_html(with_detail(location, detail)), flags=re.S
        )
    for word in ("None", "True", "False", "{'", "['"):
        assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text), word
