"""What the numbers of a run depend on besides its inputs and seed: the versions, the threads, the device."""

from __future__ import annotations

import os
import platform
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from importlib import metadata
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

# What the attack models' fits import: imported before fits run side by side (see ``side_by_side``).
SKLEARN_FITS = ("sklearn.base", "sklearn.ensemble", "sklearn.linear_model", "sklearn.pipeline", "sklearn.preprocessing")

_THREADS: ContextVar[int | None] = ContextVar("threads", default=None)

# Distributions whose versions shape the numbers or the report, as report.json names them.
PACKAGES = ("numpy", "scipy", "pandas", "scikit-learn", "torch", "onnx", "onnxruntime", "skops", "weasyprint")


def available_cores() -> int:
    """The cores this process may run on (a container's CPU set, not the host's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def describe_environment(threads: int, device: str) -> dict[str, object]:
    versions: dict[str, object] = {"python": platform.python_version(), "platform": platform.platform()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {**versions, "threads": threads, "device": device}


@contextmanager
def limited_threads(threads: int) -> Iterator[None]:
    """At most ``threads`` OpenMP/BLAS threads for numpy, scipy and scikit-learn while the audit runs.

    On shared CI runners a pool per core oversubscribes: scikit-learn's HistGradientBoosting took 0.4 s
    alone and 215 s under CPU contention with its default threads.
    """
    from threadpoolctl import threadpool_limits

    token = _THREADS.set(threads)
    try:
        with threadpool_limits(limits=threads):
            yield
    finally:
        _THREADS.reset(token)


def thread_budget() -> int:
    """The threads this run may use (``--threads``, else the cores)."""
    return _THREADS.get() or available_cores()


def side_by_side(fit: Callable[[T], R], items: Sequence[T], imports: Sequence[str] = ()) -> list[R]:
    """``fit(item)`` for each item, in order, run side by side on the threads this run may use.

    For independent small fits that each run on one OpenMP thread (``one_openmp_thread``; the limit is
    per thread): scikit-learn's tree code releases the GIL, so two cores fit two models at once
    (measured: 6 HistGradientBoosting fits of 1,600 rows in 6.1 s instead of 8.1 s). The results are
    the same as fitting one after another.

    ``imports``: the modules the fits import lazily, imported here first. Two threads importing the same
    package for the first time can meet in its import cycle and see a half-initialised module (seen:
    ``cannot import name 'clone' from partially initialized module 'sklearn.base'``).
    """
    workers = min(len(items), thread_budget())
    if workers <= 1:
        return [fit(item) for item in items]
    import importlib
    from concurrent.futures import ThreadPoolExecutor

    for module in imports:
        importlib.import_module(module)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fits") as pool:
        return list(pool.map(fit, items))


@contextmanager
def one_openmp_thread() -> Iterator[None]:
    """One OpenMP thread for a small fit (a few thousand rows gain nothing from more).

    OpenMP threads wait for each other by spinning: on busy cores one HistGradientBoosting attack
    model of 6,400 rows took 120 s with two threads and 2 s with one.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield
