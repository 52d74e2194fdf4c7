"""LiRA (offline, online) and RMIA: their math by hand, the reference split, and real targets end to end."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from e2e_data import exchangeable_case, overfit_case
from fixtures_models import build_torch_mlp_onnx
from typer.testing import CliRunner

from mia_audit.attacks.reference import (
    LOGIT_BOUNDS,
    Gaussians,
    choose_clip,
    fit_gaussians,
    marginal_probability,
    offline_probability,
    offline_scores,
    online_scores,
    pooled_sd,
    rmia_scores,
)
from mia_audit.attacks.registry import resolve_selection
from mia_audit.audit import AuditConfig, audit
from mia_audit.cli import app
from mia_audit.data.records import DataSpec
from mia_audit.errors import ConfigError
from mia_audit.result import AuditResult
from mia_audit.training.matched_mlp import ConfidenceMatch, train_matched_mlps
from mia_audit.training.mlp import MLPSpec
from mia_audit.training.reference_config import ReferenceConfig
from mia_audit.training.reference_pool import population_split, reference_split, tempered_true_probability

REFERENCE_IDS = ("lira.offline", "lira.online", "rmia", "stacked")


# -- the math, with values worked out by hand --------------------------------------------------------


def test_pooled_sd_by_hand() -> None:
    # Record 0: IN values 1, 3 (mean 2, squares 1 + 1); record 1: IN values 4, 6, 8 (mean 6, squares 4 + 0 + 4).
    # Pooled: sqrt((2 + 8) / ((2 - 1) + (3 - 1))) = sqrt(10 / 3).
    values = np.array([[1.0, 4.0], [3.0, 6.0], [9.0, 8.0], [0.0, 0.0]])
    mask = np.array([[True, True], [True, True], [False, True], [False, False]])
    assert pooled_sd(values, mask) == pytest.approx(math.sqrt(10 / 3))


def test_offline_score_is_the_log_odds_of_the_out_gaussian_cdf() -> None:
    # z = 0: Φ = 1/2, log-odds 0. z = 1: Φ(1) = 0.841345, log(0.841345 / 0.158655) = 1.66827.
    scores = offline_scores(np.array([2.0, 5.0]), np.array([2.0, 2.0]), 3.0)
    assert scores == pytest.approx([0.0, 1.66827], abs=1e-4)
    # Far in the upper tail the score keeps growing instead of rounding Φ to 1.
    far = offline_scores(np.array([60.0, 80.0]), np.zeros(2), 1.0)
    assert np.all(np.isfinite(far)) and far[1] > far[0] > 1000


def test_online_score_is_the_gaussian_log_likelihood_ratio() -> None:
    # log N(1; 1, 1) − log N(1; 0, 2²) = (−½ log 2π) − (−½ log 2π − log 2 − 1/8) = log 2 + 1/8.
    g = Gaussians(mean_in=np.array([1.0]), mean_out=np.array([0.0]), sd_in=1.0, sd_out=2.0)
    assert online_scores(np.array([1.0]), g) == pytest.approx([math.log(2) + 0.125])


def test_global_variance_below_64_models_per_record_from_64() -> None:
    rng = np.random.default_rng(0)
    few, many = rng.normal(size=(16, 5)), rng.normal(size=(64, 5))
    halves = lambda k: np.arange(k)[:, None] % 2 == 0  # noqa: E731
    assert isinstance(fit_gaussians(few, np.broadcast_to(halves(16), few.shape)).sd_out, float)
    per_record = fit_gaussians(many, np.broadcast_to(halves(64), many.shape))
    assert isinstance(per_record.sd_out, np.ndarray) and per_record.sd_out.shape == (5,)


def test_a_record_no_model_trained_on_gets_the_average_in_shift() -> None:
    # Records 0 and 1 have IN and OUT models (IN − OUT: 3 − 1 = 2 and 6 − 2 = 4; mean shift 3);
    # record 2 is OUT of all four models (mean 0.5), so its IN mean is 0.5 + 3.
    values = np.array([[3.0, 6.0, 0.0], [3.0, 6.0, 1.0], [1.0, 2.0, 0.0], [1.0, 2.0, 1.0]])
    in_mask = np.array([[True, True, False], [True, True, False], [False, False, False], [False, False, False]])
    g = fit_gaussians(values, in_mask)
    np.testing.assert_allclose(g.mean_in, [3.0, 6.0, 3.5])
    np.testing.assert_allclose(g.mean_out, [1.0, 2.0, 0.5])


def test_rmia_marginal_probability_online_and_offline_by_hand() -> None:
    # Record 0 has IN models (0.9, 0.7) and OUT models (0.2, 0.4): ½(0.8 + 0.3) = 0.55.
    # Record 1 is OUT of all four (mean 0.3); with a = 0.5: ½(1.5 · 0.3 + 0.5) = 0.475.
    p = np.array([[0.9, 0.2], [0.7, 0.4], [0.2, 0.2], [0.4, 0.4]])
    in_mask = np.array([[True, False], [True, False], [False, False], [False, False]])
    assert marginal_probability(p, in_mask, 0.5) == pytest.approx([0.55, 0.475])
    # a = 1 trusts Pr_OUT fully, a = 0 puts Pr(x) halfway to 1.
    assert offline_probability(p[:, 1:], np.ones((4, 1), bool), 1.0) == pytest.approx([0.3])
    assert offline_probability(p[:, 1:], np.ones((4, 1), bool), 0.0) == pytest.approx([0.65])


def test_rmia_score_is_the_share_of_z_dominated_by_gamma() -> None:
    # LR(x, z) = ratio_x / ratio_z ≥ γ  ⇔  ratio_z ≤ ratio_x / γ. With ratio_x = 4: γ = 2 → z ∈ {0.5, 1, 2}.
    # The share is the score rounded down to a step of 1/4; within the step the ratio orders the records.
    z = np.array([0.5, 1.0, 2.0, 4.0])
    scores = rmia_scores(np.array([4.0, 0.1]), z, 2.0)
    assert np.floor(scores * 4) / 4 == pytest.approx([0.75, 0.0])
    # Tie-break term: (½ + arctan(ln r)/π) · ½/4; ln 4 = 1.386, arctan = 0.9458 → 0.8011 · 0.125 = 0.1001.
    assert scores == pytest.approx([0.75 + 0.10014, 0.0 + 0.01631], abs=1e-5)
    assert np.floor(rmia_scores(np.array([4.0]), z, 1.0) * 4) / 4 == pytest.approx([1.0])


def test_rmia_records_that_pass_every_z_still_rank_by_their_ratio() -> None:
    z = np.array([0.5, 1.0])
    ratios = np.array([3.0, 30.0, 3000.0, 0.0])
    scores = rmia_scores(ratios, z, 2.0)
    assert scores[3] < scores[0] < scores[1] < scores[2] < 1.0 + 0.5 / len(z)
    assert np.all(scores[:3] >= 1.0)


def test_tempered_probability_by_hand() -> None:
    # T = 2: square roots 0.8, 0.565685, 0.2 (sum 1.565685) → 0.8 / 1.565685 = 0.510958.
    probs = np.array([[0.64, 0.32, 0.04]])
    assert tempered_true_probability(probs, np.array([0]), 2.0) == pytest.approx([0.510958], abs=1e-6)
    assert tempered_true_probability(probs, np.array([1]), 1.0) == pytest.approx([0.32])


# -- the reference split ---------------------------------------------------------------------------


def test_every_audit_record_is_in_for_exactly_half_of_the_models() -> None:
    eval_idx, population = np.arange(0, 400), np.arange(400, 1400)
    split = reference_split(1400, eval_idx, population, 200, 8, np.random.default_rng(0))
    counts = split.in_mask.sum(axis=0)
    assert np.all(counts[eval_idx] == 4) and np.all(counts[split.calibration_idx] == 4)
    rest = np.setdiff1d(population, split.calibration_idx)
    assert np.all(counts[rest] == 0) and len(split.calibration_idx) == 200
    assert np.all(split.in_mask.sum(axis=1) == 300)  # half of 400 audit + 200 calibration records
    assert not np.isin(split.check_idx, split.calibration_idx).any()


def test_split_ignores_the_order_of_the_audit_records_and_tops_up_to_the_training_size() -> None:
    eval_idx, population = np.arange(0, 100), np.arange(100, 1100)
    a = reference_split(1100, eval_idx, population, 300, 4, np.random.default_rng(1))
    b = reference_split(1100, eval_idx[::-1], population, 300, 4, np.random.default_rng(1))
    assert np.array_equal(a.in_mask, b.in_mask)
    # 100 audit + 200 calibration records give halves of 150: each model gets 150 population records more.
    assert np.all(a.in_mask.sum(axis=1) == 300)


def test_no_reference_model_trains_on_more_records_than_the_target() -> None:
    """1,000 audit records but a target trained on 150 (more holdout than members, --no-balance):
    each model keeps 150 of its half plus its 100 of the 200 calibration records, so it memorises
    like the target, and no record is IN for more than half of the models."""
    eval_idx, population = np.arange(0, 1000), np.arange(1000, 3000)
    split = reference_split(3000, eval_idx, population, 150, 6, np.random.default_rng(2))
    assert len(split.calibration_idx) == 200 and np.all(split.in_mask.sum(axis=1) == 250)
    assert split.in_mask.sum(axis=0).max() <= 3
    pairs = split.in_mask.reshape(3, 2, -1)
    assert not (pairs[:, 0] & pairs[:, 1]).any()  # a pair's models still train on disjoint records


def test_offline_split_trains_on_population_records_only() -> None:
    eval_idx, population = np.arange(0, 500), np.arange(500, 1500)
    split = population_split(1500, population, 300, 8, np.random.default_rng(3))
    assert not split.in_mask[:, eval_idx].any()
    assert np.all(split.in_mask.sum(axis=1) == 300) and len(split.calibration_idx) == 0
    assert np.isin(split.check_idx, population).all()
    # A population smaller than twice the training set: each model takes half of it.
    small = population_split(1500, population[:400], 300, 8, np.random.default_rng(3))
    assert np.all(small.in_mask.sum(axis=1) == 200)


# -- matched training ------------------------------------------------------------------------------


def _toy(n: int = 300) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 6)).astype(np.float32)
    y = (X[:, 0] + 0.5 * rng.normal(size=n) > 0).astype(np.int64)
    masks = np.zeros((4, n), dtype=bool)
    masks[:, :100] = rng.random((4, 100)) < 0.5
    return X, y, masks


def test_models_stop_once_as_confident_as_the_target() -> None:
    X, y, masks = _toy()
    spec = MLPSpec(hidden=(16,), lr=1e-2, batch_size=32)
    rows = np.arange(150, 300)
    timid = ConfidenceMatch(rows, np.full(len(rows), -5.0))
    done = train_matched_mlps(X, y, masks, 2, spec, max_epochs=40, match=timid, seed=0)
    assert done.epochs == (1, 1, 1, 1) and all(done.matched)
    bold = ConfidenceMatch(rows, np.full(len(rows), 29.0))
    capped = train_matched_mlps(X, y, masks, 2, spec, max_epochs=6, match=bold, seed=0)
    assert capped.epochs == (6, 6, 6, 6) and not any(capped.matched)


def test_a_model_stopping_early_leaves_the_others_unchanged() -> None:
    # With this target the four models stop at different epochs (measured 19, 17, 23, 14) and leave
    # the batch one by one; each must end exactly as when trained with fewer models beside it.
    X, y, masks = _toy()
    spec = MLPSpec(hidden=(16,), lr=1e-2, batch_size=32)
    rows = np.arange(150, 300)
    match = ConfidenceMatch(rows, np.full(len(rows), 2.0), every=1)
    full = train_matched_mlps(X, y, masks, 2, spec, max_epochs=60, match=match, seed=0)
    assert len(set(full.epochs)) == 4 and all(full.matched)
    together = full.net.predict_proba(X)
    for k in range(1, 4):
        fewer = train_matched_mlps(X, y, masks[: k + 1], 2, spec, max_epochs=60, match=match, seed=0)
        assert fewer.epochs[k] == full.epochs[k]
        np.testing.assert_allclose(fewer.net.predict_proba(X)[k], together[k], atol=1e-5)


def test_matched_training_is_repeatable_and_models_are_independent() -> None:
    X, y, masks = _toy()
    spec = MLPSpec(hidden=(16,), lr=1e-2, batch_size=32)
    first = train_matched_mlps(X, y, masks, 2, spec, max_epochs=5, match=None, seed=3)
    again = train_matched_mlps(X, y, masks, 2, spec, max_epochs=5, match=None, seed=3)
    alone = train_matched_mlps(X, y, masks[:2], 2, spec, max_epochs=5, match=None, seed=3)
    assert np.array_equal(first.net.predict_proba(X), again.net.predict_proba(X))
    # Model k depends on (seed, k) and its own rows only, not on the models trained beside it.
    np.testing.assert_allclose(first.net.predict_proba(X)[:2], alone.net.predict_proba(X), atol=1e-5)


# -- real targets, end to end ----------------------------------------------------------------------


def _location_like(n: int, seed: int, n_features: int = 100, n_classes: int = 10) -> pd.DataFrame:
    """Sparse binary features drawn from overlapping class profiles, like check-in data."""
    rng = np.random.default_rng(seed)
    rates = rng.beta(0.4, 3.0, size=n_features) * rng.lognormal(0.0, 1.0, size=(n_classes, n_features))
    profiles = np.clip(rates, 0.0, 0.95)
    y = rng.integers(0, n_classes, n)
    share = rng.uniform(0.5, 1.0, n)[:, None]
    p = share * profiles[y] + (1 - share) * profiles[rng.integers(0, n_classes, n)]
    frame = pd.DataFrame((rng.random((n, n_features)) < p).astype(np.float32))
    frame.columns = [f"f{i}" for i in range(n_features)]
    frame["label"] = y
    return frame


def _fit_target(path: Path, members: pd.DataFrame) -> None:
    """An MLP that memorises its members: full-batch Adam, 150 epochs, exported to ONNX with a softmax."""
    import torch

    X = members.drop(columns="label").to_numpy(dtype=np.float32, copy=True)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny full-batch fit: extra threads only stall on a busy machine
    try:
        build_torch_mlp_onnx(path, X, np.array(members["label"], dtype=np.int64))
    finally:
        torch.set_num_threads(threads)


def _overfit_files(tmp: Path, n_members: int, n_population: int) -> DataSpec:
    """Members, holdout and population files, and a target that memorised the members."""
    frame = _location_like(2 * n_members + n_population, seed=0)
    _fit_target(tmp / "mlp.onnx", frame.iloc[:n_members])
    frame.iloc[:n_members].to_csv(tmp / "members.csv", index=False)
    frame.iloc[n_members : 2 * n_members].to_csv(tmp / "holdout.csv", index=False)
    frame.iloc[2 * n_members :].to_csv(tmp / "population.csv", index=False)
    return DataSpec(members=tmp / "members.csv", holdout=tmp / "holdout.csv", population=tmp / "population.csv")


def _run(model: Path, spec: DataSpec, n_models: int, *attacks: str, seed: int = 0) -> AuditResult:
    config = AuditConfig(seed=seed, attacks=attacks or REFERENCE_IDS, reference=ReferenceConfig(n_models=n_models))
    return audit(model, spec, config)


@pytest.fixture(scope="module")
def overfit_result(tmp_path_factory: pytest.TempPathFactory) -> AuditResult:
    tmp = tmp_path_factory.mktemp("reference-overfit")
    spec = _overfit_files(tmp, n_members=400, n_population=800)
    return _run(tmp / "mlp.onnx", spec, 8, "threshold.loss", *REFERENCE_IDS)


def test_reference_attacks_beat_the_loss_attack_at_low_fpr(overfit_result: AuditResult) -> None:
    loss = overfit_result.attack("threshold.loss").metrics
    # The loss threshold finds no member at 1% FPR here (measured 0.000): memorised records and easy
    # non-members both have a small loss. Calibrating per record finds 0.13–0.26 (seeds 0–2; 4 of the
    # 400 non-members may pass).
    for attack_id in REFERENCE_IDS:
        metrics = overfit_result.attack(attack_id).metrics
        tpr, loss_tpr = metrics.tpr_at_fpr["0.01"], loss.tpr_at_fpr["0.01"]
        assert tpr is not None and loss_tpr is not None
        assert tpr >= loss_tpr + 0.05, (attack_id, tpr, loss_tpr)
        assert metrics.auc > loss.auc, (attack_id, metrics.auc, loss.auc)


def test_the_stacked_attack_is_not_below_the_attacks_it_stacks(overfit_result: AuditResult) -> None:
    """It ranks by what did best at 1% FPR on stand-ins (measured: rmia's ratio, 0.223 as rmia itself)."""
    stacked = overfit_result.attack("stacked")
    tpr = {
        a: overfit_result.attack(a).metrics.tpr_at_fpr["0.01"] or 0.0 for a in ("lira.offline", "lira.online", "rmia")
    }
    assert (stacked.metrics.tpr_at_fpr["0.01"] or 0.0) >= max(tpr.values()) - 0.03, tpr
    assert any("standing in for the target" in a for a in stacked.assumptions)
    assert any(n.startswith("ranks by ") for n in stacked.notes)


def test_reference_attacks_state_k_family_threshold_and_no_extra_queries(overfit_result: AuditResult) -> None:
    for attack_id in REFERENCE_IDS:
        report = overfit_result.attack(attack_id)
        assert report.family == "reference" and report.queries == 0
        assert report.notes[0].startswith("8 reference models (MLP (64,) relu")
        assert "as confident as the target" in report.notes[0]
        assert any("ONNX graph" in a for a in report.assumptions)
        # Thresholds come from population records only; on the audit's non-members they give about 10% FPR.
        assert report.threshold is not None
        assert 0.02 < report.metrics.fpr_at_threshold < 0.25, (attack_id, report.metrics.fpr_at_threshold)
    assert any("stand-in" in note for note in overfit_result.attack("rmia").notes)


def test_non_memorising_target_stays_near_chance(tmp_path: Path) -> None:
    case = exchangeable_case(tmp_path, n=1600)
    config = AuditConfig(seed=0, trust_model=True, attacks=REFERENCE_IDS, reference=ReferenceConfig(n_models=4))
    result = audit(case.model, DataSpec(data=case.data), config)
    for attack_id in REFERENCE_IDS:
        assert abs(result.attack(attack_id).metrics.auc - 0.5) < 0.06, attack_id


def _scores_by_row(result: AuditResult, attack_id: str) -> dict[int, float]:
    assert result.records is not None
    return dict(zip(result.records.row_index, result.records.scores[attack_id], strict=True))


def test_same_seed_same_scores_whatever_the_membership_labels(tmp_path: Path) -> None:
    """Two runs on the same records, with membership claims swapped in pairs (members become holdout
    and back): attacks that never read membership, run with the same seed, give every record the
    same score, so the metrics change only because the truth they are scored against changed."""
    frame = _location_like(800, seed=1)
    _fit_target(tmp_path / "mlp.onnx", frame.iloc[:200])
    audit_rows = frame.iloc[:400].assign(member=(np.arange(400) < 200).astype(int))
    audit_rows.to_csv(tmp_path / "audit.csv", index=False)
    swapped = audit_rows.copy()
    swapped.loc[:99, "member"], swapped.loc[200:299, "member"] = 0, 1
    swapped.to_csv(tmp_path / "swapped.csv", index=False)
    frame.iloc[400:].to_csv(tmp_path / "population.csv", index=False)
    population = tmp_path / "population.csv"
    first = _run(tmp_path / "mlp.onnx", DataSpec(data=tmp_path / "audit.csv", population=population), 4, seed=5)
    moved = _run(tmp_path / "mlp.onnx", DataSpec(data=tmp_path / "swapped.csv", population=population), 4, seed=5)
    for attack_id in REFERENCE_IDS:
        assert _scores_by_row(first, attack_id) == _scores_by_row(moved, attack_id), attack_id
        assert first.attack(attack_id).threshold == moved.attack(attack_id).threshold
    assert first.attack("lira.online").metrics.auc > moved.attack("lira.online").metrics.auc


# -- configuration -----------------------------------------------------------------------------------


def test_selection_by_family_and_prefix() -> None:
    assert [a.info.id for a in resolve_selection(("reference",))] == list(REFERENCE_IDS)
    assert [a.info.id for a in resolve_selection(("lira",))] == ["lira.offline", "lira.online"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n_models": 1}, "between 2 and 1024"),
        ({"family": "svm"}, "reference_family must be one of"),
        ({"epochs": 0}, "must be positive"),
        ({"gamma": 0.0}, "gamma"),
        ({"temperature": -1.0}, "temperature"),
        ({"offline_models": "audit"}, "offline_models must be one of"),
    ],
)
def test_bad_reference_settings_are_config_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ReferenceConfig(**kwargs)  # type: ignore[arg-type]


