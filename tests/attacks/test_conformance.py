"""Every registered attack keeps the same contract, checked on one small real target.

The target is a fully grown decision tree fitted on 75 records; the attacker scores 150 evaluation
records (those 75 members and 75 records the tree never saw) and owns 300 population records. The
records of the three kinds are shuffled through the frame, as in an audit file. The target is queried
once on every record (the shared pass that fills ``probs``) before any attack runs.

Each attack runs twice with the same seed, each time on a fresh :class:`AttackContext` (so that
shared work built by one run cannot stand in for the other), and the checks below are plain
functions returning the problems found, so that a deliberately broken attack can show they fail.
"""

from __future__ import annotations

import dataclasses
import inspect
import pickle
import re
import typing
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.tree import DecisionTreeClassifier

from mia_audit.attacks import registry
from mia_audit.attacks.context import AttackContext, AttackOptions
from mia_audit.attacks.interface import KNOWLEDGE, Attack, AttackInfo, AttackOutput, AttackResult, run_attack
from mia_audit.judge.metrics import auc, auc_ci
from mia_audit.models.base import TargetModel
from mia_audit.models.loader import load_model
from mia_audit.training.config import ShadowConfig
from mia_audit.training.reference_config import ReferenceConfig

N_MEMBERS, N_EVAL, N_POPULATION = 75, 150, 300
SEED = 0
OPTIONS = AttackOptions(
    shadow=ShadowConfig(n_models=2, epochs=5),
    reference=ReferenceConfig(n_models=2, epochs=3),
    boundary_queries=4,
)
# Attacks that query the target beyond the shared pass; every other one must leave its counter alone.
# One interval per attack on exchangeable records: at 99.9% a family of ~20 honest attacks all pass
# about 98% of the time, while an attack fitted on the evaluation membership lands far above 0.5.
CHANCE_LEVEL = 0.999
QUERIES_TARGET = frozenset({"label_only.boundary"})
# A field name of the attacker's context that could carry the evaluation records' ground truth.
MEMBERSHIP_NAME = re.compile(r"member|truth|in_mask|is_in\b|secret|oracle", re.IGNORECASE)

# The classification attacks; the regression attacks have their own case (test_conformance_regression.py).
ATTACKS = {a.info.id: a for a in registry.attacks_for("classification")}


