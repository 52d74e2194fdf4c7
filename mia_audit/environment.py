"""What the numbers of a run depend on besides its inputs and seed: the versions, the threads, the device."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata

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

    with threadpool_limits(limits=threads):
        yield


@contextmanager
def one_openmp_thread() -> Iterator[None]:
    """One OpenMP thread for a small fit (a few thousand rows gain nothing from more).

    OpenMP threads wait for each other by spinning: on busy cores one HistGradientBoosting attack
    model of 6,400 rows took 120 s with two threads and 2 s with one.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="openmp"):
        yield
