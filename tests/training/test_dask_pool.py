"""Pools trained as tasks on a real dask.distributed LocalCluster (two worker processes) give the models a
local run gives; a worker killed mid-pool changes nothing; the run leaves nothing on the cluster."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import dask
import numpy as np
import pytest
from dask_cluster import local_cluster
from distributed import LocalCluster
from hypothesis import given
from hypothesis import strategies as st
from sklearn.ensemble import RandomForestClassifier

from mia_audit.errors import ClusterError
from mia_audit.training import dask_pool
from mia_audit.training.backend import training_on
from mia_audit.training.dask_pool import DaskBackend, connect, grouping
from mia_audit.training.families import _fit_parallel
from mia_audit.training.matched_mlp import ConfidenceMatch, predicted_class_confidence, train_matched_mlps
from mia_audit.training.mlp import MLPSpec, train_batched_mlp


def blobs(n: int, d: int = 12, n_classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(99).normal(0, 1.0, (n_classes, d))
    y = rng.integers(0, n_classes, n)
    return (centres[y] + rng.normal(size=(n, d))).astype(np.float32), y.astype(np.int64)


def halves(k: int, n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    masks = np.zeros((k, n), dtype=bool)
    for i in range(k):
        masks[i, rng.permutation(n)[: n // 2]] = True
    return masks


@pytest.fixture
def remote(cluster: LocalCluster) -> Iterator[DaskBackend]:
    backend = connect(cluster.scheduler_address)
    try:
        yield backend
    finally:
        backend.close()


def test_fixed_epoch_pool_on_the_cluster_is_the_local_pool(remote: DaskBackend) -> None:
    X, y = blobs(300)
    masks, spec = halves(6, 300), MLPSpec(hidden=(16,), epochs=15, batch_size=32, lr=1e-2)
    here = train_batched_mlp(X, y, masks, 3, spec, seed=4)
    with training_on(remote):
        there = remote.batched_mlps(X, y, masks, 3, spec, seed=4, device="cpu")
    assert there.n_models == 6
    np.testing.assert_allclose(there.predict_proba(X), here.predict_proba(X), atol=1e-5)
    np.testing.assert_allclose(there.logits(X[:7]), here.logits(X[:7]), atol=1e-4)


def test_matched_pool_on_the_cluster_stops_where_the_local_pool_stops(remote: DaskBackend) -> None:
    X, y = blobs(400)
    masks, spec = halves(4, 400, seed=1), MLPSpec(hidden=(32,), batch_size=32, lr=1e-2)
    rows = np.arange(350, 400)
    target = predicted_class_confidence(np.full((50, 3), [0.9, 0.05, 0.05]))
    match = ConfidenceMatch(rows, target)
    masks[:, rows] = False
    here = train_matched_mlps(X, y, masks, 3, spec, max_epochs=60, match=match, seed=2)
    with training_on(remote):
        there = train_matched_mlps(X, y, masks, 3, spec, max_epochs=60, match=match, seed=2)
    assert there.epochs == here.epochs and there.matched == here.matched
    assert any(there.matched)  # the match, not the cap, stopped some of them
    np.testing.assert_allclose(there.net.predict_proba(X), here.net.predict_proba(X), atol=1e-5)


def test_scikit_learn_pool_on_the_cluster_is_the_local_pool(remote: DaskBackend) -> None:
    X, y = blobs(300)
    masks = halves(4, 300, seed=3)
    forests = [RandomForestClassifier(n_estimators=10, random_state=0) for _ in range(4)]
    here = _fit_parallel(forests, X, y, masks, 7)
    with training_on(remote):
        there = _fit_parallel(forests, X, y, masks, 7)
    assert not isinstance(there, type(here))  # the fits ran on the cluster
    for a, b in zip(there.classes, here.classes, strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(there.each("predict_proba", X), here.each("predict_proba", X), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_run_leaves_nothing_on_the_workers(cluster: LocalCluster) -> None:
    from distributed import Client

    X, y = blobs(200)
    backend = connect(cluster.scheduler_address)
    backend.batched_mlps(X, y, halves(3, 200), 3, MLPSpec(hidden=(8,), epochs=2), seed=0, device="cpu")
    held = backend.client.run(lambda dask_worker: len(dask_worker.data))
    assert sum(held.values()) > 0  # the scattered data and the trained groups, while the run holds them
    backend.close()
    with Client(cluster.scheduler_address) as observer:
        deadline = time.monotonic() + 10
        while sum(observer.run(lambda dask_worker: len(dask_worker.data)).values()) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert sum(observer.run(lambda dask_worker: len(dask_worker.data)).values()) == 0


def test_a_worker_killed_mid_pool_changes_nothing() -> None:
    X, y = blobs(3000, d=40)
    masks, spec = halves(4, 3000, seed=5), MLPSpec(hidden=(128,), epochs=60, batch_size=64, lr=1e-3)
    here = train_batched_mlp(X, y, masks, 3, spec, seed=9).predict_proba(X)
    with local_cluster() as cluster:
        backend = connect(cluster.scheduler_address)
        try:
            pids = backend.client.run(os.getpid)
            done: dict[str, object] = {}
            trainer = threading.Thread(
                target=lambda: done.update(net=backend.batched_mlps(X, y, masks, 3, spec, seed=9, device="cpu"))
            )
            trainer.start()
            victim = _busy_worker(backend)
            time.sleep(0.5)  # into its training
            os.kill(pids[victim], signal.SIGKILL)
            trainer.join(timeout=240)
            assert "net" in done, "the pool did not finish after a worker was killed"
            there = done["net"].predict_proba(X)  # type: ignore[attr-defined]
            alive = set(backend.client.run(os.getpid).values())
            rerun = backend.client.run_on_scheduler(_most_suspicious_training_task)
        finally:
            backend.close()
    assert pids[victim] not in alive  # the worker really died (its nanny started another)
    assert rerun >= 1  # with a training task on it, which therefore ran again elsewhere
    np.testing.assert_allclose(there, here, atol=1e-5)


def _most_suspicious_training_task(dask_scheduler: object) -> int:
    """How often the scheduler saw a training task lose the worker running it (the most of any)."""
    tasks = dask_scheduler.tasks.items()  # type: ignore[attr-defined]
    return max((ts.suspicious for key, ts in tasks if "batched_part" in str(key)), default=0)


def _busy_worker(backend: DaskBackend, timeout: float = 60) -> str:
    """The address of a worker that has a training task, once one has."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        processing = backend.client.processing()
        for address, keys in processing.items():
            if any("_batched_part" in str(k) for k in keys):
                return str(address)
        time.sleep(0.05)
    raise AssertionError("no worker took a training task")


