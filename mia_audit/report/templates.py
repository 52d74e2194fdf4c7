"""Where the report templates live, the jinja2 environment, and the number formatting filters.

Templates ship in the wheel at ``mia_audit/templates`` (pyproject force-includes the top-level
``templates/`` folder there); in a source checkout or an editable install they are at
``<repo>/templates``. The filters are plain functions so that the console renderer formats numbers
exactly like the HTML report.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import jinja2
    from markupsafe import Markup

    from mia_audit.result import AttackReport, AuditResult, DefenceResult

DASH = "—"
NOT_RESOLVABLE = "n/r"


def template_dir() -> Path:
    """The folder holding ``report.html.j2`` and ``report.css`` (wheel first, then source tree)."""
    here = Path(__file__).resolve()
    for candidate in (here.parents[1] / "templates", here.parents[2] / "templates"):
        if (candidate / "report.html.j2").is_file():
            return candidate
    raise FileNotFoundError(
        "mia-audit report templates not found: looked in "
        f"{here.parents[1] / 'templates'} and {here.parents[2] / 'templates'}; "
        "reinstall mia-audit"
    )


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The jinja2 environment: autoescape on, and a missing variable raises instead of rendering ''."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir())),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update({f.__name__: f for f in (pct, num, ci, pct_ci, dur, count, eps, tpr, ident)})
    return env


# --------------------------------------------------------------------------- number formatting


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def model_name(path: str) -> str:
    """The model as a title names it: the file name, or the whole ``models:/`` or ``runs:/`` URI."""
    from mia_audit.models.mlflow_source import is_mlflow_uri

    return path if is_mlflow_uri(path) else (Path(path).name or path)


def num(value: float | int | str | None, digits: int = 3) -> str:
    """A plain number with ``digits`` decimals; ``—`` for None/NaN; strings pass through."""
    if isinstance(value, str):
        return value
    if _missing(value):
        return DASH
    assert value is not None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    text = f"{value:,.{digits}f}"
    return text.replace("-", "−") if value < 0 else text


def pct(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage: ``0.0874 -> '8.7%'``; ``—`` for None."""
    if _missing(value):
        return DASH
    assert value is not None
    text = f"{value * 100:.{digits}f}%"
    return text.replace("-", "−") if value < 0 else text


def ci(interval: Sequence[float] | None, digits: int = 3) -> str:
    """An interval as ``[lo, hi]``; empty string for None."""
    if interval is None:
        return ""
    lo, hi = interval
    return f"[{num(lo, digits)}, {num(hi, digits)}]"


def pct_ci(interval: Sequence[float] | None, digits: int = 1) -> str:
    """An interval of fractions as ``[lo%, hi%]``; empty string for None."""
    if interval is None:
        return ""
    lo, hi = interval
    return f"[{pct(lo, digits)}, {pct(hi, digits)}]"


def tpr(value: float | None, digits: int = 1) -> str:
    """A TPR at fixed FPR: a percentage, or ``n/r`` when the FPR is not resolvable."""
    return NOT_RESOLVABLE if _missing(value) else pct(value, digits)


def eps(value: float | None) -> str:
    """An ε lower bound; ``—`` when there is none or it is 0: either way the attack gives no evidence
    against a differential-privacy guarantee."""
    return DASH if value is None or _missing(value) or value <= 0 else num(value, 2)


def epsilon_reading(result: AuditResult) -> str:
    """The audit's ε lower bound in one plain sentence, with the attack that set it."""
    bound: float | None
    if result.epsilon is not None:
        bound, by = result.epsilon.epsilon, " / ".join(dict.fromkeys(h.attack_id for h in result.epsilon.halves))
    elif result.strongest is not None:
        bound, by = result.strongest.metrics.epsilon_lower_bound, result.strongest.id
    else:
        return "No attack ran: no evidence either way."
    if bound is None or _missing(bound) or bound <= 0:
        return "No evidence against a differential-privacy guarantee; that is not a guarantee either."
    return (
        f"No training with differential privacy at an ε below {num(bound, 2)} could have produced this result ({by})."
    )


