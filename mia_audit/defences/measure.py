"""Output defences, measured: every attack that still applies, run again behind each transformation.

The target's outputs are already collected, so a defence costs no new training: its transformation is
applied to the target's outputs and to every model the attacker trained (shadow, reference and transfer
models; ``AttackContext.released``), and the attacks run again on that view. The attacker's models are
not retrained: they keep the training length matched to the undefended model's confidence, an attacker
who knows how confident the model really is (conservative for the defence).

- The API still answers with the model's predicted class (as prediction APIs do beside their scores), so
  the attacks that read only predicted labels keep their undefended result. Behind label-only release
  only they apply.
- Auditor-only attacks are left out: the residual risk is what an attacker could still do.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from mia_audit.attacks.context import AttackContext, Release
from mia_audit.attacks.estimate import spoken
from mia_audit.attacks.interface import Attack, AttackResult, run_attack
from mia_audit.defences.output import OutputDefence, fitted_temperature, output_defences, utility
from mia_audit.defences.proxies import Proxy
from mia_audit.environment import SKLEARN_FITS, side_by_side
from mia_audit.judge.reports import report_attack
from mia_audit.judge.risk import assess_risk
from mia_audit.models.released import ReleasedModel
from mia_audit.result import AttackReport, DefenceAttack, DefenceResult, DefenceUtility

Step = Callable[[str], contextlib.AbstractContextManager[None]]


@contextlib.contextmanager
def _quiet(_: str) -> Iterator[None]:
    yield


@dataclass(frozen=True)
class Judging:
    """What measuring a defence needs from the audit besides the attacker's view: the evaluation truth,
    and (for proxies) every member record's row in the audit frame."""

    is_member: np.ndarray
    labels: np.ndarray
    class_names: tuple[str, ...]
    risk_include: frozenset[str] = frozenset()
    member_rows: np.ndarray | None = None


def measure_output_defences(
    ctx: AttackContext,
    attacks: Sequence[Attack],
    undefended: Sequence[AttackResult],
    judging: Judging,
    step: Step = _quiet,
) -> tuple[DefenceResult, ...]:
    """Each output defence's residual risk, best attacks and utility; ``undefended``: the audit's own results."""
    temperature, fitted_on = _temperature(ctx, judging)
    realistic = [a for a in attacks if not a.info.auditor_only]
    before = {r.id: r for r in undefended}
    defences = output_defences(temperature)
    with step(
        f"Estimated {spoken(output_seconds(ctx, undefended, len(defences)))} for {len(defences)} output defences"
    ):
        pass
    # Nothing is trained behind an output defence (the pools are the run's, the transfer corpus ships with
    # its outputs), and each defence's work is keyed by its id: they run side by side, with the numbers of a
    # serial run. Their attack-model fits run on one OpenMP thread each, so two defences fill two cores.
    with step(f"{len(defences)} output defences: {', '.join(d.id for d in defences)}"):
        return tuple(
            side_by_side(lambda d: _measure(ctx, d, realistic, before, judging, fitted_on), defences, SKLEARN_FITS)
        )


def output_seconds(ctx: AttackContext, undefended: Sequence[AttackResult], n_defences: int) -> float:
    """How long the output defences will take, from this run's own attack times: every probability attack
    once more behind each defence but the label-only one, less the pools it trained (they are not trained
    again), two defences at a time where two threads may run."""
    from mia_audit.environment import thread_budget
    from mia_audit.training.reference_pool import ReferencePool
    from mia_audit.training.shadow_pool import ShadowPool

    attacks = sum(r.duration_s for r in undefended if r.id not in _LABEL_ONLY and r.family != "supervised")
    pools = sum(item.duration_s for item in ctx.shared.values() if isinstance(item, (ShadowPool, ReferencePool)))
    # The reruns also skip the attack-model choices: 0.7 of the rest (Location 15.9 s for 22 s unscaled,
    # the bundled sample about 6 s for 11 s).
    once = 0.7 * max(attacks - pools, 0.1 * attacks)
    return once * (n_defences - 1) / max(1, min(2, thread_budget()))


_LABEL_ONLY = ("label_only.gap", "label_only.boundary")


def _temperature(ctx: AttackContext, judging: Judging) -> tuple[float, str]:
    """The softening temperature, fitted on known non-members the evaluation does not score: the population."""
    if len(ctx.population_idx):
        return fitted_temperature(ctx.population_probs, ctx.population_labels), "population records"
    holdout = ~judging.is_member
    return fitted_temperature(ctx.eval_probs[holdout], judging.labels[holdout]), "the holdout records it is measured on"


def _measure(
    ctx: AttackContext,
    defence: OutputDefence,
    attacks: Sequence[Attack],
    before: dict[str, AttackResult],
    judging: Judging,
    fitted_on: str,
) -> DefenceResult:
    start = time.perf_counter()
    release = Release(defence.id, defence.transform)
    defended = ctx.released(release, ReleasedModel(ctx.target, defence.transform))
    label_only = defence.id == "output.label_only"
    reports: list[AttackReport] = []
    rows: list[DefenceAttack] = []
    for attack in attacks:
        if label_only and attack.info.needs_probabilities:
            continue
        kept = not attack.info.needs_probabilities and attack.info.id in before
        result = before[attack.info.id] if kept else run_attack(attack, defended)
        report = report_attack(result, judging.is_member, judging.labels, judging.class_names)
        reports.append(report)
        rows.append(_row(report, rerun=not kept))
    risk = assess_risk(reports, judging.risk_include)
    return DefenceResult(
        id=defence.id,
        kind="output",
        setting=defence.setting,
        utility=_utility(ctx, defence, judging),
        attacks=tuple(rows),
        risk_level=risk.level,
        strongest_attack=risk.strongest_attack,
        notes=_notes(defence, attacks, label_only, fitted_on, ctx.options.reselect),
        duration_s=round(time.perf_counter() - start, 3),
    )