def test_cli_passes_the_reference_count_and_rejects_a_bad_one(tmp_path: Path) -> None:
    case = overfit_case(tmp_path, n_members=150, n_holdout=300)
    common = ["scan", str(case.model), "--trust-model", "--data", str(case.data), "--attacks", "lira.online"]
    bad = CliRunner().invoke(app, [*common, "--reference-models", "1", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "--reference-models must lie between 2 and 1024" in bad.output
    out = tmp_path / "out"
    good = CliRunner().invoke(app, [*common, "--reference-models", "4", "--out", str(out), "--format", "json"])
    assert good.exit_code == 0, good.output
    report = json.loads((out / "report.json").read_text())
    (attack,) = report["attacks"]
    assert attack["id"] == "lira.online" and report["run"]["config"]["reference_models"] == 4


def test_cli_passes_the_reference_family_and_rejects_an_unknown_one(tmp_path: Path) -> None:
    case = overfit_case(tmp_path, n_members=150, n_holdout=300)
    common = ["scan", str(case.model), "--trust-model", "--data", str(case.data), "--attacks", "lira.offline"]
    bad = CliRunner().invoke(app, [*common, "--reference-family", "svm", "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2 and "--reference-family must be one of" in bad.output and "'svm'" in bad.output
    assert "Traceback" not in bad.output
    out = tmp_path / "out"
    args = [*common, "--reference-family", "logreg", "--reference-models", "4", "--offline-models", "population"]
    args += ["--out", str(out), "--format", "json"]
    good = CliRunner().invoke(app, args)
    assert good.exit_code == 0, good.output
    report = json.loads((out / "report.json").read_text())
    (attack,) = report["attacks"]
    assert report["run"]["config"]["reference_family"] == "logreg"
    assert attack["notes"][0].startswith("4 reference models (logreg)"), attack["notes"][0]
    assert "used by lira.offline alone" in attack["notes"][0]
    assert any("no audit record is used for training" in a for a in attack["assumptions"])
    bad = CliRunner().invoke(app, [*common, "--offline-models", "mine", "--out", str(tmp_path / "bad2")])
    assert bad.exit_code == 2 and "--offline-models must be one of shared, population, got 'mine'" in bad.output


def _forest_audit(tmp_path: Path) -> AuditResult:
    """A 30-tree forest on digits (400 members, 400 held out, 997 population), 8 reference models."""
    import pickle

    from sklearn.datasets import load_digits
    from sklearn.ensemble import RandomForestClassifier

    frame = load_digits(as_frame=True).frame.rename(columns={"target": "label"}).sample(frac=1, random_state=0)
    parts = {"members": frame.iloc[:400], "holdout": frame.iloc[400:800], "population": frame.iloc[800:]}
    for name, part in parts.items():
        part.to_csv(tmp_path / f"{name}.csv", index=False)
    members = parts["members"]
    forest = RandomForestClassifier(30, random_state=0).fit(members.drop(columns="label"), members["label"])
    (tmp_path / "rf.pkl").write_bytes(pickle.dumps(forest))
    spec = DataSpec(**{name: tmp_path / f"{name}.csv" for name in parts})
    config = AuditConfig(
        seed=0,
        trust_model=True,
        attacks=("threshold.loss", "lira.offline", "lira.online"),
        reference=ReferenceConfig(n_models=8),
    )
    return audit(tmp_path / "rf.pkl", spec, config)


def test_lira_on_a_forest_clips_the_logit_and_beats_the_loss_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forest outputs are full of exact 0s and 1s; the clip chosen on the stand-in restores LiRA's tail."""
    clipped = _forest_audit(tmp_path)
    monkeypatch.setattr("mia_audit.attacks.reference.LOGIT_BOUNDS", (None,))
    unclipped = _forest_audit(tmp_path)
    tpr = {a.id: a.metrics.tpr_at_fpr["0.01"] or 0.0 for a in clipped.attacks}
    for attack_id in ("lira.offline", "lira.online"):
        assert tpr[attack_id] >= tpr["threshold.loss"]
        assert any("clipped to ±" in n for n in clipped.attack(attack_id).notes)
    # Measured: online AUC 0.730 → 0.897, offline TPR at 1% FPR 0.073 → 0.120.
    assert clipped.attack("lira.online").metrics.auc > unclipped.attack("lira.online").metrics.auc + 0.1
    assert tpr["lira.offline"] > (unclipped.attack("lira.offline").metrics.tpr_at_fpr["0.01"] or 0.0)


def test_a_smooth_signal_is_not_clipped() -> None:
    """Far from every bound all candidates tie on the stand-in, and the first (no clip) stays."""
    rng = np.random.default_rng(1)
    in_mask = np.zeros((8, 1000), dtype=bool)
    for i in range(0, 8, 2):
        half = rng.permutation(1000) < 500
        in_mask[i], in_mask[i + 1] = half, ~half
    smooth = np.where(in_mask, rng.normal(1.0, 0.5, in_mask.shape), rng.normal(0.0, 0.5, in_mask.shape))
    assert choose_clip(smooth, in_mask, np.arange(1000), online=True).bound is None
    assert LOGIT_BOUNDS[0] is None and all(b is not None and b > 4 for b in LOGIT_BOUNDS[1:])


def test_no_stand_in_means_no_clip() -> None:
    in_mask = np.array([[True, False] * 50, [False, True] * 50])
    values = np.where(in_mask, 27.6, -27.6)
    clip = choose_clip(values, in_mask, np.arange(100), online=False)
    assert clip.bound is None and clip.tried == () and "not clipped" in clip.describe()
