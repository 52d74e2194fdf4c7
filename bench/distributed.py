"""Pools on a Dask cluster: the speed-up of 2 workers over 1 on this machine, and models per second on CPU and GPU.

1. **Workers.** One reference-sized pool (``--models`` MLPs 100-128-10 on random halves of ``--records``
   make_classification records, ``--epochs`` epochs each) is trained three ways: here (the local
   backend, torch's model groups on this machine's threads), then on a LocalCluster of 1 and of 2
   single-threaded worker processes. It prints each time (the cluster's start not counted) and the
   speed-up of 2 workers over 1, and checks that the three pools predict the same outputs.
2. **Devices.** The same pool trained here on CPU and, where torch sees a GPU, on CUDA: models per second.
3. ``--audit``: also the bundled sample's default audit, local against dask with 2 workers, wall time
   and the largest AUC difference over the attacks.

    python bench/distributed.py [--records 20000] [--models 16] [--epochs 20] [--audit]

Timings are only meaningful on a quiet machine: run it alone and read the load it prints. On 2 cores the
speed-up of 2 workers is bounded by 2, and the local backend already uses both cores.

Measured on 2026-11-30 (2 cores, load ~0.3; 20,000 records, 16 models, 20 epochs): see the README's
"Pools on a Dask cluster".
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name hides the `distributed`
# package (here and in the worker processes, which inherit sys.path): take the folder out.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402

from mia_audit.training.dask_pool import connect  # noqa: E402
from mia_audit.training.mlp import MLPSpec, train_batched_mlp  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def problem(records: int, models: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification

    X, y = make_classification(records, 100, n_informative=20, n_classes=10, random_state=0)
    rng = np.random.default_rng(0)
    masks = np.zeros((models, records), dtype=bool)
    for k in range(models):
        masks[k, rng.permutation(records)[: records // 2]] = True
    return X.astype(np.float32), y.astype(np.int64), masks


def on_cluster(
    workers: int, X: np.ndarray, y: np.ndarray, masks: np.ndarray, spec: MLPSpec
) -> tuple[float, np.ndarray]:
    from distributed import LocalCluster

    with LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
    ) as cluster:
        backend = connect(cluster.scheduler_address)
        try:
            backend.client.run(lambda: __import__("torch").zeros(1))  # workers import torch before the clock
            start = time.perf_counter()
            net = backend.batched_mlps(X, y, masks, 10, spec, seed=0, device="cpu")
            probs = net.predict_proba(X[:2000])
            return time.perf_counter() - start, probs
        finally:
            backend.close()


def here(X: np.ndarray, y: np.ndarray, masks: np.ndarray, spec: MLPSpec, device: str) -> tuple[float, np.ndarray]:
    start = time.perf_counter()
    net = train_batched_mlp(X, y, masks, 10, spec, seed=0, device=device)
    probs = net.predict_proba(X[:2000])
    return time.perf_counter() - start, probs


def audit_pair() -> None:
    """The bundled sample's default audit, local and on 2 dask workers (a cluster started for the run): wall
    times and the largest AUC difference."""
    model, data = ROOT / "sample_models" / "mlp_leaky.onnx", ROOT / "sample_models" / "sample_audit.csv"
    reports = {}
    for name, extra in (("local", []), ("dask", ["--backend", "dask"])):
        out = Path(f"/tmp/mia-distributed-{name}")
        command = [str(Path(sys.executable).with_name("mia-audit")), "scan", str(model), "--data", str(data)]
        start = time.perf_counter()
        done = subprocess.run([*command, "--out", str(out), "--format", "json", "-q", *extra], capture_output=True)
        print(f"audit, {name}: {time.perf_counter() - start:.1f} s (exit {done.returncode})", flush=True)
        reports[name] = {a["id"]: a["auc"] for a in json.loads((out / "report.json").read_text())["attacks"]}
    gap = max(abs(reports["local"][k] - reports["dask"][k]) for k in reports["local"])
    print(f"largest AUC difference over {len(reports['local'])} attacks: {gap:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--models", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--audit", action="store_true")
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}, cores: {os.cpu_count()}", flush=True)
    X, y, masks = problem(args.records, args.models)
    spec = MLPSpec(hidden=(128,), epochs=args.epochs, batch_size=128, lr=1e-3)
    print(f"{args.models} MLPs 100-128-10, {args.records // 2} records each, {args.epochs} epochs", flush=True)

    local_s, reference = here(X, y, masks, spec, "cpu")
    print(f"local backend:      {local_s:6.1f} s  ({args.models / local_s:.2f} models/s on CPU)", flush=True)
    times = {}
    for workers in (1, 2):
        took, probs = on_cluster(workers, X, y, masks, spec)
        times[workers] = took
        gap = float(np.abs(probs - reference).max())
        print(f"dask, {workers} worker(s):  {took:6.1f} s  (largest output difference from local: {gap:.1e})")
    print(f"speed-up of 2 workers over 1: {times[1] / times[2]:.2f}x", flush=True)

    import torch

    if torch.cuda.is_available():
        here(X[:1000], y[:1000], masks[:2, :1000], spec, "cuda")  # the first CUDA call initialises the device
        took, probs = here(X, y, masks, spec, "cuda")
        gap = float(np.abs(probs - reference).max())
        print(f"GPU ({torch.cuda.get_device_name()}): {took:6.1f} s  ({args.models / took:.2f} models/s); "
              f"largest output difference from CPU: {gap:.1e}")  # fmt: skip
    else:
        print("GPU: none here (torch.cuda.is_available() is False); run this on a GPU machine for its line")
    if args.audit:
        audit_pair()


if __name__ == "__main__":
    main()