def count(value: int | None) -> str:
    """An integer with thousands separators."""
    return DASH if value is None else f"{value:,}"


def dur(seconds: float | None) -> str:
    """A duration for people: ``0.42 s``, ``12.3 s``, ``2 min 05 s``, ``1 h 02 min``."""
    if _missing(seconds):
        return DASH
    assert seconds is not None
    if seconds < 1:
        return f"{seconds:.2f} s"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def ident(name: str) -> Markup:
    """An identifier (attack id, property name), escaped, with line-break chances after . and _."""
    from markupsafe import Markup, escape

    text = str(escape(name))
    return Markup(text.replace(".", ".<wbr>").replace("_", "_<wbr>"))


# --------------------------------------------------------------------------- shared view helpers


def attacks_by_strength(result: AuditResult) -> list[AttackReport]:
    """Attacks, the risk's strongest first, then by TPR at 1% FPR and AUC (ordering only)."""
    strongest = result.risk.strongest_attack

    def key(report: AttackReport) -> tuple[bool, float, float, str]:
        low_fpr = report.metrics.tpr_at_fpr.get("0.01")
        return (
            report.id != strongest,
            -(low_fpr if low_fpr is not None else -1.0),
            -report.metrics.auc,
            report.id,
        )

    return sorted(result.attacks, key=key)


FAMILY_NAMES = {
    "threshold": "Threshold attacks",
    "shadow": "Shadow-model attacks",
    "reference": "Reference-model attacks",
    "transfer": "Data-transfer attack",
    "label_only": "Label-only attacks",
    "supervised": "Auditor only: knows the membership of other records, no real attacker does",
}


def attacks_by_family(result: AuditResult) -> list[tuple[str, list[AttackReport]]]:
    """(family name, its attacks strongest first), the families in the order of their strongest attack;
    the auditor-only attacks last, whatever their strength."""
    from mia_audit.attacks.registry import auditor_only_ids

    groups: dict[str, list[AttackReport]] = {}
    for report in attacks_by_strength(result):
        groups.setdefault(report.family, []).append(report)
    auditor = auditor_only_ids()
    order = sorted(groups, key=lambda family: all(r.id in auditor for r in groups[family]))  # stable
    return [(FAMILY_NAMES.get(family, family.replace("_", " ").capitalize()), groups[family]) for family in order]


def what_to_do(result: AuditResult) -> str:
    """Page 1's advice for the verdict, in words (the console prints the same), and the measured defence
    that lowers the risk at the least cost when defences were measured."""
    advice = _what_to_do(result)
    measured = measured_advice(result)
    return f"{advice} {measured}" if measured else advice


# The defences by a few words (report.json ``defences[].id``), for the figure and the console.
SHORT_DEFENCE: dict[str, str] = {
    "output.top1": "top-1",
    "output.top3": "top-3",
    "output.round1": "round 0.1",
    "output.round2": "round 0.01",
    "output.temperature": "temperature",
    "output.label_only": "label only",
    "training.baseline": "proxy",
    "training.l2": "proxy + L2",
    "training.dropout": "proxy + dropout",
    "training.early_stopping": "proxy + early stop",
    "training.stacking": "proxy + stacking",
    "training.dp_sgd_eps8": "proxy + DP ε=8",
    "training.dp_sgd_eps1": "proxy + DP ε=1",
}


def short_defence(defence_id: str) -> str:
    """A defence's name in a few words, for the figure and the console."""
    return SHORT_DEFENCE.get(defence_id, defence_id.split(".", 1)[-1])


def realistic_best(result: AuditResult) -> AttackReport | None:
    """The realistic attack that finds the most members at 1% FPR (then the highest AUC): what a defence's
    best attack is compared with."""
    from mia_audit.attacks.registry import auditor_only_ids

    auditor = auditor_only_ids()
    realistic = [a for a in result.attacks if a.id not in auditor]
    return max(realistic, key=lambda a: (a.metrics.tpr_at_fpr.get("0.01") or 0.0, a.metrics.auc), default=None)