# -- the shared case ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """The target's answers to the shared pass, and what a context is built from."""

    target: TargetModel
    features: pd.DataFrame
    probs: np.ndarray
    labels: np.ndarray
    eval_idx: np.ndarray
    population_idx: np.ndarray
    is_member: np.ndarray  # of the evaluation records, in eval_idx order; never in the context

    def context(self, seed: int = SEED, *, soften_eval_outputs: bool = False) -> AttackContext:
        """A fresh context: nothing built by an earlier run is shared with it.

        ``soften_eval_outputs`` replaces the target's outputs for the evaluation records by softer ones
        (mixed with the uniform distribution: the same predicted class, other values; the tree's outputs
        are mostly one-hot); the attacker's own records and everything it trains on stay as they were.
        """
        probs = self.probs
        if soften_eval_outputs:
            probs = probs.copy()
            probs[self.eval_idx] = 0.8 * probs[self.eval_idx] + 0.2 / probs.shape[1]
        return AttackContext(
            probs=probs,
            labels=self.labels,
            eval_idx=self.eval_idx,
            population_idx=self.population_idx,
            features=self.features,
            target=self.target,
            seed=seed,
            train_size=N_MEMBERS,
            options=OPTIONS,
        )


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> typing.Iterator[None]:
    """One OpenMP/BLAS thread: on two busy cores, HistGradientBoosting (the supervised attack) takes
    0.6–3.5 s per tiny fit with its default threads and 0.02 s with one."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def build_case(directory: Path, *, exchangeable: bool = False) -> Case:
    """The shared case; ``exchangeable`` trains the tree on other records, so that the evaluation's
    "members" are a random half of records it never saw, like its "non-members"."""
    extra = N_MEMBERS if exchangeable else 0
    n = N_EVAL + N_POPULATION
    X, y = make_classification(
        n_samples=n + extra, n_features=6, n_informative=4, n_classes=3, flip_y=0.1, random_state=0
    )
    features = pd.DataFrame(X.round(5), columns=[f"f{i}" for i in range(X.shape[1])])
    names = np.array(["red", "green", "blue"])[y]
    # Frame position of the i-th evaluation record and of the population records: shuffled together.
    order = np.random.default_rng(0).permutation(n)
    eval_idx, population_idx = np.sort(order[:N_EVAL]), np.sort(order[N_EVAL:])
    is_member = np.zeros(N_EVAL, dtype=bool)
    is_member[np.random.default_rng(1).choice(N_EVAL, N_MEMBERS, replace=False)] = True
    trained_on = np.arange(n, n + extra) if exchangeable else eval_idx[is_member]
    tree = DecisionTreeClassifier(random_state=0).fit(features.iloc[trained_on], names[trained_on])
    path = directory / "tree.pkl"
    path.write_bytes(pickle.dumps(tree))
    target = load_model(path, trust_model=True)
    features, names = features.iloc[:n], names[:n]
    probs = target.predict_proba(features)  # the one shared pass
    index = {c: i for i, c in enumerate(target.classes)}
    labels = np.array([index[v] for v in names], dtype=np.int64)
    return Case(target, features, probs, labels, eval_idx, population_idx, is_member)


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    return build_case(tmp_path_factory.mktemp("conformance"))


@pytest.fixture(scope="module")
def exchangeable_case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    return build_case(tmp_path_factory.mktemp("exchangeable"), exchangeable=True)


# -- the checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    result: AttackResult
    moved: int  # how far the target's query counter moved during the run


def run_counted(attack: Attack, ctx: AttackContext, is_member: np.ndarray) -> Run:
    """Run one attack as the audit does (membership only for auditor-only ones), counting target queries."""
    before = ctx.target.queries
    membership = is_member if attack.info.auditor_only else None
    result = run_attack(attack, ctx, membership)
    return Run(result, ctx.target.queries - before)


def score_problems(result: AttackResult, n_eval: int) -> list[str]:
    """One finite score per evaluation record, or, for a subsample, on its records and NaN elsewhere."""
    scores = np.asarray(result.scores)
    if scores.shape != (n_eval,):
        return [f"{result.id}: scores of shape {scores.shape}, expected one per evaluation record ({n_eval},)"]
    scored = np.zeros(n_eval, dtype=bool)
    scored[np.arange(n_eval) if result.evaluated is None else result.evaluated] = True
    bad = int(np.count_nonzero(~np.isfinite(scores[scored])))
    problems = [f"{result.id}: {bad} of {int(scored.sum())} scores are not finite"] if bad else []
    if np.isfinite(scores[~scored]).any():
        problems.append(f"{result.id}: scores records outside the subsample it says it scored")
    return problems


def query_problems(run: Run, queries_target: bool) -> list[str]:
    result, moved = run.result, run.moved
    problems = [] if result.queries >= 0 else [f"{result.id}: negative query count {result.queries}"]
    if queries_target:
        if result.queries != moved:
            problems.append(f"{result.id}: reports {result.queries} queries, the target answered {moved}")
    elif moved:
        problems.append(f"{result.id}: queried the target {moved} times beyond the shared pass")
    return problems


def info_problems(info: AttackInfo, result: AttackResult | None = None) -> list[str]:
    problems = []
    if not info.id or not info.id.strip():
        problems.append("an attack has an empty id")
    if not info.family or not info.family.strip():
        problems.append(f"{info.id}: empty family")
    if not info.title:
        problems.append(f"{info.id}: empty title")
    if not isinstance(info.knows, frozenset) or not info.knows <= set(KNOWLEDGE):
        problems.append(f"{info.id}: knows {sorted(info.knows)} outside KNOWLEDGE")
    if result is not None and (result.id, result.family) != (info.id, info.family):
        problems.append(f"{info.id}: result says {result.id!r} of family {result.family!r}")
    return problems


def membership_problems(attack: Attack) -> list[str]:
    """A realistic attack's ``run`` takes the context alone; an auditor-only one states the membership."""
    info = attack.info
    params = list(inspect.signature(attack.run).parameters)
    if not info.auditor_only:
        return [] if params == ["ctx"] else [f"{info.id}: realistic attack's run takes {params}, not just the context"]
    problems = [] if "is_member" in params else [f"{info.id}: auditor-only run does not name is_member: {params}"]
    return problems


