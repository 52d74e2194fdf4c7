from __future__ import annotations

import numpy as np
import pandas as pd

from mia_audit.attacks.context import AttackContext
from mia_audit.attacks.interface import run_attack
from mia_audit.attacks.kit import population_threshold
from mia_audit.attacks.threshold import ATTACKS


def test_population_threshold_is_the_upper_quantile_of_known_non_members() -> None:
    scores = np.arange(100, dtype=float)  # 0..99
    # 10% of the population may reach the threshold: 90, ..., 99 are 10 values.
    assert population_threshold(scores, 0.1) == 90.0
    assert np.mean(scores >= population_threshold(scores, 0.1)) == 0.1
    assert population_threshold(scores[:19], 0.1) is None


def _context(eval_probs: np.ndarray, pop_probs: np.ndarray, labels: np.ndarray) -> AttackContext:
    probs = np.vstack([eval_probs, pop_probs])
    n_eval = len(eval_probs)
    return AttackContext(
        probs=probs,
        labels=labels,
        eval_idx=np.arange(n_eval),
        population_idx=np.arange(n_eval, len(probs)),
        features=pd.DataFrame({"x": np.zeros(len(probs))}),
        target=None,  # type: ignore[arg-type]  # threshold attacks only read the outputs
        seed=0,
    )


def test_scores_are_oriented_higher_means_member() -> None:
    # Record 0 is predicted confidently and correctly (member-like); record 1 is not.
    eval_probs = np.array([[0.99, 0.01], [0.6, 0.4]])
    rng = np.random.default_rng(0)
    p = rng.uniform(0.5, 0.9, 50)
    pop = np.column_stack([p, 1 - p])
    ctx = _context(eval_probs, pop, np.zeros(52, dtype=int))
    for attack in ATTACKS:
        result = run_attack(attack, ctx)
        assert result.scores[0] > result.scores[1], attack.info.id
        assert result.threshold is not None and "50 population records" in result.threshold_rule
        # The population's most member-like 10% reach the threshold, by construction.
        pop_scores = attack.score(pop, np.zeros(50, dtype=int))
        assert np.mean(pop_scores >= result.threshold) <= 0.12


def test_no_threshold_without_enough_population() -> None:
    ctx = _context(np.array([[0.9, 0.1]]), np.array([[0.5, 0.5]] * 5), np.zeros(6, dtype=int))
    result = run_attack(ATTACKS[0], ctx)
    assert result.threshold is None and "only 5 population records" in result.threshold_rule
