"""Time estimates said before the attacks start: they grow with the work, count a shared pool once,
and the CLI prints them for an audit large enough to need them."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mia_audit.attacks import estimate
from mia_audit.attacks.estimate import Speed, Workload, calibrate, spoken
from mia_audit.cli import app

SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"
SPEED = Speed(train_macs_s=estimate.REFERENCE_TRAIN_MACS_S, predict_macs_s=1e11)
SMALL = Workload(
    n_eval=10_000,
    n_population=5_000,
    n_records=15_000,
    n_columns=200,
    n_inputs=200,
    n_classes=20,
    hidden=(256,),
    shadow_epochs=None,
    fit_s_per_row=0.0,
    train_size=5_000,
    shadow_models=16,
    reference_models=16,
    boundary_records=4_000,
    boundary_queries=100,
    query_s_per_record=2e-6,
)
HEAVY = ("shadow.shokri", "shadow.combined", "lira.offline", "stacked", "label_only.boundary", "supervised")


def _seconds(work: Workload, ids: tuple[str, ...] = HEAVY) -> dict[str, float]:
    return {e.attack_id: e.seconds for e in estimate.estimate(ids, work, SPEED)}


def test_estimates_grow_with_the_records() -> None:
    large = replace(SMALL, n_eval=100_000, n_population=50_000, n_records=150_000, train_size=50_000)
    small, big = _seconds(SMALL), _seconds(large)
    for attack_id in HEAVY:
        if attack_id != "label_only.boundary":
            assert big[attack_id] > small[attack_id], attack_id
    # The boundary attack queries a subsample of --boundary-records: its cost grows with that, not the records.
    assert big["label_only.boundary"] == pytest.approx(small["label_only.boundary"])
    more = _seconds(replace(SMALL, boundary_records=8_000), ("label_only.boundary",))
    assert more["label_only.boundary"] > small["label_only.boundary"]


def test_transfer_costs_training_only_for_a_user_corpus() -> None:
    # The built-in corpus's shadows ship with the package; a --transfer-data corpus is trained live.
    shipped = _seconds(SMALL, ("transfer",))["transfer"]
    user = _seconds(replace(SMALL, user_transfer_corpus=True), ("transfer",))["transfer"]
    assert shipped < 0.5 < user


def test_a_shared_pool_counts_for_its_first_user_only() -> None:
    seconds = _seconds(SMALL, ("lira.offline", "lira.online", "rmia"))
    # Both LiRA variants score every record alike; only the first pays for the pool.
    pool = estimate.POOLS["reference"](SMALL, SPEED)
    assert pool > 1.0
    assert seconds["lira.offline"] == pytest.approx(seconds["lira.online"] + pool)
    assert seconds["rmia"] < seconds["lira.online"]


def test_fixed_shadow_epochs_price_that_many_epochs() -> None:
    few, many = replace(SMALL, shadow_epochs=2), replace(SMALL, shadow_epochs=40)
    assert _seconds(many, ("shadow.one",))["shadow.one"] > 5 * _seconds(few, ("shadow.one",))["shadow.one"]


def test_a_slower_machine_gets_longer_estimates() -> None:
    slow = Speed(SPEED.train_macs_s / 4, SPEED.predict_macs_s / 4, slowdown=4.0)
    fast_s = sum(e.seconds for e in estimate.estimate(HEAVY, SMALL, SPEED))
    slow_s = sum(e.seconds for e in estimate.estimate(HEAVY, SMALL, slow))
    assert slow_s > 3 * fast_s


def test_calibration_measures_a_positive_rate() -> None:
    speed = calibrate(20, (16,), 3, budget_s=0.03)
    assert speed.train_macs_s > 0 and speed.predict_macs_s > 0 and speed.slowdown > 0


@pytest.mark.parametrize("seconds, text", [(0.3, "<1 s"), (12.4, "~12 s"), (89, "~89 s"), (300, "~5 min")])
def test_spoken(seconds: float, text: str) -> None:
    assert spoken(seconds) == text


def test_the_scan_says_its_estimates_before_the_attacks(tmp_path: Path) -> None:
    args = ["scan", str(SAMPLES / "mlp_leaky.onnx"), "--data", str(SAMPLES / "sample_audit.csv")]
    args += ["--attacks", "threshold.loss,lira.online", "--reference-models", "2", "--format", "json"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code in (0, 1), result.output
    lines = result.output.splitlines()
    announced = next(i for i, line in enumerate(lines) if line.startswith("✓ Estimated"))
    first_attack = next(i for i, line in enumerate(lines) if "Attack 1/2" in line)
    assert announced < first_attack and "(estimated" in lines[first_attack]


def test_the_boundary_attack_pays_for_reference_models_only_when_it_trains_its_own() -> None:
    # Sharing: the shadow pool is counted for the first attack that trains it (shadow.shokri in a full audit).
    alone = _seconds(SMALL, ("label_only.boundary",))["label_only.boundary"]
    after_shokri = _seconds(SMALL, ("shadow.shokri", "label_only.boundary"))["label_only.boundary"]
    assert after_shokri < alone - 1.0
    own = _seconds(replace(SMALL, shadow_data="noisy"), ("shadow.shokri", "label_only.boundary"))
    assert own["label_only.boundary"] > after_shokri + 1.0


def test_the_boundary_attack_is_priced_for_the_noise_levels_its_columns_take() -> None:
    """Only flags: no Gaussian grid to search, so fewer calibration queries than with numeric columns too."""
    both = _seconds(SMALL, ("shadow.shokri", "label_only.boundary"))["label_only.boundary"]
    flags = replace(SMALL, continuous_columns=False)
    assert _seconds(flags, ("shadow.shokri", "label_only.boundary"))["label_only.boundary"] < both
