from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_models import build_torch_label_only_onnx, mixed_frame
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from mia_audit.attacks import boundary
from mia_audit.attacks.boundary import (
    MIN_REFERENCE_RECORDS,
    THRESHOLD_RECORDS,
    BoundaryAttack,
    Noise,
    Weights,
    _other_category,
    _perturb,
    combine,
)
from mia_audit.attacks.context import AttackContext, AttackOptions, SharedWork
from mia_audit.attacks.interface import AttackResult, run_attack
from mia_audit.attacks.label_only import GapAttack
from mia_audit.judge.metrics import auc
from mia_audit.models.base import OutputKind, TargetModel
from mia_audit.models.loader import load_model
from mia_audit.training.encoding import FeatureEncoder


def _save(model: object, path: Path) -> TargetModel:
    path.write_bytes(pickle.dumps(model))
    return load_model(path, trust_model=True)


def _context(
    target: TargetModel,
    features: pd.DataFrame,
    raw_labels: np.ndarray,
    n_eval: int,
    q: int,
    seed: int = 0,
    train_size: int = 0,
) -> AttackContext:
    """The first ``n_eval`` records are evaluated; the rest are the attacker's population."""
    probs = target.predict_proba(features)
    index = {c: i for i, c in enumerate(target.classes)}
    labels = np.array([index[v] for v in raw_labels], dtype=np.int64)
    return AttackContext(
        probs=probs,
        labels=labels,
        eval_idx=np.arange(n_eval),
        population_idx=np.arange(n_eval, len(features)),
        features=features,
        target=target,
        seed=seed,
        options=AttackOptions(boundary_queries=q),
        train_size=train_size,
    )


@pytest.fixture(scope="module")
def forest_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[AttackContext, np.ndarray]:
    """A fully grown forest on noisy-label data; eval = 200 members + 200 non-members, population 400."""
    X, y = make_classification(n_samples=1000, n_features=10, n_informative=6, n_classes=3, flip_y=0.1, random_state=0)
    frame = pd.DataFrame(X.round(5), columns=[f"f{i}" for i in range(10)])
    names = np.array(["red", "green", "blue"])[y]
    model = RandomForestClassifier(n_estimators=40, random_state=0, n_jobs=1).fit(frame.iloc[:200], names[:200])
    target = _save(model, tmp_path_factory.mktemp("forest") / "forest.pkl")
    is_member = np.arange(400) < 200
    ctx = _context(target, frame.iloc[:800].reset_index(drop=True), names[:800], 400, q=100, train_size=200)
    return ctx, is_member


@pytest.fixture(scope="module")
def forest_result(forest_case: tuple[AttackContext, np.ndarray]) -> AttackResult:
    return run_attack(BoundaryAttack(), forest_case[0])


def test_boundary_beats_gap_on_an_overfitted_forest(
    forest_case: tuple[AttackContext, np.ndarray], forest_result: AttackResult
) -> None:
    ctx, is_member = forest_case
    gap = run_attack(GapAttack(), ctx)
    result = forest_result
    gap_auc, boundary_auc = auc(gap.scores, is_member), auc(result.scores, is_member)
    assert boundary_auc >= gap_auc + 0.05, (gap_auc, boundary_auc)
    assert result.id == "label_only.boundary" and result.family == "label_only"
    assert "Choquette-Choo" in result.title and result.signal
    # The noise level and the weights were chosen on reference models (clones of the forest) and reported.
    note = " ".join(result.notes)
    # They are the main shadow pool (16 population-trained clones), already trained for shadow.shokri.
    assert "16 reference models (the shadow models, clone of the target (RandomForestClassifier))" in note
    assert any(key[0] == "shadow_pool" for key in ctx.shared._items if isinstance(key, tuple))
    assert "Gaussian σ = " in note and "beta = " in note
    assert any("reference models" in a for a in result.assumptions)
    assert np.all((result.scores >= 0.0) & (result.scores <= 2.0))
    assert len(np.unique(result.scores)) > 50  # continuous, unlike the gap attack's 0/1
    # The score refines the gap attack: correctly classified records all rank above the others.
    correct = gap.scores == 1.0
    assert result.scores[correct].min() >= result.scores[~correct].max()
    assert result.threshold is not None


def test_difficulty_calibration_adds_to_plain_robustness(
    forest_case: tuple[AttackContext, np.ndarray], forest_result: AttackResult
) -> None:
    """Without the reference models' difficulty term the same robustness ranks members worse."""
    ctx, is_member = forest_case
    calibrated = forest_result
    plain = run_attack(BoundaryAttack(Weights()), ctx)
    assert auc(calibrated.scores, is_member) > auc(plain.scores, is_member) + 0.02


def test_made_up_shadow_data_gets_reference_models_of_its_own(forest_case: tuple[AttackContext, np.ndarray]) -> None:
    """Shadows on made-up records do not play the target on population records: the attack trains its own."""
    ctx, is_member = forest_case
    options = replace(ctx.options, shadow=replace(ctx.options.shadow, data="noisy"))
    noisy = replace(ctx, options=options, shared=SharedWork())
    result = run_attack(BoundaryAttack(), noisy)
    note = " ".join(result.notes)
    assert f"{boundary.REFERENCE_MODELS} reference models (clone of the target (RandomForestClassifier))" in note
    assert not any(isinstance(key, tuple) and key[0] == "shadow_pool" for key in noisy.shared._items)
    assert auc(result.scores, is_member) > 0.6