def threshold_problems(first: AttackResult, softened: AttackResult) -> list[str]:
    """A decision threshold is set on attacker-owned data: other evaluation outputs must not move it."""
    if first.threshold != softened.threshold:
        return [f"{first.id}: the threshold moved with the evaluation records' outputs"]
    return []


def chance_problems(
    result: AttackResult, is_member: np.ndarray, level: float = CHANCE_LEVEL, *, two_sided: bool = True
) -> list[str]:
    """On exchangeable members and non-members, an honest attack's AUC interval holds 0.5.

    ``two_sided=False`` asks only that the interval reach down to 0.5. Cross-fitting on the evaluation
    records scores each one with models that saw its look-alikes but not itself, which pulls the AUC
    *below* 0.5 where many records share one output vector (the supervised attack: 0.28 on this tree,
    whose outputs are one-hot): a bias towards "no leak" in an upper estimate, but not a leak of the
    membership into the number.
    """
    low, high = auc_ci(result.scores, is_member, level)
    if low <= 0.5 and (high >= 0.5 or not two_sided):
        return []
    found = auc(result.scores, is_member)
    return [f"{result.id}: AUC {found:.3f} [{low:.3f}, {high:.3f}] where nothing is to be found"]


def repeat_problems(first: AttackResult, second: AttackResult) -> list[str]:
    a, b = np.asarray(first.scores), np.asarray(second.scores)
    if a.shape != b.shape or not np.array_equal(a, b, equal_nan=True):
        return [f"{first.id}: the same seed gave different scores"]
    return []


# -- every registered attack --------------------------------------------------------------------


@pytest.fixture(scope="module", params=sorted(ATTACKS))
def runs(request: pytest.FixtureRequest, case: Case) -> tuple[Attack, Run, Run]:
    """Two runs of one attack with the same seed, each on a fresh context."""
    attack = ATTACKS[request.param]
    return (
        attack,
        run_counted(attack, case.context(), case.is_member),
        run_counted(attack, case.context(), case.is_member),
    )


def test_the_registry_lists_every_kind_of_attack() -> None:
    ids = [a.info.id for a in registry.attacks_for("classification")]
    assert len(ids) == len(set(ids)) == len(ATTACKS)
    keys = [(a.info.id, task) for a in registry.all_attacks() for task in a.info.tasks]
    assert len(keys) == len(set(keys))
    families = {a.info.family for a in registry.all_attacks()}
    assert {"threshold", "shadow", "reference", "transfer", "label_only", "supervised"} <= families
    assert set(ids) >= QUERIES_TARGET


def test_one_finite_score_per_evaluation_record(runs: tuple[Attack, Run, Run]) -> None:
    _, first, _ = runs
    assert score_problems(first.result, N_EVAL) == []


def test_same_seed_same_scores(runs: tuple[Attack, Run, Run]) -> None:
    _, first, second = runs
    np.testing.assert_array_equal(first.result.scores, second.result.scores)
    assert repeat_problems(first.result, second.result) == []


def test_queries_are_counted_honestly(runs: tuple[Attack, Run, Run]) -> None:
    attack, first, second = runs
    queries_target = attack.info.id in QUERIES_TARGET
    assert query_problems(first, queries_target) == []
    assert query_problems(second, queries_target) == []
    if queries_target:
        assert first.moved > 0 and first.result.queries == second.result.queries


def test_thresholds_are_set_without_the_evaluation_records(runs: tuple[Attack, Run, Run], case: Case) -> None:
    attack, first, _ = runs
    if attack.info.auditor_only:
        pytest.skip("an auditor-only attack is cross-fitted on the evaluation records by design")
    softened = run_counted(attack, case.context(soften_eval_outputs=True), case.is_member)
    assert threshold_problems(first.result, softened.result) == []


@pytest.mark.parametrize("attack_id", sorted(ATTACKS))
def test_nothing_is_found_where_members_and_non_members_are_exchangeable(
    attack_id: str, exchangeable_case: Case
) -> None:
    """Every number comes from records disjoint from what chose its thresholds and attack models."""
    attack = ATTACKS[attack_id]
    run = run_counted(attack, exchangeable_case.context(), exchangeable_case.is_member)
    two_sided = not attack.info.auditor_only
    assert chance_problems(run.result, exchangeable_case.is_member, two_sided=two_sided) == []


