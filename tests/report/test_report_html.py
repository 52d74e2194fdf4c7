"""The HTML report: every section, inline figures, no template leftovers, no external URL."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path

import jinja2
import pytest

from mia_audit.judge.exposure import TOP_RECORDS
from mia_audit.report import templates
from mia_audit.report.html import SECTIONS, SUMMARY_RECORDS, render_html, write_html
from mia_audit.result import AuditResult, GateResult, Risk

MakeResult = Callable[..., AuditResult]


@pytest.fixture
def html(report_html: str) -> str:
    return report_html


def _section(html: str, section_id: str) -> str:
    start = html.index(f'<section id="{section_id}"')
    return html[start : html.index("</section>", start)]


def test_every_section_is_present_in_order(html: str) -> None:
    positions = [html.index(f'<section id="{sid}"') for sid, _ in SECTIONS]
    assert positions == sorted(positions)
    for sid, _ in SECTIONS:
        assert f'href="#{sid}"' in html  # table of contents


def test_figures_are_inline_scalable_svg(html: str) -> None:
    figures = _section(html, "figures")
    assert figures.count("<svg") == 2
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    assert 'width="100%"' in figures and "viewBox=" in figures
    # Two SVGs in one document: their ids must not collide.
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))


def test_no_template_leftovers(html: str) -> None:
    for marker in ("{{", "}}", "{%", "%}", "{#"):
        assert marker not in html


def test_self_contained_no_external_url(html: str) -> None:
    without_namespaces = re.sub(r'\sxmlns(:\w+)?="[^"]*"', "", html)
    assert "http://" not in without_namespaces
    assert "https://" not in without_namespaces
    assert "<link" not in html and "<script" not in html and "<img" not in html
    for target in re.findall(r'href="([^"]*)"', html):
        assert target.startswith("#"), target
    assert "@media print" in html and "@page" in html


def test_executive_summary(html: str) -> None:
    summary = _section(html, "summary")
    assert "HIGH" in summary
    assert "FAILED" in summary
    assert "threshold.loss AUC 0.780 &gt; --max-auc 0.70" in summary  # gate reason, escaped
    assert (
        "An attacker with data like yours can pick out 11% of the training records "
        "while wrongly accusing 1% of outsiders." in summary
    )


def test_attack_tables(full_html: str) -> None:
    attacks = _section(full_html, "attacks")
    for attack_id in (
        "threshold.loss",
        "threshold.confidence",
        "threshold.entropy",
        "threshold.modified_entropy",
    ):
        assert templates.ident(attack_id) in attacks
    assert "[0.768, 0.792]" in attacks  # AUC CI of threshold.loss
    assert "n/r" in attacks and "not resolvable: too few non-members" in attacks
    assert "90th percentile of the population" in attacks  # threshold rule


def test_skipped_properties_and_scope(html: str, audit_result: AuditResult) -> None:
    skipped = _section(html, "skipped")
    assert "lira.online" in skipped.replace("<wbr>", "")
    scope = _section(html, "scope")
    result = audit_result
    assert result.model.sha256 in scope
    for digest in result.data.sha256.values():
        assert digest in scope
    assert result.data.population_source in scope
    props = _section(html, "properties")
    assert "δ_mi well above 0" in props


@pytest.mark.parametrize("detail", ["summary", "full"])
def test_most_exposed_records_show_no_feature_values(html: str, full_html: str, detail: str) -> None:
    records = _section(full_html if detail == "full" else html, "records")
    rows = re.findall(r"<tr><td>(\d+)</td><td>(\d+)</td>", records)
    shown = TOP_RECORDS if detail == "full" else min(TOP_RECORDS, SUMMARY_RECORDS)
    assert len(rows) == shown
    assert [int(rank) for rank, _ in rows] == list(range(1, shown + 1))
    headers = re.findall(r"<th[^>]*>([^<]+)", records)
    assert headers == ["Rank", "Row", "File role", "Class", "Score"]
    # Scores are listed highest first.
    scores = [float(s.replace("−", "-")) for s in re.findall(r"<td>([−\d.]+)</td></tr>", records)]
    assert scores == sorted(scores, reverse=True)


def test_risk_rationale_marks_the_current_level(html: str) -> None:
    rationale = _section(html, "risk-rationale")
    assert 'class="current"><td class="l"><span class="pill risk-high">' in rationale
    assert "TPR at 1% FPR ≥ 20.0%, or AUC ≥ 0.90" in rationale


def test_values_are_escaped(audit_result: AuditResult) -> None:
    result = audit_result
    evil = dataclasses.replace(result.attacks[0], title="<script>alert(1)</script>")
    html = render_html(dataclasses.replace(result, attacks=(evil, *result.attacks[1:])))
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_strict_undefined_raises_on_missing_variables() -> None:
    env = templates.environment()
    assert env.undefined is jinja2.StrictUndefined
    with pytest.raises(jinja2.UndefinedError):
        env.from_string("{{ missing }}").render()
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("report.html.j2").render()


def test_sparse_result_renders(make_result: MakeResult) -> None:
    """No attacks, records, distribution, properties or gate: every branch still renders."""
    result = make_result(
        attacks=(),
        skipped=(),
        properties={},
        records=None,
        signal_distribution=None,
        risk=Risk(level="low", strongest_attack=None, reasons=()),
        gate=GateResult(configured=False, passed=True, reasons=()),
        notes=(),
    )
    html = render_html(result)
    for sid, _ in SECTIONS:
        assert f'<section id="{sid}"' in html
    assert "LOW" in _section(html, "summary") and "NOT SET" in html
    assert "No attack ran in this audit" in html
    assert "not computed in this run" in _section(html, "properties")
    assert "<svg" not in html
    assert "{{" not in html


def test_headline_falls_back_to_auc_when_tpr_is_not_resolvable(
    audit_result: AuditResult,
) -> None:
    result = audit_result
    loss = result.attack("threshold.loss")
    metrics = dataclasses.replace(loss.metrics, tpr_at_fpr={"0.01": None, "0.001": None})
    patched = dataclasses.replace(loss, metrics=metrics)
    result = dataclasses.replace(result, attacks=(patched, *result.attacks[1:]))
    sentence = templates.headline_sentence(result)
    assert "78% of the time" in sentence and "AUC 0.780" in sentence
    gate_passed = dataclasses.replace(result, gate=GateResult(configured=True, passed=True, reasons=()))
    html = render_html(gate_passed)
    assert sentence in html and "PASSED" in html


def test_write_html(tmp_path: Path, audit_result: AuditResult) -> None:
    out = write_html(audit_result, tmp_path / "sub" / "report.html")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert '<meta charset="utf-8">' in text


def test_template_dir() -> None:
    folder = templates.template_dir()
    assert (folder / "report.html.j2").is_file()
    assert (folder / "report.css").is_file()


@pytest.mark.parametrize(
    ("func", "value", "expected"),
    [
        (templates.pct, 0.0874, "8.7%"),
        (templates.pct, None, "—"),
        (templates.tpr, None, "n/r"),
        (templates.tpr, 0.1234, "12.3%"),
        (templates.num, 0.78049, "0.780"),
        (templates.num, -0.5, "−0.500"),
        (templates.num, 10000, "10,000"),
        (templates.num, "text", "text"),
        (templates.num, float("nan"), "—"),
        (templates.ci, (0.768, 0.792), "[0.768, 0.792]"),
        (templates.ci, None, ""),
        (templates.pct_ci, (0.097, 0.119), "[9.7%, 11.9%]"),
        (templates.eps, None, "—"),
        (templates.eps, 1.2711, "1.27"),
        (templates.eps, 0.0, "—"),  # a bound of 0 is no evidence, as the footnote says of "—"
        (templates.count, 3000, "3,000"),
        (templates.dur, 0.0123, "0.01 s"),
        (templates.dur, 48.23, "48.2 s"),
        (templates.dur, 125.0, "2 min 05 s"),
        (templates.dur, 3725.0, "1 h 02 min"),
    ],
)
def test_filters(func: object, value: object, expected: str) -> None:
    assert func(value) == expected  # type: ignore[operator]


def test_a_wide_table_lists_forty_feature_names_and_a_count(make_result) -> None:  # type: ignore[no-untyped-def]
    import dataclasses

    from mia_audit.report.html import MAX_LISTED_COLUMNS, render_html

    result = make_result()
    names = tuple(f"feature_{i:05d}" for i in range(10_000))
    html = render_html(dataclasses.replace(result, data=dataclasses.replace(result.data, feature_cols=names)))
    assert "feature_00039" in html and "feature_00040" not in html
    assert f"and {10_000 - MAX_LISTED_COLUMNS} more (all of them in report.json)" in html


def test_the_summary_report_keeps_the_long_tables_for_the_full_one(html: str, full_html: str) -> None:
    """--detail summary (the default) drops Table 2 and the per-class tables; --detail full keeps them."""
    assert "Table 2. Attacker knowledge" not in html and "Table 2. Attacker knowledge" in full_html
    assert "Notes on the attacks" in _section(html, "attacks")
    assert "--detail full" in html and "--detail full" not in _section(full_html, "attacks")
    # Notes of the strongest attack of each family only: here threshold.loss leads its family, with a note.
    assert "ties broken by record order" in _section(html, "attacks")


def test_attacker_knowledge_is_a_matrix_of_check_marks(html: str, audit_result: AuditResult) -> None:
    from mia_audit.attacks.interface import KNOWLEDGE

    matrix = _section(html, "knowledge")
    header = re.findall(r'<th class="k">([^<]+)</th>', matrix)
    assert header and set(header) <= set(KNOWLEDGE)
    assert header == [k for k in KNOWLEDGE if k in header]  # in the vocabulary's order
    rows = re.findall(r"<tr><td class=\"l\">(.*?)</tr>", matrix, flags=re.S)
    assert len(rows) == len(audit_result.attacks)
    for attack in audit_result.attacks:
        row = next(r for r in rows if templates.ident(attack.id) in r)
        marks = re.findall(r'<td class="k">(.*?)</td>', row)
        assert [k for k, cell in zip(header, marks, strict=True) if "✓" in cell] == list(attack.knowledge)


@pytest.mark.parametrize("detail", ["summary", "full"])
def test_no_python_repr_in_the_rendered_text(html: str, full_html: str, detail: str) -> None:
    text = re.sub(r"<style.*?</style>|<svg.*?</svg>|<[^>]+>", " ", full_html if detail == "full" else html, flags=re.S)
    for word in ("None", "True", "False", "{'", "['", "()"):
        assert not re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", text), word


def test_configuration_is_a_table_of_settings_in_words(full_html: str, audit_result: AuditResult) -> None:
    config = _section(full_html, "configuration")
    keys = re.findall(r"<tr><td class=\"l\"><code>([^<]+)</code></td>", config)
    assert set(keys) == {k for k in audit_result.run.config if k != "config_source"} | {"detail"}


def test_the_epsilon_bound_has_a_plain_reading(audit_result: AuditResult, html: str) -> None:
    reading = templates.epsilon_reading(audit_result)
    assert audit_result.epsilon is not None
    bound = templates.num(audit_result.epsilon.epsilon, 2)
    by = " / ".join(dict.fromkeys(h.attack_id for h in audit_result.epsilon.halves))
    assert reading.startswith(f"No training with differential privacy at an ε below {bound} could have produced")
    assert reading.endswith(f"({by}).")
    assert reading in html.replace("&#39;", "'")
    risk = dataclasses.replace(audit_result.risk, strongest_attack=None)
    none = dataclasses.replace(audit_result, epsilon=None, attacks=(), risk=risk)
    assert templates.epsilon_reading(none).startswith("No attack ran")


def test_appendices_fold_but_start_open(html: str) -> None:
    """On screen a reader folds an appendix away; open by default, so that printing keeps it."""
    for sid in ("risk-rationale", "compliance", "methodology", "knowledge", "configuration", "glossary"):
        section = _section(html, sid)
        assert section.startswith(f'<section id="{sid}" class="appendix"><details open><summary><h2>'), sid
    assert "position: sticky" in html  # the contents stay beside the report on a wide screen


def test_defences_section_shows_each_row_the_chosen_one_and_the_figure(report_html: str) -> None:
    section = _section(report_html, "defences")
    assert "What would lower the risk, measured" in section
    assert 'id="defence-output-top1"' in section and 'id="defence-output-label_only" class="chosen"' in section
    assert "As released today" in section and "release only the top-1 probability" in section
    assert "<svg" in section and "Figure 4." in section
    # A note every defence carries is shown once; one that only top-1 carries names it.
    assert section.count("a note every release carries") == 1
    assert "top-1 note (release only the top-1 probability)" in section


def test_page_one_names_the_best_measured_trade_off(report_html: str) -> None:
    summary = _section(report_html, "summary")
    assert "Measured on this model: release the predicted label only lowers the risk level to LOW" in summary
    assert "accuracy unchanged, log-loss +3.90" in summary


def test_output_hardening_advice_links_to_its_measured_rows(report_html: str) -> None:
    mitigations = _section(report_html, "mitigations")
    assert 'href="#defence-output-top1"' in mitigations and 'href="#defence-output-label_only"' in mitigations


def test_no_defence_measured_says_so_and_advises_from_the_literature(make_result: MakeResult) -> None:
    html = render_html(make_result(defences=()))
    assert "No defence was measured in this run" in _section(html, "defences")
    assert "Measured on this model" not in _section(html, "summary")
    assert "also measured on this model" not in _section(html, "mitigations")


def test_when_no_defence_lowers_the_level_page_one_says_change_the_training(make_result: MakeResult) -> None:
    from tests.report.conftest import make_defences

    still_high = tuple(dataclasses.replace(d, risk_level="high") for d in make_defences())
    summary = _section(render_html(make_result(defences=still_high)), "summary")
    assert "None of the 2 defences measured on this model lowers the risk level" in summary
    assert "change how it is trained" in summary
