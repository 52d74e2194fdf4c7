from __future__ import annotations

import pickle
from collections.abc import Iterator

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from looped_mlp import train_looped_mlp  # the one-at-a-time reference, beside these tests

from mia_audit.training import mlp as batched_mlp
from mia_audit.training.mlp import (
    ACTIVATIONS,
    BatchedMLP,
    MLPSpec,
    _RowStream,
    train_batched_mlp,
)

SMALL = MLPSpec(hidden=(16,), epochs=30, batch_size=32, lr=1e-2)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    # The looped reference runs on torch's intra-op pool, whose fork-join per tiny kernel stalls badly when
    # other processes share the cores; one thread keeps these tests fast and their timing steady.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def blobs(n: int, d: int = 8, n_classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian clusters that a small MLP separates well but not perfectly."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(0, 1.2, (n_classes, d))
    y = rng.integers(0, n_classes, n)
    return (centres[y] + rng.normal(size=(n, d))).astype(np.float32), y.astype(np.int64)


def random_masks(k: int, n: int, seed: int = 0) -> np.ndarray:
    # Subsets of different sizes and contents (about 30% to 70% of the rows).
    rng = np.random.default_rng(seed)
    return rng.random((k, n)) < rng.uniform(0.3, 0.7, (k, 1))


@pytest.fixture(scope="module")
def problem() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = blobs(300)
    X_test, y_test = blobs(1000, seed=1)
    return X, y, random_masks(3, 300), X_test, y_test


@pytest.fixture(scope="module")
def trained(problem: tuple[np.ndarray, ...]) -> BatchedMLP:
    X, y, masks, _, _ = problem
    return train_batched_mlp(X, y, masks, 3, SMALL, seed=0)


def test_batched_and_looped_training_give_the_same_models(problem: tuple[np.ndarray, ...], trained: BatchedMLP) -> None:
    X, y, masks, X_test, y_test = problem
    looped = train_looped_mlp(X, y, masks, 3, SMALL, seed=0)
    acc_batched = (trained.predict_proba(X_test).argmax(-1) == y_test).mean(axis=1)
    acc_looped = (looped.predict_proba(X_test).argmax(-1) == y_test).mean(axis=1)
    assert (acc_batched > 0.6).all()  # the models did learn something
    np.testing.assert_allclose(acc_batched, acc_looped, atol=0.03)
    # Same initial weights, minibatches and optimizer: the same models up to float rounding.
    np.testing.assert_allclose(trained.predict_proba(X_test), looped.predict_proba(X_test), atol=1e-4)


def test_batched_and_looped_agree_with_dropout_and_weight_decay() -> None:
    X, y = blobs(300)
    X_test, y_test = blobs(1000, seed=1)
    masks = random_masks(2, 300, seed=1)
    spec = MLPSpec(hidden=(32,), epochs=20, batch_size=32, lr=1e-2, dropout=0.2, weight_decay=1e-3)
    proba = [
        train(X, y, masks, 3, spec, seed=0).predict_proba(X_test) for train in (train_batched_mlp, train_looped_mlp)
    ]
    accs = [(p.argmax(-1) == y_test).mean(axis=1) for p in proba]
    assert (accs[0] > 0.6).all()
    np.testing.assert_allclose(accs[0], accs[1], atol=0.03)
    # Each model draws its dropout masks from its own generator in both trainers: the same models again.
    np.testing.assert_allclose(proba[0], proba[1], atol=1e-4)
    no_dropout = train_batched_mlp(X, y, masks, 3, MLPSpec(hidden=(32,), epochs=20, batch_size=32, lr=1e-2), seed=0)
    assert not np.allclose(no_dropout.predict_proba(X_test), proba[0], atol=1e-3)