def test_info_is_well_formed(runs: tuple[Attack, Run, Run]) -> None:
    attack, first, _ = runs
    assert info_problems(attack.info, first.result) == []


@pytest.mark.parametrize("attack_id", sorted(ATTACKS))
def test_membership_reaches_only_auditor_attacks(attack_id: str, case: Case) -> None:
    attack = ATTACKS[attack_id]
    assert membership_problems(attack) == []
    if attack.info.auditor_only:
        before = case.target.queries
        with pytest.raises(TypeError, match="auditor-only"):
            run_attack(attack, case.context())
        assert case.target.queries == before


def test_the_attackers_context_holds_no_membership() -> None:
    for cls in (AttackContext, AttackOptions):
        for f in dataclasses.fields(cls):
            # Neither the name nor the declared type (a string here: the modules use postponed annotations).
            assert not MEMBERSHIP_NAME.search(f.name), (cls.__name__, f.name)
            assert not MEMBERSHIP_NAME.search(str(f.type)), (cls.__name__, f.name, f.type)
    # A new field must be looked at here before it joins the attacker's view.
    names = {f.name for f in dataclasses.fields(AttackContext)}
    assert names == {
        "probs",
        "labels",
        "eval_idx",
        "population_idx",
        "features",
        "target",
        "seed",
        "train_size",
        "options",
        "shared",
        # Behind an output defence: the release, and the model's own outputs (no membership in either).
        "release",
        "undefended_probs",
    }, names


# -- the checks can fail ------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeAttack:
    """A realistic attack whose output is made up by ``make(ctx)``."""

    info: AttackInfo
    make: typing.Callable[[AttackContext], AttackOutput]

    def run(self, ctx: AttackContext) -> AttackOutput:
        return self.make(ctx)


class PeekingAttack:
    """A 'realistic' attack that asks for the membership in its signature."""

    info = AttackInfo("fake.peek", "fake", "Peeks", frozenset({"output probabilities"}))

    def run(self, ctx: AttackContext, is_member: np.ndarray) -> AttackOutput:  # pragma: no cover - never run
        raise AssertionError


def _fake(make: typing.Callable[[AttackContext], AttackOutput], family: str = "fake") -> FakeAttack:
    return FakeAttack(AttackInfo("fake.broken", family, "A broken attack", frozenset({"output probabilities"})), make)


def _output(scores: np.ndarray, queries: int = 0) -> AttackOutput:
    return AttackOutput(scores=scores, threshold=None, threshold_rule="none", assumptions=(), queries=queries)