def test_queries_are_counted_exactly_and_scores_are_reproducible(tmp_path: Path) -> None:
    X, y = make_classification(n_samples=300, n_features=5, n_classes=2, random_state=1)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    target = _save(DecisionTreeClassifier(random_state=0).fit(frame.iloc[:100], y[:100]), tmp_path / "tree.pkl")
    q = 7
    ctx = _context(target, frame, y, n_eval=50, q=q)
    before = target.queries
    first = run_attack(BoundaryAttack(), ctx)
    # Reference models are the attacker's own: only the neighbours of 50 evaluation records and of the
    # population records that set the threshold reach the target.
    assert target.queries - before == first.queries == (50 + min(THRESHOLD_RECORDS, 250)) * q
    assert f"sends {q} queries per record" in " ".join(first.assumptions)
    second = run_attack(BoundaryAttack(), ctx)
    np.testing.assert_array_equal(first.scores, second.scores)
    assert first.threshold == second.threshold and first.threshold is not None
    other = run_attack(BoundaryAttack(), _context(target, frame, y, n_eval=50, q=q, seed=1))
    assert not np.array_equal(first.scores, other.scores)


def test_small_population_has_no_reference_models_and_no_threshold(tmp_path: Path) -> None:
    X, y = make_classification(n_samples=60, n_features=4, n_classes=2, random_state=2)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)])
    target = _save(DecisionTreeClassifier(random_state=0).fit(frame, y), tmp_path / "tree.pkl")
    ctx = _context(target, frame, y, n_eval=50, q=4)
    result = run_attack(BoundaryAttack(), ctx)
    assert result.queries == (50 + 10) * 4
    assert result.threshold is None and "only 10 population records" in result.threshold_rule
    assert any(f"fewer than {MIN_REFERENCE_RECORDS}" in n and "no reference models" in n for n in result.notes)
    assert not any("reference models" in a for a in result.assumptions)


class _Recording:
    """Wraps a loaded target and keeps every frame it was asked about (still a real model)."""

    def __init__(self, inner: TargetModel) -> None:
        self.inner = inner
        self.frames: list[pd.DataFrame] = []

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        self.frames.append(X)
        return self.inner.predict_proba(X)


def _mixed_case(tmp_path: Path) -> tuple[pd.DataFrame, np.ndarray, Pipeline]:
    frame, labels = mixed_frame(n=400, seed=3)
    frame["flag"] = (frame["age"] > 50).astype(np.int64)  # a binary numeric column
    numeric, text = ["age", "hours", "flag"], ["job", "sex"]
    pipe = Pipeline(
        [
            ("encode", ColumnTransformer([("num", StandardScaler(), numeric), ("cat", OneHotEncoder(), text)])),
            ("model", DecisionTreeClassifier(random_state=0)),
        ]
    ).fit(frame.iloc[:150], labels[:150])
    return frame, labels, pipe


def test_mixed_int_float_string_frame_through_a_one_hot_pipeline(tmp_path: Path) -> None:
    frame, labels, pipe = _mixed_case(tmp_path)
    recording = _Recording(_save(pipe, tmp_path / "pipe.pkl"))
    ctx = _context(recording, frame, labels, n_eval=200, q=12)  # type: ignore[arg-type]
    result = run_attack(BoundaryAttack(), ctx)
    assert result.queries == (200 + 200) * 12
    assert np.all((result.scores >= 0.0) & (result.scores <= 2.0))
    sent = pd.concat(recording.frames[1:], ignore_index=True)  # frames[0] is the context's own query
    assert len(sent) == result.queries
    assert list(sent.columns) == list(frame.columns)
    assert (sent.dtypes == frame.dtypes).all()
    assert set(sent["job"]) <= set(frame["job"]) and set(sent["sex"]) <= {"F", "M"}
    assert set(sent["flag"]) <= {0, 1}
    assert (sent["age"] == sent["age"].round()).all()


def test_perturb_moves_each_kind_of_column_at_its_own_level() -> None:
    frame, _ = mixed_frame(n=2000, seed=4)
    frame["flag"] = (frame["age"] > 50).astype(np.int64)
    encoder = FeatureEncoder.fit(frame)
    rng = np.random.default_rng(0)

    def noisy(noise: Noise) -> pd.DataFrame:
        codes = encoder.codes(frame)
        return encoder.replace_codes(frame, _perturb(encoder, codes, noise, rng), codes)

    both = noisy(Noise(0.2, 0.1))
    assert (both.dtypes == frame.dtypes).all()
    assert (both["hours"] != frame["hours"]).mean() > 0.95
    assert 0.05 < (both["job"] != frame["job"]).mean() < 0.15
    assert 0.05 < (both["flag"] != frame["flag"]).mean() < 0.15
    spread = (both["hours"] - frame["hours"]).std() / frame["hours"].std()
    assert 0.15 < spread < 0.25  # Gaussian noise of 0.2 × the column's std
    assert both["hours"].between(frame["hours"].min(), frame["hours"].max()).all()

    gaussian_only = noisy(Noise(0.2, 0.0))
    assert gaussian_only[["job", "sex", "flag"]].equals(frame[["job", "sex", "flag"]])
    flips_only = noisy(Noise(0.0, 0.1))
    assert flips_only[["age", "hours"]].equals(frame[["age", "hours"]])
    assert (flips_only["sex"] != frame["sex"]).any()


