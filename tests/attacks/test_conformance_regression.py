"""Every regression attack keeps the contract of test_conformance.py, on one small real regressor.

The target is a fully grown regression tree fitted on 75 records (it reproduces their values
exactly); the attacker scores 150 evaluation records (those 75 members and 75 records the tree never
saw) and owns 300 population records, shuffled through the frame. The tree is queried once on every
record before any attack runs.
"""

from __future__ import annotations

import dataclasses
import inspect
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_friedman1
from sklearn.tree import DecisionTreeRegressor
from test_conformance import (
    MEMBERSHIP_NAME,
    Run,
    chance_problems,
    info_problems,
    repeat_problems,
    score_problems,
    threshold_problems,
)

from mia_audit.attacks import registry
from mia_audit.attacks.context import AttackOptions
from mia_audit.attacks.interface import Attack, run_attack
from mia_audit.attacks.regression_context import RegressionContext
from mia_audit.judge.metrics import auc
from mia_audit.models.loader import load_regressor
from mia_audit.models.regressor import Regressor
from mia_audit.training.reference_config import ReferenceConfig

N_MEMBERS, N_EVAL, N_POPULATION = 75, 150, 300
OPTIONS = AttackOptions(reference=ReferenceConfig(n_models=4))
ATTACKS = {a.info.id: a for a in registry.attacks_for("regression")}


@dataclass(frozen=True)
class Case:
    target: Regressor
    features: pd.DataFrame
    predictions: np.ndarray
    values: np.ndarray
    eval_idx: np.ndarray
    population_idx: np.ndarray
    is_member: np.ndarray  # of the evaluation records, in eval_idx order; never in the context

    def context(self, *, shrink_eval_predictions: bool = False) -> RegressionContext:
        """A fresh context; ``shrink_eval_predictions`` moves the evaluation records' predictions halfway
        to the mean (the attacker's own records stay as they were)."""
        predictions = self.predictions
        if shrink_eval_predictions:
            predictions = predictions.copy()
            predictions[self.eval_idx] = 0.5 * (predictions[self.eval_idx] + predictions.mean())
        return RegressionContext(
            predictions=predictions,
            targets=self.values,
            eval_idx=self.eval_idx,
            population_idx=self.population_idx,
            features=self.features,
            target=self.target,
            seed=0,
            train_size=N_MEMBERS,
            options=OPTIONS,
        )


def build_case(directory: Path, *, exchangeable: bool = False) -> Case:
    """``exchangeable`` trains the tree on other records: the evaluation's "members" are a random half of
    records it never saw, like its "non-members"."""
    extra = N_MEMBERS if exchangeable else 0
    n = N_EVAL + N_POPULATION
    X, y = make_friedman1(n_samples=n + extra, n_features=6, noise=1.0, random_state=0)
    features = pd.DataFrame(X.round(5), columns=[f"f{i}" for i in range(X.shape[1])])
    order = np.random.default_rng(0).permutation(n)
    eval_idx, population_idx = np.sort(order[:N_EVAL]), np.sort(order[N_EVAL:])
    is_member = np.zeros(N_EVAL, dtype=bool)
    is_member[np.random.default_rng(1).choice(N_EVAL, N_MEMBERS, replace=False)] = True
    trained_on = np.arange(n, n + extra) if exchangeable else eval_idx[is_member]
    tree = DecisionTreeRegressor(random_state=0).fit(features.iloc[trained_on], y[trained_on])
    path = directory / "tree.pkl"
    path.write_bytes(pickle.dumps(tree))
    target = load_regressor(path, trust_model=True)
    features, y = features.iloc[:n], y[:n]
    return Case(target, features, target.predict(features), y, eval_idx, population_idx, is_member)


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    return build_case(tmp_path_factory.mktemp("regression"))


@pytest.fixture(scope="module")
def exchangeable_case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    return build_case(tmp_path_factory.mktemp("regression_exchangeable"), exchangeable=True)


def run_counted(attack: Attack, ctx: RegressionContext) -> Run:
    before = ctx.target.queries
    result = run_attack(attack, ctx)
    return Run(result, ctx.target.queries - before)


@pytest.fixture(scope="module", params=sorted(ATTACKS))
def runs(request: pytest.FixtureRequest, case: Case) -> tuple[Attack, Run, Run]:
    attack = ATTACKS[request.param]
    return attack, run_counted(attack, case.context()), run_counted(attack, case.context())


def test_the_regression_attacks_are_registered() -> None:
    assert set(ATTACKS) == {"threshold.loss", "calibrated.loss", "lira.offline", "lira.online", "rmia"}
    assert all(a.info.tasks == {"regression"} for a in ATTACKS.values())


def test_each_run_is_well_formed_and_repeatable(runs: tuple[Attack, Run, Run]) -> None:
    attack, first, second = runs
    assert score_problems(first.result, N_EVAL) == []
    assert repeat_problems(first.result, second.result) == []
    assert info_problems(attack.info, first.result) == []
    assert first.moved == 0 and first.result.queries == 0, "a regression attack re-queried the target"
    assert list(inspect.signature(attack.run).parameters) == ["ctx"]


def test_thresholds_are_set_without_the_evaluation_records(runs: tuple[Attack, Run, Run], case: Case) -> None:
    attack, first, _ = runs
    shrunk = run_counted(attack, case.context(shrink_eval_predictions=True))
    assert first.result.threshold is not None
    assert threshold_problems(first.result, shrunk.result) == []


def test_every_attack_finds_the_members_of_a_memorising_tree(runs: tuple[Attack, Run, Run], case: Case) -> None:
    """The tree reproduces its training values exactly: a residual of zero gives the members away."""
    _, first, _ = runs
    assert auc(first.result.scores, case.is_member) > 0.75


@pytest.mark.parametrize("attack_id", sorted(ATTACKS))
def test_nothing_is_found_where_members_and_non_members_are_exchangeable(
    attack_id: str, exchangeable_case: Case
) -> None:
    run = run_counted(ATTACKS[attack_id], exchangeable_case.context())
    assert chance_problems(run.result, exchangeable_case.is_member) == []


def test_the_regression_context_holds_no_membership() -> None:
    for f in dataclasses.fields(RegressionContext):
        assert not MEMBERSHIP_NAME.search(f.name), f.name
        assert not MEMBERSHIP_NAME.search(str(f.type)), (f.name, f.type)
    names = {f.name for f in dataclasses.fields(RegressionContext)}
    expected = {"predictions", "targets", "eval_idx", "population_idx", "features", "target", "seed", "train_size"}
    assert names == expected | {"options", "shared"}


def test_the_chance_check_catches_scores_that_know_the_membership(exchangeable_case: Case) -> None:
    """Scores that leak the membership into an exchangeable case fail the check the attacks pass above."""
    is_member = exchangeable_case.is_member
    honest = run_counted(ATTACKS["threshold.loss"], exchangeable_case.context()).result
    noisy = np.where(is_member, 1.0, 0.0) + np.random.default_rng(0).normal(0, 1.0, N_EVAL)
    assert chance_problems(dataclasses.replace(honest, scores=noisy), is_member) != []
