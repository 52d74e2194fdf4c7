"""The Dask backend (``--backend dask``): a pool's models train as tasks on a ``dask.distributed`` cluster.

* **Data once.** A pool's training data are scattered once, to every worker (so that they outlive any
  one of them), and held until the run ends.
* **Tasks.** Each task trains a group of the pool's models with the local engine, told which of the K
  they are (``models=``), so model ``k`` comes from the seed stream it has in a local run. Groups are as
  many as the cluster has threads, and smaller where a group's models would take more than a quarter
  of the smallest worker's memory.
* **Outputs, not models.** The trained groups stay on the workers; what comes back is each model's
  outputs on the records the run asks about (all audit and population records, then the boundary
  attack's neighbours and the defences' rows).
* **Faults.** Tasks are pure functions of their data and seeds, so Dask reruns a task lost with its
  worker on another and the result is unchanged. A lost scheduler, a task that keeps killing workers,
  or a scheduler that does not answer ends the run with :class:`ClusterError` (exit 2) before any
  report is written.
* **Clean-up.** :meth:`DaskBackend.close` releases everything the run put on the cluster, and closes the
  client (and the cluster, when the run started one itself).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import CancelledError
from itertools import pairwise
from typing import TYPE_CHECKING, Any

import numpy as np

from mia_audit import progress
from mia_audit.errors import ClusterError, ConfigError, first_line

if TYPE_CHECKING:
    from distributed import Client, Future

    from mia_audit.training.matched_mlp import ConfidenceMatch, MatchedMLPs
    from mia_audit.training.mlp import MLPSpec

# A task's models may take at most this share of the smallest worker's memory limit.
MEMORY_SHARE = 0.25
# Worker processes of a cluster the run starts itself (no --scheduler): their logs are quiet below this.
_QUIET = logging.ERROR


def connect(scheduler: str | None, *, device: str = "cpu", timeout: float | None = None) -> DaskBackend:
    """Connect to ``scheduler`` (or dask's ``scheduler-address`` setting, or a new local cluster of one
    single-threaded worker process per core) and check that it has workers that run this mia-audit."""
    try:
        import dask
        from distributed import Client
    except ImportError:
        raise ConfigError("--backend dask needs Dask: pip install 'mia-audit[dask]'.") from None
    if timeout is None:
        from dask.utils import parse_timedelta

        # Dask's own setting (30 s unless configured): how long to wait for the scheduler, at the start
        # and again when the connection drops mid-run.
        timeout = float(parse_timedelta(dask.config.get("distributed.comm.timeouts.connect"), default="s"))
    address = scheduler or dask.config.get("scheduler-address", None)
    quiet = _Quiet()
    cluster = None
    try:
        if address is None:
            cluster = _local_cluster()
            client = Client(cluster, set_as_default=False)
        else:
            client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        if cluster is not None:
            cluster.close(timeout=10)
        quiet.restore()
        raise _unreachable(address, timeout, exc) from None
    backend = DaskBackend(client, cluster, quiet)
    try:
        backend.check_workers(timeout, device)
    except BaseException:
        backend.close()
        raise
    return backend


def _local_cluster() -> Any:
    """One single-threaded worker process per core, for this run only."""
    from distributed import LocalCluster

    from mia_audit.environment import available_cores

    return LocalCluster(
        n_workers=available_cores(), threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=_QUIET
    )


def _unreachable(address: str | None, timeout: float, exc: BaseException) -> ClusterError:
    if address is None:
        return ClusterError(
            f"could not start a local Dask cluster for --backend dask ({first_line(exc)}); give --scheduler ADDRESS "
            "of a running one, or use --backend local."
        )
    if isinstance(exc, ValueError):
        return ClusterError(
            f"--scheduler {address} is not a Dask scheduler address ({first_line(exc)}); give it as tcp://HOST:PORT."
        )
    return ClusterError(
        f"--scheduler {address}: no Dask scheduler answered within {timeout:g} s ({first_line(exc)}); start one with "
        f"`dask scheduler` and workers with `dask worker {address}`, or fix the address."
    )


class _Quiet:
    """distributed's loggers held at critical-only while the run uses the cluster: a lost connection is
    reported once, by the run, not as logged tracebacks (its sub-loggers carry levels of their own)."""

    def __init__(self) -> None:
        names = [n for n in logging.root.manager.loggerDict if n == "distributed" or n.startswith("distributed.")]
        self._levels = {name: logging.getLogger(name).level for name in ["distributed", *names]}
        for name in self._levels:
            logging.getLogger(name).setLevel(logging.CRITICAL)

    def restore(self) -> None:
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)


class DaskBackend:
    """Pools trained as tasks on one Dask client; everything the run put on the cluster, to release."""

    def __init__(self, client: Client, cluster: Any, quiet: _Quiet) -> None:
        self.client = client
        self._cluster = cluster
        self._quiet = quiet
        self._held: list[Future] = []
        self._lock = threading.Lock()
        self.address = str(client.scheduler.address) if client.scheduler is not None else "?"

    # -- the cluster ---------------------------------------------------------------------------------

    def check_workers(self, timeout: float, device: str = "cpu") -> None:
        """At least one worker; every worker running this version of mia-audit (or the numbers differ), and
        with a CUDA GPU for ``--device cuda``."""
        from mia_audit import __version__

        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except (OSError, TimeoutError):
            raise ClusterError(
                f"the Dask scheduler at {self.address} has no workers; start some with `dask worker {self.address}`."
            ) from None
        versions = self._on_every_worker(_worker_version)
        other = sorted({f"{v}" for v in versions.values() if v != __version__})
        if other:
            raise ClusterError(
                f"Dask workers at {self.address} run mia-audit {', '.join(other)}, this is {__version__}: install "
                "the same version on every worker (a pool must train as it would here)."
            )
        if device.startswith("cuda"):
            without = sorted(a for a, has in self._on_every_worker(_has_cuda).items() if not has)
            if without:
                raise ClusterError(
                    f"--device {device}: Dask workers {', '.join(without)} have no CUDA GPU; start the workers on GPU "
                    "machines, or use --device cpu."
                )

    def _on_every_worker(self, check: Callable[[], object]) -> dict[str, object]:
        """``check()`` on every worker; a worker that cannot run it lacks mia-audit or its dependencies."""
        try:
            return dict(self._call(lambda: self.client.run(check)))
        except ImportError as exc:
            raise ClusterError(
                f"a Dask worker at {self.address} cannot import what mia-audit needs ({first_line(exc)}); install "
                "mia-audit (with torch) in the workers' environment, the same version as here."
            ) from None

    def describe(self) -> dict[str, object]:
        workers = self._call(lambda: self.client.scheduler_info(n_workers=-1))["workers"]
        import distributed

        return {
            "kind": "dask",
            "scheduler": "local cluster started for the run" if self._cluster is not None else self.address,
            "workers": len(workers),
            "threads": sum(int(w.get("nthreads", 1)) for w in workers.values()),
            "distributed": distributed.__version__,
        }

    def close(self) -> None:
        """Release what the run put on the cluster; close the client, and the cluster if the run started it."""
        with self._lock:
            held, self._held = self._held, []
        try:
            if held and self.client.status == "running":
                self.client.cancel(held, force=True)
        except Exception:
            pass
        finally:
            held.clear()
            try:
                self.client.close(timeout=5)
            finally:
                try:
                    if self._cluster is not None:
                        self._cluster.close(timeout=10)
                finally:
                    self._quiet.restore()

    # -- pools ---------------------------------------------------------------------------------------

    def matched_mlps(
        self,
        X: np.ndarray,
        y: np.ndarray,
        masks: np.ndarray,
        n_classes: int,
        spec: MLPSpec,
        *,
        max_epochs: int,
        match: ConfidenceMatch | None,
        seed: int,
        device: str,
    ) -> MatchedMLPs:
        from mia_audit.training.matched_mlp import MatchedMLPs

        X = np.ascontiguousarray(X, dtype=np.float32)
        data = self._share(X, np.asarray(y), np.asarray(masks, dtype=bool))
        groups = self.groups(len(masks), _mlp_bytes(spec, X.shape[1], n_classes))
        parts = self._train(
            _matched_part, groups, *data, n_classes, spec, max_epochs, match, seed, device, what="MLPs"
        )  # fmt: skip
        summaries = self._gather([self._submit(_matched_summary, part) for part in parts])
        return MatchedMLPs(
            net=RemoteMLPs(self, parts, len(masks)),
            epochs=tuple(e for epochs, _ in summaries for e in epochs),
            matched=tuple(m for _, matched in summaries for m in matched),
        )

    def batched_mlps(
        self, X: np.ndarray, y: np.ndarray, masks: np.ndarray, n_classes: int, spec: MLPSpec, *, seed: int, device: str
    ) -> RemoteMLPs:
        X = np.ascontiguousarray(X, dtype=np.float32)
        data = self._share(X, np.asarray(y), np.asarray(masks, dtype=bool))
        groups = self.groups(len(masks), _mlp_bytes(spec, X.shape[1], n_classes))
        parts = self._train(_batched_part, groups, *data, n_classes, spec, seed, device, what="MLPs")
        return RemoteMLPs(self, parts, len(masks))

    def fit_estimators(
        self, estimators: list[Any], X: Any, y: np.ndarray, masks: np.ndarray, seed: int
    ) -> RemoteEstimators:
        data, labels = self._share(X, np.asarray(y))
        fits = [
            self._submit(_fit_part, estimator, data, labels, mask, seed + k)
            for k, (estimator, mask) in enumerate(zip(estimators, np.asarray(masks, dtype=bool), strict=True))
        ]
        self._hold(fits)
        self._wait(fits, f"fitting {len(fits)} models on the Dask cluster")
        classes = self._gather([self._submit(_classes, fit) for fit in fits])
        return RemoteEstimators(self, fits, [np.asarray(c) for c in classes])

    def groups(self, n_models: int, bytes_per_model: int) -> list[np.ndarray]:
        """The pool's models in groups, one task each (see :func:`grouping`), for this cluster."""
        workers = self._call(lambda: self.client.scheduler_info(n_workers=-1))["workers"].values()
        threads = sum(int(w.get("nthreads", 1)) for w in workers)
        # A worker runs one task per thread at once: each task may take its thread's share of the memory.
        limits = [int(w["memory_limit"]) // max(1, int(w.get("nthreads", 1))) for w in workers if w.get("memory_limit")]
        return grouping(n_models, threads, min(limits) if limits else None, bytes_per_model)

    # -- outputs of trained groups -------------------------------------------------------------------

    def outputs(self, parts: Sequence[Future], task: Callable[..., np.ndarray], *args: Any) -> list[np.ndarray]:
        """``task(part, *args)`` for every part, in order; arrays among ``args`` are sent once."""
        shared = [self._scatter_one(a) if _large(a) else a for a in args]
        try:
            return self._gather([self._submit(task, part, *shared) for part in parts])
        finally:
            sent = [s for s, a in zip(shared, args, strict=True) if s is not a]
            if sent:
                self._call(lambda: self.client.cancel(sent, force=True))

    # -- plumbing ------------------------------------------------------------------------------------

    def _share(self, *arrays: Any) -> list[Future]:
        """Send each array to every worker, once; held until the run ends, so that lost groups can be
        trained again from them."""
        futures = self._call(lambda: self.client.scatter(list(arrays), broadcast=True, hash=False))
        self._hold(futures)
        return list(futures)

    def _train(self, task: Callable[..., Any], groups: list[np.ndarray], *args: Any, what: str) -> list[Future]:
        parts = [self._submit(task, *args, group) for group in groups]
        self._hold(parts)
        n_models = sum(len(g) for g in groups)
        self._wait(parts, f"training {n_models} {what} on the Dask cluster ({len(parts)} tasks)")
        return parts

    def _scatter_one(self, value: Any) -> Future:
        # To every worker: a worker lost mid-call must not take the only copy with it.
        return self._call(lambda: self.client.scatter(value, broadcast=True, hash=False))

    def _submit(self, task: Callable[..., Any], *args: Any) -> Future:
        return self._call(lambda: self.client.submit(task, *args, pure=False))

    def _hold(self, futures: Sequence[Future]) -> None:
        with self._lock:
            self._held.extend(futures)

    def _wait(self, futures: Sequence[Future], what: str) -> None:
        """Until every future is done, counting them (in order) on the progress line; a task's error is raised."""

        def count() -> None:
            progress.advance(what, 0, len(futures))
            for done, future in enumerate(futures, start=1):
                future.result()
                progress.advance(what, done, len(futures))

        self._call(count)

    def _gather(self, futures: Sequence[Future]) -> list[Any]:
        return list(self._call(lambda: self.client.gather(list(futures))))

    def _call(self, call: Callable[[], Any]) -> Any:
        """``call()``, with a lost cluster turned into one ClusterError."""
        from distributed import TimeoutError as DaskTimeout
        from distributed.comm.core import CommClosedError
        from distributed.scheduler import KilledWorker

        try:
            return call()
        except KilledWorker as exc:
            raise ClusterError(
                f"a pool task took down Dask workers at {self.address} again and again ({first_line(exc)}); give the "
                "workers more memory, or train fewer models at once (--reference-models, --shadow-models)."
            ) from None
        except (CancelledError, CommClosedError, OSError, DaskTimeout) as exc:
            if not isinstance(exc, (CancelledError, CommClosedError)) and self.client.status == "running":
                raise  # a task's own error (a full disk, say), not the cluster's: it is reported as it is
            raise ClusterError(
                f"lost the Dask scheduler at {self.address} mid-run ({first_line(exc)}); no report was written. Check "
                "the cluster and run again, or use --backend local."
            ) from None


def grouping(n_models: int, threads: int, memory_limit: int | None, bytes_per_model: int) -> list[np.ndarray]:
    """Model indices in contiguous groups: as many as the cluster's ``threads`` (at most one per model),
    more where a group would take more than ``MEMORY_SHARE`` of ``memory_limit`` (the smallest per thread)."""
    largest = n_models
    if memory_limit:
        largest = max(1, int(MEMORY_SHARE * memory_limit) // max(1, bytes_per_model))
    n_groups = min(n_models, max(1, threads, -(-n_models // largest)))
    return list(np.array_split(np.arange(n_models), n_groups))


def _large(value: Any) -> bool:
    """Worth sending once rather than inside every task."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return len(value) * max(1, value.shape[1]) > 125_000
    return isinstance(value, np.ndarray) and value.nbytes > 1_000_000


def _mlp_bytes(spec: MLPSpec, d: int, n_classes: int) -> int:
    """One model's training memory: weights, gradients and Adam's two moments (float32), and a step's
    activations and their gradients."""
    widths = [d, *spec.hidden, n_classes]
    params = sum((a + 1) * b for a, b in pairwise(widths))
    return 4 * (4 * params + 3 * spec.batch_size * sum(widths))


class RemoteMLPs:
    """K MLPs held on the cluster in groups; answers like ``BatchedMLP`` with their outputs."""

    def __init__(self, backend: DaskBackend, parts: list[Future], n_models: int) -> None:
        self._backend, self._parts, self._n_models = backend, parts, n_models

    @property
    def n_models(self) -> int:
        return self._n_models

    def logits(self, X: np.ndarray) -> np.ndarray:
        return np.concatenate(self._backend.outputs(self._parts, _logits, np.asarray(X, dtype=np.float32)))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        return np.concatenate(self._backend.outputs(self._parts, _proba, np.asarray(X, dtype=np.float32)))


class RemoteEstimators:
    """K fitted scikit-learn models held on the cluster; answers with their outputs."""

    def __init__(self, backend: DaskBackend, fits: list[Future], classes: list[np.ndarray]) -> None:
        self._backend, self._fits, self._classes = backend, fits, classes

    @property
    def classes(self) -> list[np.ndarray]:
        return self._classes

    def each(self, method: str, X: Any) -> list[np.ndarray]:
        return self._backend.outputs(self._fits, _apply, method, X)


# -- what runs on the workers (module-level, so that workers import them by name) -------------------


def _worker_version() -> str:
    from mia_audit import __version__

    return __version__


def _has_cuda() -> bool:
    import torch

    return bool(torch.cuda.is_available())


def _matched_part(
    X: np.ndarray,
    y: np.ndarray,
    masks: np.ndarray,
    n_classes: int,
    spec: MLPSpec,
    max_epochs: int,
    match: ConfidenceMatch | None,
    seed: int,
    device: str,
    models: np.ndarray,
) -> MatchedMLPs:
    from mia_audit.training.matched_mlp import train_matched_mlps

    return train_matched_mlps(
        X,
        y,
        masks,
        n_classes,
        spec,
        max_epochs=max_epochs,
        match=match,
        seed=seed,
        device=device,
        models=models.tolist(),
    )


def _matched_summary(part: MatchedMLPs) -> tuple[tuple[int, ...], tuple[bool, ...]]:
    return part.epochs, part.matched


def _batched_part(
    X: np.ndarray,
    y: np.ndarray,
    masks: np.ndarray,
    n_classes: int,
    spec: MLPSpec,
    seed: int,
    device: str,
    models: np.ndarray,
) -> Any:
    from mia_audit.training.mlp import train_batched_mlp

    return train_batched_mlp(X, y, masks, n_classes, spec, seed=seed, device=device, models=models.tolist())


def _net(part: Any) -> Any:
    return getattr(part, "net", part)  # a matched group, or a fixed-epoch one


def _logits(part: Any, X: np.ndarray) -> np.ndarray:
    return np.asarray(_net(part).logits(X))


def _proba(part: Any, X: np.ndarray) -> np.ndarray:
    return np.asarray(_net(part).predict_proba(X))


def _fit_part(estimator: Any, X: Any, y: np.ndarray, mask: np.ndarray, seed: int) -> Any:
    from mia_audit.training.families import fit_one, rows_of

    return fit_one(estimator, rows_of(X, mask), y[mask], seed)


def _classes(model: Any) -> np.ndarray:
    return np.asarray(getattr(model, "classes_", ()))


def _apply(model: Any, method: str, X: Any) -> np.ndarray:
    return np.asarray(getattr(model, method)(X))
