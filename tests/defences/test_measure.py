"""Output defences, measured: the transformation reaches the attacker's models too, an exchangeable audit
stays at chance behind every defence, and label-only release keeps the label-only attacks' risk."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import numpy as np
import pytest

from mia_audit import signals
from mia_audit.attacks import registry
from mia_audit.attacks.context import AttackContext, Release
from mia_audit.attacks.interface import Attack, run_attack
from mia_audit.defences.measure import Judging, measure_output_defences
from mia_audit.defences.output import soften, top_k
from mia_audit.models.released import ReleasedModel
from mia_audit.result import DefenceResult
from tests.attacks.test_conformance import Case, build_case, one_thread  # noqa: F401  (fixture)

IDS = ("output.top1", "output.top3", "output.round1", "output.round2", "output.temperature", "output.label_only")


def _realistic(case: Case) -> tuple[Attack, ...]:
    runnable, _ = registry.plan_attacks(
        None, case.target.output_kind, len(case.population_idx), "classification", "standard"
    )
    return tuple(a for a in runnable if not a.info.auditor_only)


def _measure(case: Case) -> tuple[tuple[DefenceResult, ...], dict[str, float]]:
    ctx = case.context()
    attacks = _realistic(case)
    undefended = [run_attack(a, ctx) for a in attacks]
    names = tuple(str(c) for c in case.target.classes)
    judging = Judging(case.is_member, case.labels[case.eval_idx], names)
    from mia_audit.judge.reports import report_attack

    before = {r.id: report_attack(r, judging.is_member, judging.labels, names).metrics.auc for r in undefended}
    return measure_output_defences(ctx, attacks, undefended, judging), before


@pytest.fixture(scope="module")
def exchangeable(tmp_path_factory: pytest.TempPathFactory) -> tuple[DefenceResult, ...]:
    return _measure(build_case(tmp_path_factory.mktemp("exchangeable"), exchangeable=True))[0]


@pytest.fixture(scope="module")
def leaky(tmp_path_factory: pytest.TempPathFactory) -> tuple[tuple[DefenceResult, ...], dict[str, float]]:
    return _measure(build_case(tmp_path_factory.mktemp("leaky")))


def test_every_output_defence_is_measured_in_order(exchangeable: tuple[DefenceResult, ...]) -> None:
    assert tuple(d.id for d in exchangeable) == IDS
    assert all(d.kind == "output" and d.attacks and d.setting for d in exchangeable)


def test_exchangeable_records_keep_every_defended_auc_within_its_interval_of_chance(
    exchangeable: tuple[DefenceResult, ...],
) -> None:
    for defence in exchangeable:
        for attack in defence.attacks:
            low, high = attack.auc_ci
            assert low <= 0.5 <= high, (defence.id, attack.id, attack.auc_ci)
        assert defence.risk_level in ("low", "inconclusive"), defence.id


def test_label_only_release_keeps_the_label_attacks_and_their_risk(
    leaky: tuple[tuple[DefenceResult, ...], dict[str, float]],
) -> None:
    defences, before = leaky
    label_only = next(d for d in defences if d.id == "output.label_only")
    assert {a.id for a in label_only.attacks} == {"label_only.gap", "label_only.boundary"}
    for attack in label_only.attacks:
        assert not attack.rerun and attack.auc == before[attack.id]
    # The memorising tree leaks through its labels: label-only release must not read as safe.
    assert max(a.auc for a in label_only.attacks) > 0.6
    assert label_only.risk_level != "low"


def test_every_probability_defence_reruns_the_probability_attacks(
    leaky: tuple[tuple[DefenceResult, ...], dict[str, float]],
) -> None:
    defences, _ = leaky
    for defence in defences[:-1]:
        rerun = {a.id for a in defence.attacks if a.rerun}
        assert {"threshold.loss", "shadow.shokri", "lira.online", "rmia", "stacked", "transfer"} <= rerun
        assert {a.id for a in defence.attacks if not a.rerun} == {"label_only.gap", "label_only.boundary"}
        assert "supervised" not in {a.id for a in defence.attacks}  # auditor-only: not a residual risk


def test_temperature_and_top_k_keep_the_accuracy(leaky: tuple[tuple[DefenceResult, ...], dict[str, float]]) -> None:
    defences, _ = leaky
    for defence in defences:
        if defence.id != "output.round1":  # a tie after rounding can change the top class
            assert defence.utility.accuracy_change == pytest.approx(0.0), defence.id
    temperature = next(d for d in defences if d.id == "output.temperature")
    assert temperature.utility.log_loss_change is not None and temperature.utility.log_loss_change <= 1e-12


def _released(ctx: AttackContext, transform: object) -> AttackContext:
    t = transform  # type: ignore[assignment]
    return ctx.released(Release("test", t), ReleasedModel(ctx.target, t))  # type: ignore[arg-type]


def test_the_transformation_reaches_the_reference_and_shadow_models(tmp_path: Path) -> None:
    case = build_case(tmp_path)
    ctx = case.context()
    twice_as_soft = partial(soften, temperature=2.0)  # applied twice it would be T = 4: it shows a double release
    defended = _released(ctx, twice_as_soft)
    base, released = ctx.reference_pool(), defended.reference_pool()
    assert base.predict is not None
    rows = np.arange(len(case.labels))
    for k, probs in enumerate(np.asarray(base.predict(rows))):
        expected = signals.logit_confidence(twice_as_soft(probs), case.labels)
        np.testing.assert_allclose(released.logit[k], expected, rtol=1e-9, atol=1e-9)
    shadows, released_shadows = ctx.main_shadow_pool(), defended.main_shadow_pool()
    np.testing.assert_allclose(released_shadows.probs[0], twice_as_soft(shadows.probs[0]), rtol=1e-6)
    # lira.offline's models are the shadows when they can be: released once, not once per layer.
    offline, released_offline = ctx.reference_pool(offline=True), defended.reference_pool(offline=True)
    assert offline.predict is not None
    first = np.asarray(offline.predict(rows))[0]
    np.testing.assert_allclose(
        released_offline.logit[0], signals.logit_confidence(twice_as_soft(first), case.labels), rtol=1e-9, atol=1e-9
    )
    # The target's outputs are released alike, and its queries go through the same transformation.
    np.testing.assert_allclose(defended.probs, twice_as_soft(ctx.probs))
    frame = case.features.iloc[:5]
    np.testing.assert_allclose(defended.target.predict_proba(frame), twice_as_soft(case.target.predict_proba(frame)))
    # The attacker's models train once: the defended context reuses the trained pools.
    assert defended.reference_pool() is released and ctx.reference_pool() is base


def test_top1_release_changes_what_the_shadow_attack_model_sees(tmp_path: Path) -> None:
    case = build_case(tmp_path)
    ctx = case.context()
    defended = _released(ctx, partial(top_k, k=1))
    rows = defended.main_shadow_pool().rows()[0]
    assert np.all((rows > 0).sum(axis=1) <= 1)


def test_an_attack_model_choice_is_kept_behind_a_defence_unless_chosen_again(tmp_path: Path) -> None:
    from dataclasses import replace

    ctx = build_case(tmp_path).context()
    calls: list[int] = []

    def choose() -> int:
        calls.append(len(calls) + 1)
        return calls[-1]

    assert ctx.selection("stacked", choose) == 1
    assert _released(ctx, partial(top_k, k=1)).selection("stacked", choose) == 1 and calls == [1]
    again = replace(ctx, options=replace(ctx.options, reselect=True))  # the thorough profile
    assert _released(again, partial(top_k, k=1)).selection("stacked", choose) == 2
    assert ctx.selection("shadow.shokri", choose) == 3  # each attack its own choice


def test_the_output_defences_estimate_counts_each_rerun_without_the_pools(tmp_path: Path) -> None:
    from mia_audit.defences.measure import output_seconds
    from mia_audit.environment import limited_threads

    case = build_case(tmp_path)
    ctx = case.context()
    ran = [run_attack(a, ctx) for a in _realistic(case)]
    with limited_threads(1):
        one_thread = output_seconds(ctx, ran, 6)
    with limited_threads(2):
        two_threads = output_seconds(ctx, ran, 6)
    probability = sum(r.duration_s for r in ran if not r.id.startswith("label_only"))
    assert 0 < one_thread <= 0.7 * 5 * probability + 1e-9
    assert two_threads == pytest.approx(one_thread / 2)


def test_a_defences_released_pools_live_with_its_context_not_the_run(tmp_path: Path) -> None:
    case = build_case(tmp_path)
    ctx = case.context()
    attacks = [a for a in _realistic(case) if a.info.id in ("lira.online", "shadow.one")]
    ran = [run_attack(a, ctx) for a in attacks]
    names = tuple(str(c) for c in case.target.classes)
    measure_output_defences(ctx, attacks, ran, Judging(case.is_member, case.labels[case.eval_idx], names))
    kept = [key for key in ctx.shared._items if "released" in str(key)]
    assert kept == []  # six releases of every pool would stay in memory for the whole run otherwise
    assert any(key == ("reference_pool", False) for key in ctx.shared._items)
