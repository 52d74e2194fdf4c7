"""Figures: inline, scalable, deterministic SVG."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

from mia_audit.report.figures import MAX_CURVES, distribution_figure_svg, family_leaders, roc_figure_svg
from mia_audit.report.templates import attacks_by_strength
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


def test_the_roc_figure_draws_the_strongest_attack_of_each_family_only(audit_result: AuditResult) -> None:
    families = ("fam_a", "fam_b", "fam_c", "fam_d", "fam_e", "fam_f", "fam_g", "fam_h")
    extra = tuple(
        dataclasses.replace(audit_result.attacks[i % 4], id=f"extra.attack_{i}", family=families[i % 8])
        for i in range(16)
    )
    result = dataclasses.replace(audit_result, attacks=audit_result.attacks + extra)
    leaders = family_leaders(result)
    assert len(leaders) == MAX_CURVES
    assert len({a.family for a in leaders}) == MAX_CURVES
    strength = [a.id for a in attacks_by_strength(result)]
    assert [a.id for a in leaders] == sorted((a.id for a in leaders), key=strength.index)
    for leader in leaders:  # nothing of its family ranks above it
        assert strength.index(leader.id) == min(
            strength.index(a.id) for a in result.attacks if a.family == leader.family
        )
    svg = roc_figure_svg(result)
    assert svg.count('<g id="roc-legend_') == 1
    # One colour per curve, in order: the sixth is drawn, a seventh or eighth curve would take the next ones.
    assert "#56b4e9" in svg.lower() and "#882255" not in svg.lower()