def test_splitting_the_models_into_thread_groups_changes_nothing(
    problem: tuple[np.ndarray, ...], trained: BatchedMLP, monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y, masks, X_test, _ = problem
    monkeypatch.setattr(batched_mlp, "_MIN_GROUP_MACS", 1)  # any step is worth splitting
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert batched_mlp._cpu_parallelism(3, 32, [8, 16, 3]) == (2, 1)
        grouped = train_batched_mlp(X, y, masks, 3, SMALL, seed=0)
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(threads)
    np.testing.assert_allclose(grouped.logits(X_test), trained.logits(X_test), rtol=1e-5, atol=1e-5)


def test_a_model_learns_only_from_its_own_mask() -> None:
    X, y = blobs(300)
    masks = np.ones((2, 300), dtype=bool)
    masks[0] = y == 2  # model 0 only ever sees class 2
    model = train_batched_mlp(X, y, masks, 3, MLPSpec(hidden=(16,), epochs=10, batch_size=32, lr=1e-2), seed=0)
    pred = model.predict_proba(X).argmax(-1)
    assert (pred[0] == 2).all()
    assert set(pred[1]) == {0, 1, 2}


def test_each_model_memorises_its_own_noise_records() -> None:
    # Pure-noise labels: nothing to generalise, so low loss on a record means the model trained on it.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 10)).astype(np.float32)
    y = rng.integers(0, 4, 120)
    masks = np.zeros((3, 120), dtype=bool)
    for k in range(3):
        masks[k, 40 * k : 40 * (k + 1)] = True
    spec = MLPSpec(hidden=(64,), epochs=150, batch_size=20, lr=1e-2)
    proba = train_batched_mlp(X, y, masks, 4, spec, seed=0).predict_proba(X)
    loss = -np.log(proba[:, np.arange(120), y])  # (K, n)
    for k in range(3):
        own, others = loss[k, masks[k]].mean(), loss[k, ~masks[k]].mean()
        assert own < 0.1 < 1.0 < others, (k, own, others)


def test_same_seed_same_predictions_other_seed_other_predictions(
    problem: tuple[np.ndarray, ...], trained: BatchedMLP
) -> None:
    X, y, masks, X_test, _ = problem
    again = train_batched_mlp(X, y, masks, 3, SMALL, seed=0)
    assert np.array_equal(again.logits(X_test), trained.logits(X_test))
    other = train_batched_mlp(X, y, masks, 3, SMALL, seed=1)
    assert not np.allclose(other.logits(X_test), trained.logits(X_test))


def test_dropout_training_is_repeatable_and_leaves_global_state_alone() -> None:
    X, y = blobs(100)
    masks = random_masks(2, 100)
    spec = MLPSpec(hidden=(8,), epochs=3, batch_size=16, dropout=0.5)
    torch_state, np_state, threads = torch.get_rng_state(), pickle.dumps(np.random.get_state()), torch.get_num_threads()
    first = train_batched_mlp(X, y, masks, 3, spec, seed=3).logits(X)
    looped = train_looped_mlp(X, y, masks, 3, spec, seed=3).logits(X)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert pickle.dumps(np.random.get_state()) == np_state
    assert torch.get_num_threads() == threads
    assert np.array_equal(train_batched_mlp(X, y, masks, 3, spec, seed=3).logits(X), first)
    assert np.array_equal(train_looped_mlp(X, y, masks, 3, spec, seed=3).logits(X), looped)


def test_a_model_does_not_depend_on_the_other_models() -> None:
    # Model k's weights come from (seed, k), its mask and the step count (equal-sized masks here).
    X, y = blobs(120)
    masks = np.zeros((3, 120), dtype=bool)
    for k in range(3):
        masks[k, np.random.default_rng(k).choice(120, 60, replace=False)] = True
    spec = MLPSpec(hidden=(8,), epochs=5, batch_size=16)
    three = train_batched_mlp(X, y, masks, 3, spec, seed=5).logits(X)
    two = train_batched_mlp(X, y, masks[:2], 3, spec, seed=5).logits(X)
    np.testing.assert_allclose(two, three[:2], atol=1e-5)


def test_matched_training_without_a_match_is_batched_training() -> None:
    # Both trainers run the same engine (plan, initial weights, batched epoch, Adam): with one thread group
    # and no early stop they give the very same models, also with masks of different sizes.
    from mia_audit.training.matched_mlp import train_matched_mlps

    X, y = blobs(200, d=6)
    spec = MLPSpec(hidden=(16, 8), activation="tanh", epochs=7, batch_size=32, lr=1e-2, weight_decay=1e-3)
    masks = random_masks(3, 200, seed=2)
    batched = train_batched_mlp(X, y, masks, 3, spec, seed=4)
    matched = train_matched_mlps(X, y, masks, 3, spec, max_epochs=7, match=None, seed=4).net
    for ours, theirs in zip(batched.weights + batched.biases, matched.weights + matched.biases, strict=True):
        assert torch.equal(ours, theirs)


def test_output_shapes_probabilities_and_logits(problem: tuple[np.ndarray, ...], trained: BatchedMLP) -> None:
    _, _, _, X_test, _ = problem
    logits = trained.logits(X_test)
    proba = trained.predict_proba(X_test)
    assert trained.n_models == 3 and trained.n_classes == 3 and trained.spec == SMALL
    assert logits.shape == proba.shape == (3, 1000, 3)
    assert logits.dtype == proba.dtype == np.float64
    assert np.isfinite(logits).all() and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=-1), 1.0, atol=1e-12)
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    np.testing.assert_allclose(proba, shifted / shifted.sum(axis=-1, keepdims=True), rtol=1e-12)
    # Chunking over records does not change the answer.
    np.testing.assert_allclose(trained.logits(X_test, batch_size=7), logits, rtol=1e-5, atol=1e-5)
    # Model k as a plain nn.Sequential gives the same outputs.
    with torch.no_grad():
        seq = trained.sequential(1)(torch.from_numpy(X_test)).numpy()
    np.testing.assert_allclose(seq, logits[1], rtol=1e-5, atol=1e-5)