def _row(report: AttackReport, *, rerun: bool) -> DefenceAttack:
    m = report.metrics
    return DefenceAttack(
        id=report.id,
        auc=m.auc,
        auc_ci=m.auc_ci,
        tpr_at_fpr=dict(m.tpr_at_fpr),
        n_members=m.n_members,
        n_nonmembers=m.n_nonmembers,
        rerun=rerun,
        duration_s=report.duration_s if rerun else 0.0,
    )


def _utility(ctx: AttackContext, defence: OutputDefence, judging: Judging) -> DefenceUtility:
    holdout = ~judging.is_member
    probs, labels = ctx.eval_probs[holdout], judging.labels[holdout]
    return utility(probs, defence.transform(probs), labels)


def _notes(
    defence: OutputDefence, attacks: Sequence[Attack], label_only: bool, fitted_on: str, attacks_reselect: bool
) -> tuple[str, ...]:
    notes = [
        "the attacker's shadow, reference and transfer models release their outputs the same way; they are not "
        "retrained, and keep the training length matched to the undefended model (conservative for the defence)"
    ]
    if label_only:
        skipped = sum(a.info.needs_probabilities for a in attacks)
        notes.append(f"{skipped} attacks read probabilities, which this release does not give; label-only ones apply")
    else:
        again = "chosen again behind this release" if attacks_reselect else "kept as chosen on the undefended outputs"
        notes.append("the label-only attacks keep their undefended result: the API still gives the predicted class")
        notes.append(f"shadow.shokri's and stacked's attack models are {again}")
    if defence.id == "output.temperature":
        notes.append(f"temperature fitted for the lowest log-loss on {fitted_on} (never below 1)")
    notes.append("utility measured on the holdout records; the auditor-only supervised attack is not rerun")
    return tuple(notes)


PROXY_UTILITY = "utility is the proxy's on the holdout records; changes are against the undefended proxy"
PROXY_NOTE = "measured on a proxy: a model of the target's family trained on the member records, not the model itself"


def measure_training_defences(
    ctx: AttackContext,
    attacks: Sequence[Attack],
    judging: Judging,
    step: Step = _quiet,
    attack_seconds: float = 0.0,
) -> tuple[tuple[DefenceResult, ...], tuple[str, ...]]:
    """Each training-side defence measured on a proxy (``defences.proxies``): every attack runs against the
    proxy, with attacker models of its own, on the proxy's members (the audit's) against the holdout.
    ``attack_seconds``: how long these attacks took on the model (each proxy takes about as long)."""
    from mia_audit.defences.proxies import train_proxies

    if judging.member_rows is None:
        raise ValueError("training-side defences need the member records' rows")
    choice = ctx.family("auto", ctx.shadow_mlp())
    n_proxies = 7 if choice.family == "mlp" else 4
    with step(f"Estimated {spoken(n_proxies * attack_seconds)} for {n_proxies} proxies of training-side defences"):
        pass
    with step("Training the proxies of the training-side defences"):
        proxies, notes = train_proxies(ctx, judging.member_rows, choice)
    holdout = ~judging.is_member
    baseline_probs = proxies[0].predict(ctx.features.iloc[ctx.eval_idx])[holdout]
    out = []
    for number, proxy in enumerate(proxies, 1):
        with step(f"Proxy {number}/{len(proxies)} {proxy.id}: {proxy.setting}"):
            out.append(_measure_proxy(ctx, proxy, attacks, judging, baseline_probs))
    return tuple(out), tuple(notes)


def _measure_proxy(
    ctx: AttackContext, proxy: Proxy, attacks: Sequence[Attack], judging: Judging, baseline_probs: np.ndarray
) -> DefenceResult:
    from dataclasses import replace

    from mia_audit.attacks.context import SharedWork
    from mia_audit.defences.proxies import ProxyTarget

    start = time.perf_counter()
    target = ProxyTarget(ctx.target, proxy)
    probs = target.predict_proba(ctx.features)  # the one batched pass, as for the target
    proxy_ctx = replace(ctx, probs=probs, target=target, shared=SharedWork(), release=None, undefended_probs=None)
    reports = []
    for attack in attacks:
        result = run_attack(attack, proxy_ctx)
        reports.append(report_attack(result, judging.is_member, judging.labels, judging.class_names))
    risk = assess_risk(reports, judging.risk_include)
    holdout = ~judging.is_member
    return DefenceResult(
        id=proxy.id,
        kind="training",
        setting=proxy.setting,
        utility=utility(baseline_probs, probs[ctx.eval_idx][holdout], judging.labels[holdout]),
        attacks=tuple(_row(r, rerun=True) for r in reports),
        risk_level=risk.level,
        strongest_attack=risk.strongest_attack,
        notes=(
            PROXY_NOTE,
            "utility is the proxy's on the holdout records; changes are against the undefended proxy",
            *proxy.notes,
        ),
        duration_s=round(time.perf_counter() - start, 3),
    )
