"""Shadow data sources against real small targets: a pickled scikit-learn pipeline over int, float,
string and bool columns, and a logistic regression converted to ONNX (one float tensor input)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fixtures_models import build_pickle, build_skl2onnx_logreg, classification_data
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mia_audit.errors import ConfigError, DataContractError
from mia_audit.models.base import TargetModel
from mia_audit.models.loader import load_model
from mia_audit.training.encoding import FeatureEncoder
from mia_audit.training.shadow_data import (
    SOURCES,
    HillClimb,
    ShadowData,
    class_plan,
    make_shadow_data,
    synthesize_model_based,
)

NUMERIC = ["age", "hours"]
TEXT = ["job", "smoker"]


def mixed_population(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """int, float, string and bool columns; string labels that depend on all of them."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "hours": rng.normal(40.0, 8.0, n).round(2),
            "job": pd.Series(rng.choice(["clerk", "nurse", "smith", "teacher"], n, p=[0.5, 0.3, 0.15, 0.05])),
            "smoker": rng.random(n) < 0.3,
        }
    )
    score = (frame["age"] - 48) / 15 + (frame["hours"] - 40) / 8 + 1.5 * (frame["job"] == "nurse") - frame["smoker"]
    score = score + rng.normal(0.0, 0.4, n)
    labels = np.where(score > 0.6, "high", np.where(score < -0.6, "low", "mid"))
    return frame, labels


def pipeline(C: float = 1.0) -> Pipeline:
    encode = ColumnTransformer(
        [("num", StandardScaler(), NUMERIC), ("cat", OneHotEncoder(handle_unknown="ignore"), TEXT)]
    )
    return Pipeline([("encode", encode), ("model", LogisticRegression(C=C, max_iter=1000))])


def class_indices(target: TargetModel, labels: np.ndarray) -> np.ndarray:
    index = {c: i for i, c in enumerate(target.classes)}
    return np.array([index[v] for v in labels], dtype=np.int64)


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, np.ndarray, TargetModel]:
    frame, labels = mixed_population()
    path = tmp_path_factory.mktemp("shadow") / "pipeline.pkl"
    build_pickle(path, frame, labels, estimator=pipeline())
    target = load_model(path, trust_model=True)
    return frame, class_indices(target, labels), target


@pytest.fixture(scope="module")
def numeric(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, np.ndarray, TargetModel]:
    X, y = classification_data(n=300, n_features=8, n_classes=3, seed=0)
    path = tmp_path_factory.mktemp("shadow") / "logreg.onnx"
    build_skl2onnx_logreg(path, X, y, zipmap=False)
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])]), y, load_model(path)


def assert_schema_and_range(data: ShadowData, population: pd.DataFrame, n_classes: int) -> None:
    out = data.features
    assert list(out.columns) == list(population.columns)
    assert out.dtypes.equals(population.dtypes), (out.dtypes, population.dtypes)
    assert len(out) == len(data.labels)
    assert data.labels.dtype == np.int64 and data.labels.min() >= 0 and data.labels.max() < n_classes
    for name in population.columns:
        column = population[name]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            assert column.min() <= out[name].min() and out[name].max() <= column.max(), name
        else:
            assert set(out[name].tolist()) <= set(column.tolist()), name


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("which", ["mixed", "numeric"])
def test_every_source_keeps_schema_and_range(source: str, which: str, request: pytest.FixtureRequest) -> None:
    population, labels, target = request.getfixturevalue(which)
    before = target.queries
    rng = np.random.default_rng(0)
    data = make_shadow_data(source, population, labels, target, 150, rng, query_budget=20_000, conf_min=0.5)
    assert data.source == source
    assert len(data) == 150
    assert_schema_and_range(data, population, target.n_classes)
    assert data.queries == target.queries - before
    assert data.queries == {"population": 0, "noisy": 0, "marginal": 150}.get(source, data.queries)
    assert data.description and "\n" not in data.description
    target.predict_proba(data.features)  # the target takes the records as they are


def test_population_subsamples_real_records(mixed: tuple[pd.DataFrame, np.ndarray, TargetModel]) -> None:
    population, labels, target = mixed
    data = make_shadow_data("population", population, labels, target, 100, np.random.default_rng(1))
    rows = {tuple(r): y for r, y in zip(population.itertuples(index=False), labels, strict=True)}
    picked = list(data.features.itertuples(index=False))
    assert len(set(picked)) == 100  # without replacement
    assert all(rows[tuple(r)] == y for r, y in zip(picked, data.labels, strict=True))
    everything = make_shadow_data("population", population, labels, target, 1000, np.random.default_rng(1))
    pd.testing.assert_frame_equal(everything.features, population)
    assert (
        "all 400 population records" in everything.description.lower()
        and "fewer than the 1,000" in everything.description
    )