def test_extreme_logits_give_a_stable_softmax() -> None:
    X, y = blobs(60)
    model = train_batched_mlp(X, y, np.ones((1, 60), bool), 3, MLPSpec(hidden=(), epochs=1), seed=0)
    big = model.predict_proba(X * 1e6)
    assert np.isfinite(big).all()
    np.testing.assert_allclose(big.sum(axis=-1), 1.0, atol=1e-12)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_every_activation_and_depth_trains(activation: str) -> None:
    X, y = blobs(100)
    spec = MLPSpec(hidden=(8, 6), activation=activation, epochs=2, batch_size=32)
    model = train_batched_mlp(X, y, random_masks(2, 100), 3, spec, seed=0)
    assert [w.shape for w in model.weights] == [(2, 8, 8), (2, 8, 6), (2, 6, 3)]
    logits = model.logits(X)
    assert np.isfinite(logits).all()
    with torch.no_grad():
        np.testing.assert_allclose(model.sequential(0)(torch.from_numpy(X)).numpy(), logits[0], atol=1e-5)


def test_small_subsets_wrap_around_and_still_train() -> None:
    # Model 1 has 5 rows, fewer than one minibatch: it wraps around its permutation within each step.
    X, y = blobs(200)
    masks = np.zeros((2, 200), dtype=bool)
    masks[0] = True
    masks[1, :5] = True
    model = train_batched_mlp(X, y, masks, 3, MLPSpec(hidden=(16,), epochs=20, batch_size=64, lr=1e-2), seed=0)
    assert (model.predict_proba(X[:5])[1].argmax(-1) == y[:5]).all()


@settings(max_examples=30, deadline=None)
@given(n_rows=st.integers(1, 40), takes=st.lists(st.integers(0, 60), min_size=1, max_size=6))
def test_row_stream_is_a_sequence_of_permutations(n_rows: int, takes: list[int]) -> None:
    rows = np.arange(100, 100 + n_rows)
    stream = _RowStream(rows, np.random.default_rng(0))
    drawn = np.concatenate([stream.take(t) for t in takes])
    assert len(drawn) == sum(takes)
    for start in range(0, len(drawn) - n_rows + 1, n_rows):
        assert sorted(drawn[start : start + n_rows]) == list(rows)
    assert set(drawn) <= set(rows)


def test_input_errors() -> None:
    X, y = blobs(50)
    masks = np.ones((2, 50), dtype=bool)
    tiny = MLPSpec(hidden=(4,), epochs=1)
    empty = masks.copy()
    empty[1] = False
    with pytest.raises(ValueError, match=r"model\(s\) \[1\] have an empty mask"):
        train_batched_mlp(X, y, empty, 3, tiny)
    with pytest.raises(ValueError, match="masks must have shape"):
        train_batched_mlp(X, y, masks[:, :40], 3, tiny)
    with pytest.raises(ValueError, match="masks must have shape"):
        train_looped_mlp(X, y, masks[0], 3, tiny)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\)"):
        train_batched_mlp(X, np.where(y == 0, 3, y), masks, 3, tiny)
    with pytest.raises(ValueError, match="labels must lie"):
        train_looped_mlp(X, y - 1, masks, 3, tiny)
    with pytest.raises(ValueError, match="y must have shape"):
        train_batched_mlp(X, y[:-1], masks, 3, tiny)
    with pytest.raises(ValueError, match="integer class indices"):
        train_batched_mlp(X, y.astype(float), masks, 3, tiny)
    with pytest.raises(ValueError, match="NaN"):
        train_batched_mlp(np.where(X > 2, np.nan, X), y, masks, 3, tiny)
    model = train_batched_mlp(X, y, masks, 3, tiny)
    with pytest.raises(ValueError, match="trained on 8"):
        model.predict_proba(X[:, :5])


def test_spec_errors() -> None:
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        MLPSpec(activation="swish")
    for bad in (
        {"hidden": (0,)},
        {"epochs": 0},
        {"batch_size": 0},
        {"lr": 0.0},
        {"dropout": 1.0},
        {"weight_decay": -1},
    ):
        with pytest.raises(ValueError):
            MLPSpec(**bad)
    with pytest.raises(ValueError, match=r"write hidden=\(64,\)"):
        MLPSpec(hidden=64)  # type: ignore[arg-type]
    assert MLPSpec(hidden=[32, 16]).hidden == (32, 16)  # type: ignore[arg-type]


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised without CUDA")
def test_cuda_requested_without_cuda_is_a_clear_error() -> None:
    X, y = blobs(20)
    with pytest.raises(ValueError, match="CUDA is not available"):
        train_batched_mlp(X, y, np.ones((1, 20), bool), 3, MLPSpec(epochs=1), device="cuda")
    with pytest.raises(ValueError, match=r"unsupported device|unknown device"):
        train_batched_mlp(X, y, np.ones((1, 20), bool), 3, MLPSpec(epochs=1), device="tpu")