def measured_advice(result: AuditResult) -> str:
    """The best measured trade-off in one sentence (empty when no defence was measured or none is needed)."""
    from mia_audit.defences.choice import best_trade_off, least_leaky, reference_level

    if not result.defences or result.risk.level not in ("medium", "high", "critical"):
        return ""
    best = best_trade_off(result.defences, result.risk.level)
    if best is not None and best.kind == "training":
        before = reference_level(best, result.defences, result.risk.level).upper()
        return (
            f"Measured on a proxy of the model trained on its members: {best.setting} lowers the proxy's risk "
            f"level from {before} to {best.risk_level.upper()} ({defence_cost(best)}); retrain and audit again."
        )
    if best is not None:
        return (
            f"Measured on this model: {best.setting} lowers the risk level to {best.risk_level.upper()} "
            f"({defence_cost(best)})."
        )
    least = least_leaky(result.defences)
    assert least is not None
    found = least.best.tpr_at_fpr.get("0.01") if least.best is not None else None
    return (
        f"None of the {len(result.defences)} defences measured on this model lowers the risk level: the least "
        f"leaky, {least.setting}, still lets {least.strongest_attack or 'an attack'} find {pct(found)} of the "
        "members at 1% FPR. The leakage is in what the model learned; change how it is trained."
    )


def defence_cost(defence: DefenceResult) -> str:
    """What a defence costs in words: accuracy, and the log-loss of what it releases."""
    u = defence.utility
    points = 100 * u.accuracy_change
    accuracy = "accuracy unchanged" if abs(points) < 0.05 else f"accuracy {points:+.1f} points"
    if u.log_loss_change is None:
        return accuracy
    return f"{accuracy}, log-loss {u.log_loss_change:+.2f}"


def _what_to_do(result: AuditResult) -> str:
    level = result.risk.level
    if level in ("high", "critical"):
        limit = (
            "returning rounded predictions"
            if result.model.task == "regression"
            else ("returning only labels or rounded top-k scores")
        )
        return (
            "Treat the model as disclosing who was in its training data. Before release, reduce memorisation "
            "(stronger regularisation, early stopping, more training data, or training with differential privacy "
            f"such as DP-SGD), consider {limit}, and run this audit again. Record the residual risk in the DPIA."
        )
    if level == "medium":
        return (
            "The attacks find measurable leakage. Check whether the training data are sensitive; if so, reduce "
            "memorisation (regularisation, early stopping, differential privacy) or limit the model's outputs, "
            "and document the residual risk."
        )
    if level == "inconclusive":
        settle = f" To settle it: {result.risk.settle}." if result.risk.settle else ""
        return (
            f"The evidence cannot set the level; treat the model as at least {result.risk.at_least} until an "
            f"audit settles it.{settle} Do not read this audit as showing little leakage."
        )
    return (
        "The attacks run here found little membership leakage. Keep the audit in CI so that a retrained model "
        "is checked again, and read the limitations: a low level is not a guarantee."
    )


def headline_sentence(result: AuditResult) -> str:
    """One plain sentence on what the strongest attack achieves, for readers who skip the rest."""
    strongest = result.strongest
    if strongest is None:
        if not result.attacks:
            return "No attack ran in this audit, so no membership leakage was measured."
        strongest = attacks_by_strength(result)[0]
    metrics = strongest.metrics
    found = metrics.tpr_at_fpr.get("0.01")
    if found is not None:
        share = pct(found, 0 if found >= 0.095 else 1)
        return (
            f"An attacker with data like yours can pick out {share} of the training records "
            "while wrongly accusing 1% of outsiders."
        )
    return (
        f"An attacker with data like yours ranks a random training record above a random "
        f"outsider {pct(metrics.auc, 0)} of the time (AUC {num(metrics.auc)}; 50% is guessing)."
    )


def spoken_setting(value: object) -> str:
    """A configuration value in words, never a Python repr: not set, yes/no, comma-separated lists."""
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(spoken_setting(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {spoken_setting(v)}" for k, v in value.items()) if value else "none"
    return str(value)
