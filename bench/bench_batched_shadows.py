"""Benchmark: K MLP shadow models trained as one batched network versus one at a time in a loop.

Issue 3's setting by default: K = 16 models, 600 float features, 100 classes, a pool of 20,000 generated
records, each model trained on its own random 10,000 of them, hidden (128,), 5 epochs, batch 128. Both paths
run the same models (same initial weights, minibatches, steps and Adam), so their accuracies should agree.
Prints wall time, models/s, mean train / held-out accuracy, prediction agreement, and peak RSS.

    python bench/bench_batched_shadows.py [--k 16] [--epochs 5] [--hidden 128] [--device cpu] [--threads N]
    python bench/bench_batched_shadows.py --features 100 --classes 30 --pool 4000 --records 2000 --epochs 100

Measured on 2 AMD EPYC (Zen 1, AVX2) cores, torch 2.13 CPU, idle machine (load < 1): the default setting takes
7.1 s batched and 13.0–14.2 s looped (1.8–2.0×). Both paths do the same 311 GFLOP of matrix multiplies; the
batched one runs them at ~43 GFLOP/s, about 70% of what these two cores can do, so no batching can be much more
than ~2.5× faster than a tight loop at this size: the 600 × 128 first layer makes every model's step big enough
for the loop to run near full speed too. Batching wins more where the loop's per-step overhead dominates (smaller
inputs, more models): 3.6–3.8× at 30–100 features, 30 classes, 1,000–2,000 records. When other processes share
the cores, torch's two intra-op threads stall at every kernel and the loop slows down far more than the batched
path (which steps model groups in Python threads on one torch thread each): 4.4× measured at load ≈ 2.5.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from itertools import pairwise
from pathlib import Path

import numpy as np
import torch

from mia_audit.training.mlp import BatchedMLP, MLPSpec, train_batched_mlp

# The one-model-at-a-time trainer is a test helper, not part of the package.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "training"))
from looped_mlp import train_looped_mlp


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def make_data(
    n: int, n_features: int, n_classes: int, seed: int, centres: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gaussian clusters, one random centre per class, unit noise, standardised.

    The centre scale (0.16 per feature at 600 features, scaled to keep the class separation with fewer or
    more features) gives, at the default sizes, models that overfit the way shadow models should: train
    accuracy ≈ 0.97, held-out ≈ 0.5 after 5 epochs.
    """
    rng = np.random.default_rng(seed)
    if centres is None:
        centres = rng.standard_normal((n_classes, n_features)) * 0.16 * np.sqrt(600 / n_features)
    y = rng.integers(0, n_classes, n)
    X = centres.astype(np.float32)[y]  # float32 throughout, so that the data barely move the peak RSS
    X += rng.standard_normal((n, n_features), dtype=np.float32)
    X -= X.mean(0)
    X /= X.std(0)
    return X, y.astype(np.int64), centres