def test_noisy_redraws_the_asked_share_of_cells(numeric: tuple[pd.DataFrame, np.ndarray, TargetModel]) -> None:
    population, labels, target = numeric
    n = len(population)
    for noise in (0.1, 0.25):
        data = make_shadow_data("noisy", population, labels, target, n, np.random.default_rng(2), noise=noise)
        changed = data.features.to_numpy() != population.to_numpy()  # all records, in their order
        assert changed.mean() == pytest.approx(noise, abs=0.02)
        assert changed.sum(axis=1).max() <= int(np.ceil(noise * population.shape[1]))
        np.testing.assert_array_equal(data.labels, labels)  # the original labels, as in the paper
    clean = make_shadow_data("noisy", population, labels, target, n, np.random.default_rng(2), noise=0.0)
    pd.testing.assert_frame_equal(clean.features, population)


def test_noisy_changes_categories_to_other_seen_ones(mixed: tuple[pd.DataFrame, np.ndarray, TargetModel]) -> None:
    population, labels, target = mixed
    data = make_shadow_data("noisy", population, labels, target, len(population), np.random.default_rng(3), noise=1.0)
    # noise 1.0 redraws every feature: each categorical cell must move to a different seen value
    assert (data.features["job"] != population["job"]).all()
    assert (data.features["smoker"] != population["smoker"]).all()
    assert_schema_and_range(data, population, target.n_classes)