def test_the_checks_catch_a_broken_attack(case: Case) -> None:
    ctx = case.context()
    n = len(ctx.eval_idx)

    def run(make: typing.Callable[[AttackContext], AttackOutput]) -> Run:
        return run_counted(_fake(make), ctx, case.is_member)

    # A well-behaved fake passes every check, so the failures below come from what each one breaks.
    good = run(lambda c: _output(c.eval_probs.max(axis=1)))
    assert score_problems(good.result, n) == query_problems(good, False) == info_problems(_fake(_output).info) == []

    nan = run(lambda c: _output(np.where(np.arange(n) % 7 == 0, np.nan, c.eval_probs.max(axis=1))))
    assert score_problems(nan.result, n) == [f"fake.broken: {len(range(0, n, 7))} of {n} scores are not finite"]

    inf = run(lambda c: _output(np.full(n, np.inf)))
    assert score_problems(inf.result, n) == [f"fake.broken: {n} of {n} scores are not finite"]

    everyone = run(lambda c: _output(c.probs.max(axis=1)))  # scores every record, not only the evaluation ones
    assert "expected one per evaluation record" in score_problems(everyone.result, n)[0]

    column = run(lambda c: _output(c.eval_probs[:, :1]))  # (n, 1), not (n,)
    assert score_problems(column.result, n) != []

    def secret_queries(c: AttackContext) -> AttackOutput:
        c.target.predict_proba(c.features.iloc[c.eval_idx[:10]])
        return _output(c.eval_probs.max(axis=1), queries=0)

    hidden = run(secret_queries)
    assert hidden.moved == 10
    assert query_problems(hidden, False) == ["fake.broken: queried the target 10 times beyond the shared pass"]
    assert query_problems(hidden, True) == ["fake.broken: reports 0 queries, the target answered 10"]
    negative = run(lambda c: _output(c.eval_probs.max(axis=1), queries=-1))
    assert query_problems(negative, False) == ["fake.broken: negative query count -1"]

    def on_eval(c: AttackContext) -> AttackOutput:  # the threshold is the evaluation scores' own quantile
        scores = c.eval_probs.max(axis=1)
        return dataclasses.replace(_output(scores), threshold=float(np.quantile(scores, 0.9)))

    fitted_on_eval = run(on_eval)
    softened = run_counted(_fake(on_eval), case.context(soften_eval_outputs=True), case.is_member)
    assert threshold_problems(fitted_on_eval.result, softened.result) == [
        "fake.broken: the threshold moved with the evaluation records' outputs"
    ]

    def fitted_in_sample(c: AttackContext) -> AttackOutput:  # what a leak of the membership looks like
        return _output(case.is_member + 0.3 * c.eval_probs.max(axis=1))

    leaky = run(fitted_in_sample)
    assert chance_problems(leaky.result, case.is_member)[0].startswith("fake.broken: AUC 1.000")
    assert chance_problems(good.result, np.random.default_rng(0).permutation(case.is_member)) == []

    noisy = FakeAttack(_fake(_output).info, lambda c: _output(np.random.default_rng().random(len(c.eval_idx))))
    a, b = run_counted(noisy, case.context(), case.is_member), run_counted(noisy, case.context(), case.is_member)
    assert repeat_problems(a.result, b.result) == ["fake.broken: the same seed gave different scores"]

    assert membership_problems(PeekingAttack()) == [
        "fake.peek: realistic attack's run takes ['ctx', 'is_member'], not just the context"
    ]
    nameless = _fake(_output, family=" ")
    assert info_problems(nameless.info) == ["fake.broken: empty family"]
    other = dataclasses.replace(good.result, id="threshold.loss")
    assert info_problems(_fake(_output).info, other) == ["fake.broken: result says 'threshold.loss' of family 'fake'"]
    # AttackInfo refuses unknown knowledge itself; one that slipped past would still be caught.
    sneaky = _fake(_output).info
    object.__setattr__(sneaky, "knows", frozenset({"the membership labels"}))
    assert info_problems(sneaky) == ["fake.broken: knows ['the membership labels'] outside KNOWLEDGE"]


def test_the_case_is_what_the_docstring_says(case: Case) -> None:
    assert case.probs.shape == (N_EVAL + N_POPULATION, 3) and case.target.queries >= N_EVAL + N_POPULATION
    assert not np.array_equal(case.eval_idx, np.arange(N_EVAL))  # interleaved with the population
    assert len(np.intersect1d(case.eval_idx, case.population_idx)) == 0
    assert int(case.is_member.sum()) == N_MEMBERS
    # The tree memorised its members: it is right on every one of them.
    eval_probs = case.probs[case.eval_idx]
    assert np.all(eval_probs[case.is_member].argmax(axis=1) == case.labels[case.eval_idx][case.is_member])


def test_a_subsampled_boundary_attack_scores_exactly_its_subsample(case: Case) -> None:
    """With more evaluation records than --boundary-records, label_only.boundary scores a seeded subsample
    (NaN elsewhere), reports the queries it made, and the score check holds it to that."""
    ctx = dataclasses.replace(case.context(), options=dataclasses.replace(OPTIONS, boundary_records=60))
    run = run_counted(ATTACKS["label_only.boundary"], ctx, case.is_member)
    result = run.result
    assert result.evaluated is not None and len(result.evaluated) == 60 and not result.complete
    assert score_problems(result, N_EVAL) == [] and query_problems(run, True) == []
    assert any("subsample of 60 of the 150 evaluation records" in note for note in result.notes)
    leaked = dataclasses.replace(result, scores=np.nan_to_num(result.scores, nan=0.5))
    assert score_problems(leaked, N_EVAL) == [
        "label_only.boundary: scores records outside the subsample it says it scored"
    ]