def test_combine_refines_the_gap_verdict() -> None:
    rng = np.random.default_rng(0)
    correct = rng.random(500) < 0.5
    robustness, difficulty = rng.random(500), rng.random(500)
    for weights in (Weights(), Weights(2.0, 0.25), Weights(4.0, 0.5)):
        score = combine(correct, robustness, difficulty, weights)
        assert np.all((score >= 0.0) & (score <= 2.0))
        assert score[correct].min() >= 1.0 >= score[~correct].max()
    np.testing.assert_allclose(combine(correct, robustness, difficulty, Weights()), correct + robustness)
    # Within a group, a larger weight favours the records that reference models find hard.
    same = np.ones(2, dtype=bool)
    hard_first = combine(same, np.array([0.8, 0.8]), np.array([0.2, 0.9]), Weights(1.0, 0.0))
    assert hard_first[0] > hard_first[1]


@pytest.mark.slow
def test_label_only_onnx_target_gets_reference_models_of_its_architecture(tmp_path: Path) -> None:
    X, y = make_classification(n_samples=700, n_features=8, n_informative=6, n_classes=3, flip_y=0.15, random_state=5)
    X = X.astype(np.float32)
    path = tmp_path / "labels.onnx"
    build_torch_label_only_onnx(path, X[:150], y[:150])
    target = load_model(path, classes=[0, 1, 2])
    assert target.output_kind is OutputKind.LABELS
    rows = np.r_[0:150, 150:300, 300:700]  # 150 members, 150 non-members, then the population
    frame = pd.DataFrame(X[rows], columns=[f"x{i}" for i in range(8)])
    ctx = _context(target, frame, y[rows], n_eval=300, q=20, train_size=150)
    result = run_attack(BoundaryAttack(), ctx)
    assert "MLP (32,)" in " ".join(result.notes)  # the hidden width read off the ONNX graph
    is_member = np.arange(300) < 150
    assert auc(result.scores, is_member) > auc(run_attack(GapAttack(), ctx).scores, is_member)


def test_calibration_searches_only_the_noise_the_data_can_take(
    forest_case: tuple[AttackContext, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only numeric columns: no flip level is tried; the chosen level is the references' best."""
    ctx, _ = forest_case
    tried: list[Noise] = []
    original = boundary._robustness_of_models

    def spy(*args: object) -> np.ndarray:
        noise = args[5]
        assert isinstance(noise, Noise)
        tried.append(noise)
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(boundary, "_robustness_of_models", spy)
    monkeypatch.setattr(boundary, "SIGMA_GRID", (0.05, 0.5))
    result = run_attack(BoundaryAttack(), ctx)
    assert all(level.flip == 0.0 for level in tried)
    sigmas = {level.sigma for level in tried}
    assert {0.05, 0.5} <= sigmas and len(sigmas) == 4  # the grid, then √2 either side of its best
    chosen = tried[-1]  # the weights are chosen last, at the chosen level
    assert f"Gaussian σ = {chosen.sigma:g} " in " ".join(result.notes)


def test_other_category_never_returns_the_current_one() -> None:
    rng = np.random.default_rng(0)
    freq = np.array([0.7, 0.2, 0.1])
    current = rng.integers(-1, 3, 5000)
    drawn = _other_category(freq, current, rng)
    assert np.all(drawn != current) and np.all((drawn >= 0) & (drawn < 3))
    # Among the others, by population frequency: from category 0, 1 is twice as likely as 2.
    from_zero = drawn[current == 0]
    assert 1.6 < np.mean(from_zero == 1) / np.mean(from_zero == 2) < 2.5
    assert np.all(_other_category(np.array([1.0]), np.zeros(3, dtype=np.int64), rng) == -1)


def test_a_large_evaluation_set_is_subsampled_without_its_membership() -> None:
    from mia_audit.attacks.boundary import scored_subsample

    assert scored_subsample(100, 4000, 0) is None and scored_subsample(100, 0, 0) is None
    picked = scored_subsample(10_000, 4000, 7)
    assert picked is not None and len(picked) == 4000 and len(np.unique(picked)) == 4000
    assert np.all(np.diff(picked) > 0) and picked.max() < 10_000
    # A function of the count and the seed alone: the same records whoever the members are.
    np.testing.assert_array_equal(picked, scored_subsample(10_000, 4000, 7))
    assert not np.array_equal(picked, scored_subsample(10_000, 4000, 8))