def test_marginal_keeps_marginals_and_drops_correlations(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    n = 3000
    age = rng.integers(18, 80, n)
    population = pd.DataFrame(
        {
            "age": age,
            "hours": (age * 0.5 + rng.normal(0.0, 2.0, n)).round(1),  # corr(age, hours) ≈ 0.97
            "job": pd.Series(rng.choice(["clerk", "nurse", "smith", "teacher"], n, p=[0.5, 0.3, 0.15, 0.05])),
            "smoker": rng.random(n) < 0.3,
        }
    )
    labels = np.where(population["age"] > 50, "high", np.where(population["job"] == "nurse", "mid", "low"))
    build_pickle(tmp_path / "m.pkl", population, labels, estimator=pipeline())
    target = load_model(tmp_path / "m.pkl", trust_model=True)
    assert population["age"].corr(population["hours"]) > 0.9

    data = make_shadow_data("marginal", population, class_indices(target, labels), target, n, np.random.default_rng(5))
    out = data.features
    assert abs(out["age"].corr(out["hours"])) < 0.06
    shares = out["job"].value_counts(normalize=True)
    for job, share in population["job"].value_counts(normalize=True).items():
        assert shares[job] == pytest.approx(share, abs=0.03)
    assert out["smoker"].mean() == pytest.approx(population["smoker"].mean(), abs=0.03)
    assert out["hours"].mean() == pytest.approx(population["hours"].mean(), rel=0.03)
    # Labels are drawn from the target's posterior: they follow it, argmax mostly but not always.
    probs = target.predict_proba(out)
    drawn = probs[np.arange(len(data)), data.labels]
    assert (drawn > 0).all()
    assert np.mean(data.labels == probs.argmax(axis=1)) == pytest.approx(np.mean(probs.max(axis=1)), abs=0.05)
    assert data.queries == n and data.extra["queries_per_record"] == 1.0

    capped = make_shadow_data(
        "marginal", population, class_indices(target, labels), target, 500, np.random.default_rng(5), query_budget=120
    )
    assert len(capped) == 120 and capped.queries == 120 and "budget" in capped.description


def test_model_based_records_are_confident_and_of_the_wanted_class(
    numeric: tuple[pd.DataFrame, np.ndarray, TargetModel],
) -> None:
    population, labels, target = numeric
    before = target.queries
    data = make_shadow_data("model", population, labels, target, 200, np.random.default_rng(6), conf_min=0.9)
    assert len(data) == 200
    assert data.queries == target.queries - before <= 200 * 200
    probs = target.predict_proba(data.features)
    # Every record is one the target classifies with confidence above conf_min ...
    assert (probs.max(axis=1) > 0.9).all()
    # ... and its label is drawn from the target's posterior, so it is the argmax at least ~90% of the time.
    assert np.mean(probs.argmax(axis=1) == data.labels) > 0.85
    assert set(np.unique(probs.argmax(axis=1))) == {0, 1, 2}
    assert data.extra["queries_per_record"] == pytest.approx(data.queries / len(data))
    assert data.extra["min_confidence"] > 0.9 and 0 < data.extra["acceptance_rate"] <= 1
    assert f"{data.extra['queries_per_record']:.1f} queries per record" in data.description


def test_model_based_is_reproducible(mixed: tuple[pd.DataFrame, np.ndarray, TargetModel]) -> None:
    population, labels, target = mixed

    def run(seed: int) -> ShadowData:
        return make_shadow_data("model", population, labels, target, 60, np.random.default_rng(seed), query_budget=600)

    runs = [run(7), run(7)]
    pd.testing.assert_frame_equal(runs[0].features, runs[1].features)
    np.testing.assert_array_equal(runs[0].labels, runs[1].labels)
    assert runs[0].queries == runs[1].queries and runs[0].extra == runs[1].extra
    assert not run(8).features.equals(runs[0].features)


@pytest.mark.parametrize("budget", [1, 37, 450])
def test_model_based_never_passes_its_budget(budget: int, mixed: tuple[pd.DataFrame, np.ndarray, TargetModel]) -> None:
    population, labels, target = mixed
    before = target.queries
    try:
        data = make_shadow_data(
            "model", population, labels, target, 100, np.random.default_rng(9), query_budget=budget, conf_min=0.97
        )
    except ConfigError as exc:  # nothing found within a tiny budget is a clear, one-line error
        assert target.queries - before <= budget
        assert "query budget" in str(exc) and "--shadow-data population" in str(exc) and "\n" not in str(exc)
        return
    spent = target.queries - before
    assert data.queries == spent <= budget
    if len(data) < 100:  # it stopped for the budget, and used all of it
        assert spent == budget and "budget ran out" in data.description


def test_model_based_without_any_confident_record_raises(tmp_path: Path) -> None:
    population, _ = mixed_population()
    noise_labels = np.random.default_rng(0).choice(["a", "b", "c"], len(population))
    build_pickle(tmp_path / "flat.pkl", population, noise_labels, estimator=pipeline(C=1e-4))  # ~ the class priors
    target = load_model(tmp_path / "flat.pkl", trust_model=True)
    labels = class_indices(target, noise_labels)
    with pytest.raises(ConfigError, match="no record in 300 target queries"):
        make_shadow_data(
            "model", population, labels, target, 10, np.random.default_rng(0), query_budget=300, conf_min=0.9
        )
    assert target.queries == 300


def test_adaptive_threshold_drops_for_hard_classes(tmp_path: Path) -> None:
    population, _ = mixed_population()
    noise_labels = np.random.default_rng(0).choice(["a", "b", "c"], len(population), p=[0.5, 0.3, 0.2])
    build_pickle(tmp_path / "flat.pkl", population, noise_labels, estimator=pipeline(C=1e-3))
    target = load_model(tmp_path / "flat.pkl", trust_model=True)
    encoder = FeatureEncoder.fit(population)
    wanted = np.zeros(20, dtype=np.int64)  # class "a": predicted everywhere, but never with 2/3 confidence
    made = synthesize_model_based(
        encoder, target, wanted, np.random.default_rng(1), query_budget=5_000, settings=HillClimb(iter_max=15)
    )
    assert made.chains_failed > 0 and len(made.labels) == 20
    assert (made.threshold < 2 / 3).all() and (made.confidence > made.threshold).all()
    assert made.queries <= 5_000


def test_class_plan_follows_population_shares() -> None:
    labels = np.repeat([0, 1, 2], [50, 30, 20])
    plan = class_plan(10, labels, 4, np.random.default_rng(0))
    np.testing.assert_array_equal(np.bincount(plan, minlength=4), [5, 3, 2, 0])
    np.testing.assert_array_equal(np.bincount(class_plan(7, labels, 3, np.random.default_rng(0))), [4, 2, 1])
    np.testing.assert_array_equal(
        np.bincount(class_plan(6, np.array([], dtype=np.int64), 3, np.random.default_rng(0))), [2, 2, 2]
    )


def test_bad_options_are_one_line_errors(mixed: tuple[pd.DataFrame, np.ndarray, TargetModel]) -> None:
    population, labels, target = mixed
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="population, noisy, marginal, model"):
        make_shadow_data("gan", population, labels, target, 10, rng)
    with pytest.raises(ConfigError, match="noise"):
        make_shadow_data("noisy", population, labels, target, 10, rng, noise=1.5)
    with pytest.raises(ConfigError, match="at least 1"):
        make_shadow_data("population", population, labels, target, 0, rng)
    with pytest.raises(ConfigError, match="budget"):
        make_shadow_data("model", population, labels, target, 10, rng, query_budget=0)
    with pytest.raises(DataContractError, match="labels"):
        make_shadow_data("population", population, labels[:-1], target, 10, rng)
    with pytest.raises(DataContractError, match="class indices"):
        make_shadow_data("population", population, labels + 5, target, 10, rng)
