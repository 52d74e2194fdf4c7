"""A real dask.distributed LocalCluster for the tests: two worker processes of one thread each, on loopback."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from distributed import LocalCluster


@contextmanager
def local_cluster() -> Iterator[LocalCluster]:
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        host="127.0.0.1",
        silence_logs=logging.ERROR,
    )
    try:
        yield cluster
    finally:
        cluster.close(timeout=20)


CLUSTER_SCRIPT = """
import logging, time
from distributed import LocalCluster
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                       host="127.0.0.1", silence_logs=logging.CRITICAL)
print(cluster.scheduler_address, flush=True)
time.sleep(3600)
"""


@contextmanager
def cluster_process() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """A cluster (scheduler and workers) in a process of its own, to be killed as a whole; its address."""
    process = subprocess.Popen(
        [sys.executable, "-c", CLUSTER_SCRIPT],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        assert process.stdout is not None
        address = process.stdout.readline().strip()
        assert address.startswith("tcp://"), address
        yield process, address
    finally:
        kill_group(process)


def kill_group(process: subprocess.Popen[str]) -> None:
    """SIGKILL the process and its workers (its session)."""
    import signal

    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    time.sleep(0.2)
