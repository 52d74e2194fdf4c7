"""How does an audit grow with the records? Time and peak memory per stage at 10k, 100k and 1M records.

Each case is ``make_classification`` (200 features, 20 classes, 12 informative, seed 0) split into
members, holdout and population of equal size (``--records`` is the audit size: members + holdout),
and a target MLP (200-256-20, torch, trained 20 epochs on the members, exported to ONNX). The default
audit (``--profile`` standard unless given; reports off, they are measured elsewhere) runs in this
process; each stage of the audit's progress (loading, the one query, properties, every attack) is
timed, and the process's peak resident memory is sampled every 50 ms while it runs.

    python bench/scale.py [--records 10000,100000,1000000] [--profile quick|standard|thorough]
                          [--format csv|parquet] [--work /tmp/mia-scale]

Timings are only meaningful on a quiet machine: run it alone and read the load it prints.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

N_FEATURES, N_CLASSES = 200, 20


def build(work: Path, n_audit: int, fmt: str) -> tuple[Path, dict[str, Path]]:
    """The target and its three files (``fmt``: csv or parquet) for ``n_audit`` audit records (and half as
    many population records)."""
    folder = work / f"n{n_audit}"
    files = {role: folder / f"{role}.{fmt}" for role in ("members", "holdout", "population")}
    model = folder / "mlp.onnx"
    if model.exists() and all(p.exists() for p in files.values()):
        return model, files
    folder.mkdir(parents=True, exist_ok=True)
    from sklearn.datasets import make_classification

    half = n_audit // 2
    X, y = make_classification(
        n_samples=3 * half, n_features=N_FEATURES, n_informative=12, n_classes=N_CLASSES, random_state=0
    )
    X = X.astype(np.float32)
    for i, role in enumerate(files):
        part = pd.DataFrame(X[i * half : (i + 1) * half], columns=[f"x{j}" for j in range(N_FEATURES)])
        part = part.assign(label=y[i * half : (i + 1) * half])
        if fmt == "csv":
            part.to_csv(files[role], index=False, float_format="%.6g")
        else:
            part.to_parquet(files[role], index=False)
        del part
    if not model.exists():
        _train_target(X[:half], y[:half], model)
    return model, files


def _train_target(X: np.ndarray, y: np.ndarray, path: Path) -> None:
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(N_FEATURES, 256), torch.nn.ReLU(), torch.nn.Linear(256, N_CLASSES))
    optimizer = torch.optim.Adam(net.parameters(), 1e-3)
    X_t, y_t = torch.from_numpy(X), torch.from_numpy(y)
    for _ in range(20):
        for batch in torch.randperm(len(X)).split(128):
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(net(X_t[batch]), y_t[batch]).backward()
            optimizer.step()
    full = torch.nn.Sequential(net, torch.nn.Softmax(dim=1)).eval()
    torch.onnx.export(
        full, (X_t[:2],), str(path), dynamo=False, input_names=["x"], output_names=["probabilities"],
        dynamic_axes={"x": {0: "n"}, "probabilities": {0: "n"}},
    )  # fmt: skip


class PeakMemory:
    """The process's resident memory, sampled every 50 ms; ``take()`` returns the peak since the last take."""

    def __init__(self) -> None:
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    @staticmethod
    def rss() -> int:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    def _watch(self) -> None:
        while not self._stop.wait(0.05):
            self._peak = max(self._peak, self.rss())

    def take(self) -> int:
        peak, self._peak = max(self._peak, self.rss()), self.rss()
        return peak

    def stop(self) -> None:
        self._stop.set()


def audit_case(model: Path, files: dict[str, Path], profile: str, live: bool = False) -> list[tuple[str, float, int]]:
    from mia_audit.audit import AuditConfig, audit
    from mia_audit.data.records import DataSpec

    memory = PeakMemory()
    stages: list[tuple[str, float, int]] = []

    @contextlib.contextmanager
    def step(name: str) -> Iterator[None]:
        memory.take()
        start = time.perf_counter()
        yield
        stages.append((name, time.perf_counter() - start, memory.take()))
        if live:
            print(f"  {stages[-1][1]:8.1f} s  {stages[-1][2] / 2**30:6.2f} GiB  {name}", flush=True)

    spec = DataSpec(members=files["members"], holdout=files["holdout"], population=files["population"])
    try:
        audit(model, spec, AuditConfig(profile=profile), step=step)
    finally:
        memory.stop()
    return stages


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", default="10000,100000")
    parser.add_argument("--profile", default="standard")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mia-scale"))
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv", help="the audit files' format")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}; profile {args.profile}", flush=True)
    for n in (int(v) for v in args.records.split(",")):
        model, files = build(args.work, n, args.format)
        start = time.perf_counter()
        stages = audit_case(model, files, args.profile, live=True)
        total = time.perf_counter() - start
        print(f"\n{n:,} audit records (+{n // 2:,} population), {total:.1f} s in all", flush=True)
        for name, seconds, peak in stages:
            print(f"  {seconds:8.1f} s  {peak / 2**30:6.2f} GiB  {name}")
        print(f"load after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