def test_an_unreachable_scheduler_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(dask.config.config["distributed"]["comm"]["timeouts"], "connect", "1s")
    with pytest.raises(ClusterError, match=r"--scheduler tcp://127\.0\.0\.1:9: no Dask scheduler answered"):
        connect("tcp://127.0.0.1:9")


@given(
    n_models=st.integers(1, 200),
    threads=st.integers(0, 64),
    memory=st.one_of(st.none(), st.integers(1, 10**10)),
    per_model=st.integers(1, 10**9),
)
def test_groups_cover_every_model_once_in_order(
    n_models: int, threads: int, memory: int | None, per_model: int
) -> None:
    groups = grouping(n_models, threads, memory, per_model)
    assert np.array_equal(np.concatenate(groups), np.arange(n_models))
    assert all(len(g) for g in groups)
    assert len(groups) >= min(n_models, max(1, threads))
    if memory is not None:
        fits = max(1, int(dask_pool.MEMORY_SHARE * memory) // per_model)
        assert max(len(g) for g in groups) <= max(fits, 1) or len(groups) == n_models


def test_groups_split_where_memory_is_short() -> None:
    assert [len(g) for g in grouping(16, 2, None, 10)] == [8, 8]
    assert [len(g) for g in grouping(16, 2, 4000, 250)] == [4, 4, 4, 4]  # a quarter of 4000 holds 4 models
