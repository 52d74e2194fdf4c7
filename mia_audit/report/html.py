"""The self-contained HTML report: one file, inline CSS and SVG, no external URL, prints well.

Everything shown comes from the ``AuditResult``; this module only selects, orders and formats.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mia_audit.report.templates import (
    attacks_by_family,
    attacks_by_strength,
    environment,
    epsilon_reading,
    headline_sentence,
    measured_advice,
    model_name,
    realistic_best,
    spoken_setting,
    template_dir,
    what_to_do,
)
from mia_audit.result import DETAILS, AuditResult

TEMPLATE = "report.html.j2"
SUMMARY_RECORDS = 10  # most exposed records listed in the summary report (report.json and --detail full: all kept)
SUMMARY_ROWS = 12  # a per-class table longer than this is left to --detail full (groups are always shown)
# A wide table's feature names in one cell would run to pages (and a PDF of 10,000 names never ends).
MAX_LISTED_COLUMNS = 40
STYLESHEET = "report.css"

# (section id, title) in report order: the table of contents and the tests read this.
SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Executive summary"),
    ("scope", "Scope and reproducibility"),
    ("limitations", "Limitations"),
    ("attacks", "Attack results"),
    ("skipped", "Skipped attacks"),
    ("figures", "Figures"),
    ("utility", "Model utility"),
    ("properties", "Data and model properties"),
    ("per-class", "Per-class and per-group exposure"),
    ("records", "Most exposed records"),
    ("defences", "What would lower the risk, measured"),
    ("mitigations", "Mitigations"),
    ("risk-rationale", "How the risk level is set"),
    ("compliance", "Regulatory and standards mapping"),
    ("methodology", "Methodology"),
    ("knowledge", "Attacker knowledge"),
    ("configuration", "Configuration"),
    ("glossary", "Glossary and references"),
)


# The measured defences (report.json ``defences[].id``) that each mitigation's advice links to.
MITIGATION_DEFENCES: dict[str, tuple[str, ...]] = {
    "regularisation": ("training.l2", "training.dropout", "training.early_stopping"),
    "model_stacking": ("training.stacking",),
    "output_hardening": (
        "output.top1", "output.top3", "output.round1", "output.round2", "output.temperature", "output.label_only",
    ),
    "differential_privacy": ("training.dp_sgd_eps8", "training.dp_sgd_eps1"),
}  # fmt: skip


@dataclass(frozen=True)
class ClassRow:
    label: str
    auc: float | None
    n_members: int
    n_nonmembers: int


# The last result rendered and its document: the HTML and the PDF writers of one run render the same
# (immutable) result, and drawing its figures twice cost a second.
_last: tuple[AuditResult, str] | None = None


def render_html(result: AuditResult) -> str:
    """The report as one HTML document (a string)."""
    global _last
    if _last is not None and _last[0] is result:
        return _last[1]
    html = _render(result)
    _last = (result, html)
    return html


def _render(result: AuditResult) -> str:
    from markupsafe import Markup

    from mia_audit.defences.choice import best_trade_off
    from mia_audit.report.figures import (
        defence_figure_svg,
        distribution_figure_svg,
        exposure_figure_svg,
        family_leaders,
        roc_figure_svg,
    )

    css = (template_dir() / STYLESHEET).read_text(encoding="utf-8")
    dist_svg = distribution_figure_svg(result)
    exposure_svg = exposure_figure_svg(result)
    defence_svg = defence_figure_svg(result)
    full, leaders = detail(result) == "full", family_leaders(result)
    context: dict[str, Any] = {
        "r": result,
        "sections": _sections(result),
        "secno": {sid: i for i, (sid, _) in enumerate(SECTIONS, start=1)},
        "css": Markup(css),
        "model_name": model_name(result.model.path),
        "attacks": attacks_by_strength(result),
        "families": attacks_by_family(result),
        "strongest": result.strongest,
        "headline": headline_sentence(result),
        "roc_svg": Markup(roc_figure_svg(result)) if result.attacks else None,
        "dist_svg": Markup(dist_svg) if dist_svg is not None else None,
        "exposure_svg": Markup(exposure_svg) if exposure_svg is not None else None,
        "per_class": _per_class(result),
        "top_records": result.exposed,
        "risk_rules": result.risk.rules,
        "max_listed_columns": MAX_LISTED_COLUMNS,
        "full": full,
        "epsilon_reading": epsilon_reading(result),
        "what_to_do": what_to_do(result),
        "measured_advice": measured_advice(result),
        "undefended": realistic_best(result),
        "best_defence": best_trade_off(result.defences, result.risk.level),
        "defence_svg": Markup(defence_svg) if defence_svg is not None else None,
        "defence_notes": _defence_notes(result),
        "mitigation_defences": MITIGATION_DEFENCES,
        "undefended_accuracy": _undefended_accuracy(result),
        "summary_records": SUMMARY_RECORDS,
        "summary_rows": SUMMARY_ROWS,
        "knowledge_columns": _knowledge_columns(result),
        "settings": _settings(result, every=full),
        "roc_leaders": leaders,
        "roc_shown": len(leaders),
        "roc_left_out": len(leaders) < len(result.attacks),
        "any_unresolvable": any(
            a.metrics.tpr_at_fpr.get(level) is None for a in result.attacks for level in ("0.01", "0.001")
        ),
    }
    return environment().get_template(TEMPLATE).render(context)


def with_detail(result: AuditResult, chosen: str) -> AuditResult:
    """``result`` as a run with ``--detail chosen`` records it (``mia-audit report --detail`` re-renders so)."""
    config = {**(result.run.config or {}), "detail": chosen}
    return dataclasses.replace(result, run=dataclasses.replace(result.run, config=config))


def detail(result: AuditResult) -> str:
    """How much the report shows (``--detail``, kept in the run's configuration): summary or full."""
    value = result.run.config.get("detail") if result.run.config else None
    return value if value in DETAILS else DETAILS[0]


def _knowledge_columns(result: AuditResult) -> list[str]:
    """The knowledge items some attack of this run assumes, in ``KNOWLEDGE`` order."""
    from mia_audit.attacks.interface import KNOWLEDGE

    used = {k for a in result.attacks for k in a.knowledge}
    return [k for k in KNOWLEDGE if k in used]


def _settings(result: AuditResult, *, every: bool) -> list[tuple[str, str, str]]:
    """(setting, value in words, where it came from) for the configuration table: every setting, or only
    those not at their default."""
    config = dict(result.run.config or {})
    source = config.pop("config_source", None)
    origins = source.get("settings", {}) if isinstance(source, dict) else {}
    rows = []
    for key, value in sorted(config.items()):
        origin = str(origins.get(key, "default"))
        if every or origin != "default":
            rows.append((key, spoken_setting(value), origin))
    return rows


def _undefended_accuracy(result: AuditResult) -> float | None:
    """The model's accuracy on the records the defences' utility is measured on (the scored holdout)."""
    output = next((d for d in result.defences if d.kind == "output"), None)
    return None if output is None else output.utility.test_accuracy - output.utility.accuracy_change


def _defence_notes(result: AuditResult) -> list[str]:
    """The defences' notes once each, naming the releases a note holds for unless it holds for all."""
    holds: dict[str, list[str]] = {}
    for d in result.defences:
        for note in d.notes:
            holds.setdefault(note, []).append(d.setting)
    return [
        note if len(settings) == len(result.defences) else f"{note} ({'; '.join(settings)})"
        for note, settings in holds.items()
    ]


def _sections(result: AuditResult) -> tuple[tuple[str, str], ...]:
    """The sections with their titles for this result: a regressor's breakdown is by ranges of its true value."""
    if result.model.task != "regression":
        return SECTIONS
    return tuple((sid, "Per-range and per-group exposure" if sid == "per-class" else t) for sid, t in SECTIONS)


def write_html(result: AuditResult, path: str | Path) -> Path:
    """Write the report to ``path`` (UTF-8) and return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(result), encoding="utf-8")
    return out


def _per_class(result: AuditResult) -> list[ClassRow]:
    strongest = result.strongest
    if strongest is None:
        return []
    metrics = strongest.metrics
    return [
        ClassRow(label, auc, *metrics.per_class_n.get(label, (0, 0))) for label, auc in metrics.per_class_auc.items()
    ]
