"""The PDF report: a real PDF whose text carries the verdict, page numbers and running header."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from mia_audit.result import AuditResult


def _pdf_text(path: Path) -> list[str]:
    """Text of each page, with pypdf or poppler's pdftotext; skip when neither is installed."""
    try:
        from pypdf import PdfReader
    except ImportError:
        pass
    else:
        return [page.extract_text() or "" for page in PdfReader(str(path)).pages]
    if shutil.which("pdftotext"):
        text = subprocess.run(
            ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True
        ).stdout
        return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")
    pytest.skip("needs pypdf or pdftotext (poppler-utils) to read the PDF text")


@pytest.fixture
def pdf_path(report_pdf: Path) -> Path:
    return report_pdf


@pytest.fixture(scope="module")
def pages(report_pdf: Path) -> list[str]:
    return _pdf_text(report_pdf)


def test_pdf_is_written(pdf_path: Path) -> None:
    assert pdf_path.is_file()
    assert pdf_path.read_bytes()[:5] == b"%PDF-"


def test_pdf_text_has_verdict_header_and_page_numbers(pages: list[str]) -> None:
    assert len(pages) >= 3
    text = "\n".join(pages)
    assert "HIGH" in text
    assert "FAILED" in text
    assert "Executive summary" in text and "Methodology" in text
    n = len(pages)
    assert f"Page 1 of {n}" in pages[0]
    assert f"Page {n} of {n}" in pages[-1]
    for page in pages:
        assert "membership-inference risk report — credit_grade_mlp.onnx" in page


def test_pdf_hashes_are_not_clipped(pages: list[str], audit_result: AuditResult) -> None:
    # Long hashes wrap inside their cell; joined without whitespace they must be complete.
    text = "".join("".join(page.split()) for page in pages)
    assert audit_result.model.sha256 in text
    for digest in audit_result.data.sha256.values():
        assert digest in text
