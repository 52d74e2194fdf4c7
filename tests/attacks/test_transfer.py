from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mia_audit import signals
from mia_audit.attacks.context import AttackContext, AttackOptions
from mia_audit.attacks.interface import AttackResult, run_attack
from mia_audit.attacks.transfer import (
    ATTACKS,
    CorpusOutputs,
    _corpus_shadows,
    _cross_shadow_check,
    _rows_of,
    load_builtin,
    train_builtin,
    transfer_feature,
    user_corpus,
    write_builtin,
)
from mia_audit.data.transfer import read_transfer_table
from mia_audit.errors import ConfigError
from mia_audit.judge.metrics import auc

TRANSFER = ATTACKS[0]


@cache
def _overfit_target(n_classes: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An overfitted MLP on a noisy generated task: outputs on 300 members then 300 non-members."""
    from sklearn.datasets import make_classification
    from sklearn.neural_network import MLPClassifier

    X, y = make_classification(
        n_samples=1200,
        n_features=15,
        n_informative=8,
        n_classes=n_classes,
        n_clusters_per_class=1,
        flip_y=0.3,
        random_state=seed,
    )
    model = MLPClassifier(hidden_layer_sizes=(256,), max_iter=400, random_state=seed).fit(X[:300], y[:300])
    rows = np.r_[0:300, 600:900]
    probs = model.predict_proba(X[rows])
    member = np.r_[np.ones(300), np.zeros(300)].astype(int)
    return probs, y[rows], member


def _context(
    probs: np.ndarray,
    labels: np.ndarray,
    seed: int = 0,
    transfer_data: Path | None = None,
    transfer_label_col: str | None = None,
) -> AttackContext:
    table = None if transfer_data is None else read_transfer_table(transfer_data, transfer_label_col)
    return AttackContext(
        probs=probs,
        labels=labels,
        eval_idx=np.arange(len(probs)),
        population_idx=np.arange(0),
        features=pd.DataFrame({"x": np.zeros(len(probs))}),
        target=None,  # type: ignore[arg-type]  # the transfer attack only reads the outputs
        seed=seed,
        options=AttackOptions(transfer=table),
    )


@cache
def _builtin_result(n_classes: int) -> AttackResult:
    probs, labels, _ = _overfit_target(n_classes)
    return run_attack(TRANSFER, _context(probs, labels))


def test_builtin_corpus_transfers_to_a_target_of_another_task_and_class_count() -> None:
    probs, labels, member = _overfit_target(5)
    result = _builtin_result(5)
    transfer_auc = auc(result.scores, member)
    assert transfer_auc > 0.6
    # A realistic attack cannot beat the auditor's loss threshold by much; it should get close.
    assert transfer_auc > auc(-signals.loss(probs, labels), member) - 0.15
    assert result.id == result.family == "transfer"
    assert result.threshold == 0.5 and result.queries == len(probs)
    assert result.notes[0].startswith("built-in corpus: digits (10 classes)")
    assert "make_classification 100 classes" in result.notes[0]
    assert "cross-shadow AUC per dataset: digits" in result.notes[1]
    assert any("true label" in a for a in result.assumptions)


def _user_csv(tmp_path: Path, label: str = "outcome") -> Path:
    rng = np.random.default_rng(1)
    n = 400
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    y = np.where(x1 + (colour == "red") + rng.normal(scale=1.0, size=n) > 0.5, "yes", "no")
    path = tmp_path / "own.csv"
    pd.DataFrame({"x1": x1, "x2": x2, "colour": colour, label: y}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def two_class_corpus_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[AttackResult, np.ndarray]:
    """A small two-class user corpus against a five-class target."""
    path = _user_csv(tmp_path_factory.mktemp("corpus"))
    probs, labels, member = _overfit_target(5)
    return run_attack(TRANSFER, _context(probs, labels, transfer_data=path, transfer_label_col="outcome")), member


def test_user_corpus_whose_shadows_do_not_leak_is_replaced_by_the_builtin_corpus(
    two_class_corpus_result: tuple[AttackResult, np.ndarray],
) -> None:
    """On this four-column two-class table the shadows' members are no more confident than their
    non-members; an attack model fitted on them ranked the target backwards (AUC 0.34) before the
    cross-shadow check sent the attack to the built-in corpus instead."""
    result, member = two_class_corpus_result
    assert auc(result.scores, member) > 0.6
    assert result.notes[0].startswith("built-in corpus: digits (10 classes)")
    assert result.notes[0].endswith("(in place of own.csv)")
    refused = [n for n in result.notes if "not used" in n]
    assert len(refused) == 1 and refused[0].startswith("user corpus own.csv: 400 records, 2 classes")
    assert "cross-shadow AUC" in refused[0] and "chance + 2 standard errors" in refused[0]
    assert "log p(1) − log(p(2) + p(3))" in result.notes[1]


def test_fallback_scores_equal_the_builtin_attack(two_class_corpus_result: tuple[AttackResult, np.ndarray]) -> None:
    np.testing.assert_array_equal(two_class_corpus_result[0].scores, _builtin_result(5).scores)


def test_user_corpus_whose_shadows_leak_is_used(tmp_path: Path) -> None:
    from sklearn.datasets import make_classification

    X, y = make_classification(
        n_samples=600, n_features=10, n_informative=8, n_classes=6, n_clusters_per_class=1, flip_y=0.2, random_state=4
    )
    path = tmp_path / "noisy6.csv"
    pd.DataFrame(X, columns=[f"v{i}" for i in range(10)]).assign(label=y).to_csv(path, index=False)
    probs, labels, member = _overfit_target(5)
    result = run_attack(TRANSFER, _context(probs, labels, transfer_data=path))
    assert result.notes[0].startswith("user corpus noisy6.csv: 600 records, 6 classes")
    assert not any("not used" in n for n in result.notes)
    assert "log p(1) − log(p(2) + p(3))" in result.notes[1] and "noisy6.csv" in result.notes[1]
    assert auc(result.scores, member) > 0.6


def test_cross_shadow_check_tells_signal_from_noise() -> None:
    rng = np.random.default_rng(0)
    n = 400
    masks = np.zeros((2, n), dtype=bool)
    masks[0, :200], masks[1, 200:] = True, True
    # Members of each shadow are confident on their own records, non-members are not.
    confident = np.where(masks, 0.95, 0.6)[..., None] + rng.normal(0, 0.05, (2, n, 1))
    probs = np.concatenate([confident, (1 - confident) / 2, (1 - confident) / 2], axis=2).clip(1e-6, 1)
    value, floor = _cross_shadow_check(probs, masks)
    assert value > 0.9 and 0.53 < floor < 0.56
    shuffled = probs[:, rng.permutation(n)]
    value, _ = _cross_shadow_check(shuffled, masks)
    assert value < floor


def test_user_corpus_label_column_is_detected(tmp_path: Path) -> None:
    path = _user_csv(tmp_path, label="Target")
    tasks, described = user_corpus(read_transfer_table(path, None), 0)
    assert "label column 'Target'" in described and "2 classes" in described
    assert len(tasks) == 1 and tasks[0].n_classes == 2 and tasks[0].X.shape == (400, 5)  # x1, x2, colour one-hot


def test_missing_label_column_is_a_one_line_config_error(tmp_path: Path) -> None:
    path = _user_csv(tmp_path)
    probs, labels, _ = _overfit_target(5)
    with pytest.raises(ConfigError) as err:
        run_attack(TRANSFER, _context(probs, labels, transfer_data=path, transfer_label_col="nope"))
    assert "'nope'" in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError) as err:
        run_attack(TRANSFER, _context(probs, labels, transfer_data=path))
    assert "--transfer-label-col" in str(err.value) and "\n" not in str(err.value)


def test_same_seed_same_shadow_rows(tmp_path: Path) -> None:
    path = _user_csv(tmp_path)
    (task,), _ = user_corpus(read_transfer_table(path, "outcome"), 0)
    a, b = (_rows_of(*_corpus_shadows(task, 3, 0), 3, 0) for _ in range(2))
    np.testing.assert_array_equal(a.X, b.X)
    np.testing.assert_array_equal(a.member, b.member)
    assert a.check_auc == b.check_auc and a.check_floor == b.check_floor


@pytest.fixture(scope="module")
def fresh_builtin() -> list[CorpusOutputs]:
    return train_builtin()


def test_shipped_builtin_corpus_is_what_training_it_afresh_gives(fresh_builtin: list[CorpusOutputs]) -> None:
    """Stale after a change to the corpus or its shadows: rebuild with ``python -m mia_audit.attacks.transfer``.
    Float rounding may differ between CPUs, hence tolerances."""
    shipped = load_builtin()
    assert [(t.name, t.n_classes) for t in shipped] == [(t.name, t.n_classes) for t in fresh_builtin]
    for i, (old, new) in enumerate(zip(shipped, fresh_builtin, strict=True)):
        np.testing.assert_array_equal(old.masks, new.masks)
        assert old.probs.shape == new.probs.shape and old.probs.dtype == np.float32
        assert np.median(np.abs(old.probs - new.probs)) < 1e-4
        assert abs(old.rows(i).rows.check_auc - new.rows(i).rows.check_auc) < 0.01


def test_builtin_corpus_file_round_trips(tmp_path: Path, fresh_builtin: list[CorpusOutputs]) -> None:
    path = tmp_path / "corpus.npz"
    write_builtin(path, fresh_builtin)
    again = load_builtin(path)
    assert len(again) == len(fresh_builtin) == 6
    for a, b in zip(again, fresh_builtin, strict=True):
        assert (a.name, a.n_classes) == (b.name, b.n_classes)
        np.testing.assert_array_equal(a.probs, b.probs)
        np.testing.assert_array_equal(a.masks, b.masks)


def test_shipped_rows_are_the_live_shadows_rows(fresh_builtin: list[CorpusOutputs]) -> None:
    """The rows the attack uses come from the shipped outputs exactly as from a live training."""
    from mia_audit.attacks.transfer import CORPUS_SEED, builtin_corpus

    tasks = builtin_corpus(CORPUS_SEED)
    live = _rows_of(*_corpus_shadows(tasks[1], CORPUS_SEED, 1), CORPUS_SEED, 1)  # wine: the smallest
    shipped = fresh_builtin[1].rows(1).rows
    np.testing.assert_array_equal(live.member, shipped.member)
    np.testing.assert_allclose(live.X, shipped.X, rtol=1e-6)


def test_a_release_transforms_the_corpus_shadows_outputs(fresh_builtin: list[CorpusOutputs]) -> None:
    from functools import partial

    from mia_audit.defences.output import top_k

    plain, top1 = fresh_builtin[0].rows(0).rows, fresh_builtin[0].rows(0, partial(top_k, k=1)).rows
    np.testing.assert_array_equal(plain.member, top1.member)
    # Top-1 release hides the second and third posteriors: the feature saturates at the probability floor.
    assert np.all(top1.X >= plain.X - 1e-9) and np.any(top1.X > plain.X + 1)


def _float32_softmax(logits: np.ndarray) -> np.ndarray:
    z = logits.astype(np.float32) - logits.max(axis=1, keepdims=True).astype(np.float32)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def test_transfer_feature_keeps_order_where_the_top_posterior_rounds_to_one() -> None:
    probs = _float32_softmax(np.array([[40.0, 20.0, 15.0, 0.0], [40.0, 22.0, 10.0, 0.0], [3.0, 2.0, 1.0, 0.0]]))
    assert probs[0, 0] == probs[1, 0] == 1.0  # float32 cannot tell these two apart by the top posterior
    feature = transfer_feature(probs)[:, 0]
    assert np.all(np.isfinite(feature))
    # log p(1) − log(p(2) + p(3)) from the logits: 20 − log(1 + e^−5), 18 − log(1 + e^−12), 1 − log(1 + e^−1).
    expected = [20 - np.log1p(np.exp(-5)), 18 - np.log1p(np.exp(-12)), 1 - np.log1p(np.exp(-1))]
    np.testing.assert_allclose(feature, expected, rtol=1e-4)


def test_saturated_target_is_ranked_the_right_way_round() -> None:
    """Members' top posteriors round to 1 in float32, non-members' nearly so: only the small posteriors
    separate them. An attack model on the three log posteriors ranked such a target backwards (0.46 on
    a Location-like table); the transfer feature keeps the order."""
    rng = np.random.default_rng(0)
    n, n_classes = 300, 30
    gap = np.r_[rng.normal(22.0, 2.0, n), rng.normal(13.0, 2.0, n)]
    logits = rng.normal(0.0, 1.0, (2 * n, n_classes))
    logits[:, 0] = logits[:, 1:].max(axis=1) + gap
    probs = _float32_softmax(logits).astype(np.float64)
    member = np.r_[np.ones(n), np.zeros(n)].astype(int)
    result = run_attack(TRANSFER, _context(probs, np.zeros(2 * n, dtype=np.int64)))
    assert auc(result.scores, member) > 0.95


def test_a_user_corpus_trains_once_per_run_and_a_release_transforms_its_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dataclasses import replace
    from functools import partial

    from mia_audit.attacks import transfer
    from mia_audit.attacks.context import Release
    from mia_audit.defences.output import top_k

    trained: list[str] = []
    real = transfer._corpus_shadows

    def counted(task: object, seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        trained.append(str(index))
        return real(task, seed, index)  # type: ignore[arg-type]

    monkeypatch.setattr(transfer, "_corpus_shadows", counted)
    probs, labels, _ = _overfit_target(5)
    ctx = _context(probs, labels, transfer_data=_user_csv(tmp_path), transfer_label_col="outcome")
    plain = run_attack(TRANSFER, ctx)
    top1 = partial(top_k, k=1)
    released = replace(ctx, probs=top1(probs), release=Release("output.top1", top1))
    behind = run_attack(TRANSFER, released)
    assert trained == ["0"]  # the user's one table: its two shadows trained in the undefended run only
    assert not np.array_equal(plain.scores, behind.scores)
