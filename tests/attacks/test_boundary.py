from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_models import mixed_frame
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from mia_audit.attacks.base import AttackContext
from mia_audit.attacks.boundary import NUMERIC_SIGMAS, THRESHOLD_RECORDS, _other_category, run_boundary_attack
from mia_audit.attacks.label_only import run_gap_attack
from mia_audit.metrics import auc
from mia_audit.models.base import TargetModel
from mia_audit.models.loader import load_model


def _save(model: object, path: Path) -> TargetModel:
    path.write_bytes(pickle.dumps(model))
    return load_model(path, trust_model=True)


def _context(
    target: TargetModel, features: pd.DataFrame, raw_labels: np.ndarray, n_eval: int, q: int, seed: int = 0
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
        output_kind=target.output_kind,
        n_classes=target.n_classes,
        seed=seed,
        boundary_queries=q,
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
    return _context(target, frame.iloc[:800].reset_index(drop=True), names[:800], 400, q=100), is_member


def test_boundary_beats_gap_on_an_overfitted_forest(forest_case: tuple[AttackContext, np.ndarray]) -> None:
    ctx, is_member = forest_case
    gap = run_gap_attack(ctx)
    boundary = run_boundary_attack(ctx)
    gap_auc, boundary_auc = auc(gap.scores, is_member), auc(boundary.scores, is_member)
    assert boundary_auc >= gap_auc + 0.04, (gap_auc, boundary_auc)
    assert boundary.id == "label_only.boundary" and boundary.family == "label_only"
    assert "Choquette-Choo" in boundary.title and boundary.signal
    assert any(f"{NUMERIC_SIGMAS[0]:g}" in note and f"{NUMERIC_SIGMAS[-1]:g}" in note for note in boundary.notes)
    assert np.all((boundary.scores >= 0.0) & (boundary.scores <= 1.0))
    assert len(np.unique(boundary.scores)) > 5  # continuous, unlike the gap attack's 0/1


def test_queries_are_counted_exactly_and_scores_are_reproducible(tmp_path: Path) -> None:
    X, y = make_classification(n_samples=300, n_features=5, n_classes=2, random_state=1)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    target = _save(DecisionTreeClassifier(random_state=0).fit(frame.iloc[:100], y[:100]), tmp_path / "tree.pkl")
    q = 7  # not a multiple of the four scales
    ctx = _context(target, frame, y, n_eval=50, q=q)
    n_threshold = min(THRESHOLD_RECORDS, 250)
    before = target.queries
    first = run_boundary_attack(ctx)
    assert target.queries - before == first.queries == (50 + n_threshold) * q
    assert f"sends {q} queries per record" in " ".join(first.assumptions)
    second = run_boundary_attack(ctx)
    np.testing.assert_array_equal(first.scores, second.scores)
    assert first.threshold == second.threshold and first.threshold is not None
    other = run_boundary_attack(_context(target, frame, y, n_eval=50, q=q, seed=1))
    assert not np.array_equal(first.scores, other.scores)


def test_small_population_is_scored_in_full_and_too_small_gives_no_threshold(tmp_path: Path) -> None:
    X, y = make_classification(n_samples=60, n_features=4, n_classes=2, random_state=2)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)])
    target = _save(DecisionTreeClassifier(random_state=0).fit(frame, y), tmp_path / "tree.pkl")
    ctx = _context(target, frame, y, n_eval=50, q=4)
    result = run_boundary_attack(ctx)
    assert result.queries == (50 + 10) * 4
    assert result.threshold is None and "only 10 population records" in result.threshold_rule


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


def test_mixed_int_float_string_frame_through_a_one_hot_pipeline(tmp_path: Path) -> None:
    frame, labels = mixed_frame(n=400, seed=3)
    frame["flag"] = (frame["age"] > 50).astype(np.int64)  # a binary numeric column
    numeric, text = ["age", "hours", "flag"], ["job", "sex"]
    pipe = Pipeline(
        [
            (
                "encode",
                ColumnTransformer([("num", StandardScaler(), numeric), ("cat", OneHotEncoder(), text)]),
            ),
            ("model", DecisionTreeClassifier(random_state=0)),
        ]
    ).fit(frame.iloc[:150], labels[:150])
    recording = _Recording(_save(pipe, tmp_path / "pipe.pkl"))
    ctx = _context(recording, frame, labels, n_eval=200, q=12)  # type: ignore[arg-type]
    result = run_boundary_attack(ctx)
    assert result.queries == (200 + 200) * 12
    assert np.all((result.scores >= 0.0) & (result.scores <= 1.0))
    sent = pd.concat(recording.frames[1:], ignore_index=True)  # frames[0] is the context's own query
    assert list(sent.columns) == list(frame.columns)
    assert (sent.dtypes == frame.dtypes).all()
    assert set(sent["job"]) <= set(frame["job"]) and set(sent["sex"]) <= {"F", "M"}
    assert set(sent["flag"]) <= {0, 1}
    # Noise actually moved records: some neighbours differ from their source record.
    source = frame.iloc[np.repeat(np.arange(200), 12)].reset_index(drop=True)
    first = sent.iloc[: len(source)]
    assert (first["hours"] != source["hours"]).mean() > 0.9
    assert 0.0 < (first["job"] != source["job"]).mean() < 0.3
    assert 0.0 < (first["flag"] != source["flag"]).mean() < 0.3


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