def accuracies(model: BatchedMLP, X: np.ndarray, y: np.ndarray, masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    pred = model.predict_proba(X).argmax(-1)  # (K, n)
    correct = pred == y
    return np.array([c[m].mean() for c, m in zip(correct, masks, strict=True)]), pred


def training_gflop(spec: MLPSpec, n_features: int, n_classes: int, k: int, records: int) -> float:
    """Matrix-multiply work of training, identical for both paths: forward, weight grads, input grads (not layer 1)."""
    batch = min(spec.batch_size, records)
    steps = spec.epochs * -(-records // batch)
    widths = [n_features, *spec.hidden, n_classes]
    macs = [a * b for a, b in pairwise(widths)]
    return 2 * k * steps * batch * (2 * sum(macs) + sum(macs[1:])) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=16, help="number of models")
    parser.add_argument("--features", type=int, default=600)
    parser.add_argument("--classes", type=int, default=100)
    parser.add_argument("--pool", type=int, default=20_000, help="records in the shared pool")
    parser.add_argument("--records", type=int, default=10_000, help="records per model (a random subset of the pool)")
    parser.add_argument("--hidden", type=int, nargs="*", default=[128], help="hidden widths, e.g. --hidden 256 128")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="torch.set_num_threads for both paths (0: leave)")
    parser.add_argument("--skip-loop", action="store_true", help="time the batched path only")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    X, y, centres = make_data(args.pool, args.features, args.classes, args.seed)
    X_test, y_test, _ = make_data(5_000, args.features, args.classes, args.seed + 1, centres)
    rng = np.random.default_rng(args.seed)
    masks = np.zeros((args.k, args.pool), dtype=bool)
    for mask in masks:
        mask[rng.choice(args.pool, args.records, replace=False)] = True
    spec = MLPSpec(hidden=tuple(args.hidden), epochs=args.epochs, batch_size=args.batch_size)
    print(
        f"K={args.k} models, {args.features} features, {args.classes} classes, {args.records} of {args.pool} records "
        f"each; hidden={spec.hidden}, epochs={spec.epochs}, batch={spec.batch_size}; device={args.device}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.2f}"
    )
    # Warm-up outside the timings: the first torch.optim optimizer in a process pays a one-off import (~2 s).
    train_batched_mlp(X[:64], y[:64], masks[:2, :64] | True, args.classes, MLPSpec(hidden=(4,), epochs=1))
    rss_data = peak_rss_mib()

    paths = [("batched", train_batched_mlp)] + ([] if args.skip_loop else [("looped", train_looped_mlp)])
    trained = []
    for name, train in paths:  # train both first, so each peak RSS reflects training, not evaluation
        start = time.perf_counter()
        model = train(X, y, masks, args.classes, spec, seed=args.seed, device=args.device)
        trained.append((name, model, time.perf_counter() - start, peak_rss_mib()))
    rows = []
    preds = {}
    everyone = np.ones((args.k, len(y_test)), dtype=bool)
    for name, model, seconds, rss in trained:
        train_acc, _ = accuracies(model, X, y, masks)
        test_acc, preds[name] = accuracies(model, X_test, y_test, everyone)
        rows.append((name, seconds, train_acc, test_acc, rss))

    gflop = training_gflop(spec, args.features, args.classes, args.k, args.records)
    columns = ("seconds", 9), ("models/s", 9), ("GFLOP/s", 8), ("train acc", 10), ("test acc", 9), ("peak RSS MiB", 13)
    header = f"{'path':<8}" + "".join(f" {name:>{width}}" for name, width in columns)
    print("\n" + header + "\n" + "-" * len(header))
    for name, seconds, train_acc, test_acc, rss in rows:
        rates = f"{args.k / seconds:9.3f} {gflop / seconds:8.1f}"
        print(f"{name:<8} {seconds:9.2f} {rates} {train_acc.mean():10.4f} {test_acc.mean():9.4f} {rss:13.0f}")
    print(f"(both paths do the same {gflop:.3g} GFLOP of matrix multiplies; GFLOP/s = that / seconds)")
    print(f"(load average now {os.getloadavg()[0]:.2f}: other processes on these cores slow both paths, the loop more)")
    print(f"(peak RSS is the process's high-water mark after each training; {rss_data:.0f} MiB before any training)")
    if len(rows) == 2:
        (_, t_batched, train_b, test_b, _), (_, t_looped, train_l, test_l, _) = rows
        agree = (preds["batched"] == preds["looped"]).mean(axis=1)
        print(
            f"per-model |train acc difference|: max {np.abs(train_b - train_l).max():.4f}; "
            f"|test acc difference|: max {np.abs(test_b - test_l).max():.4f}; "
            f"test predictions agreeing: min {agree.min():.4f}, mean {agree.mean():.4f}"
        )
        print(f"batched is {t_looped / t_batched:.1f}× faster than the loop")


if __name__ == "__main__":
    main()
