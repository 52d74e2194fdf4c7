"""Figures: inline, scalable, deterministic SVG."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from mia_audit.report.figures import distribution_figure_svg, roc_figure_svg
from mia_audit.result import AuditResult


def test_roc_svg_is_inline_scalable_and_deterministic(audit_result: AuditResult) -> None:
    svg = roc_figure_svg(audit_result)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert 'width="100%"' in svg and "viewBox=" in svg
    assert not re.search(r'<svg[^>]*\sheight="', svg)
    assert "<metadata" not in svg and "<!--" not in svg
    # Text is drawn as paths (glyph definitions), so it renders without the fonts installed.
    assert "<text" not in svg and 'id="roc-DejaVuSans' in svg
    assert roc_figure_svg(audit_result) == svg


def test_ids_are_prefixed_per_figure(audit_result: AuditResult) -> None:
    roc = roc_figure_svg(audit_result)
    dist = distribution_figure_svg(audit_result)
    assert dist is not None
    for prefix, svg in (("roc", roc), ("dist", dist)):
        ids = re.findall(r'\bid="([^"]+)"', svg)
        assert ids and all(i.startswith(prefix + "-") for i in ids)
        for ref in re.findall(r'(?:href="#|url\(#)([^")]+)', svg):
            assert ref in ids


def test_distribution_is_none_without_a_distribution(
    make_result: Callable[..., AuditResult],
) -> None:
    assert distribution_figure_svg(make_result(signal_distribution=None)) is None


def test_many_attacks_put_the_legend_below(audit_result: AuditResult) -> None:
    extra = tuple(dataclasses.replace(audit_result.attacks[i % 4], id=f"extra.attack_{i}") for i in range(8))
    result = dataclasses.replace(audit_result, attacks=audit_result.attacks + extra)
    svg = roc_figure_svg(result)
    assert svg.count('<g id="roc-legend_') == 1
    height = float(re.search(r'viewBox="0 0 [\d.]+ ([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    assert height > 5.4 * 72  # taller than the default figure: room for the legend
