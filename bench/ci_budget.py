"""Does an audit fit a CI budget? The default and quick audits against an independent 8-model LiRA.

Issue 15's yardstick, on the Location-like target of bench/bench_reference.py (446 binary features,
30 classes, 1,000 members / 1,000 holdout / 3,010 population, an overfitted torch MLP exported to
ONNX), all in one process run so that the three timings share the machine's load:

1. an independent offline LiRA: 8 scikit-learn MLPClassifier(128) reference models trained one at a
   time on random halves of the population, one global variance (bench_reference.independent_lira);
2. ``mia-audit scan`` with the default (standard) profile, reports included (JSON, HTML, PDF), as a
   user runs it;
3. ``mia-audit scan --profile quick``.

It prints each wall time, the ratios to the LiRA, and the best realistic attack's TPR at 1% FPR of
each profile (the quick profile should keep at least 70% of the standard one's).

    python bench/ci_budget.py [--work /tmp/mia-reference-location] [--seed 0]

Timings are only meaningful on a quiet machine: run it alone and read the load it prints.

Measured on 2026-11-30, 2 cores, seed 0: LiRA 28.7 s (AUC 0.905, TPR at 1% FPR 0.297); default audit
with reports 102.4 s = 3.57x (best TPR at 1% FPR 0.632, stacked); --profile quick 18.2 s = 0.63x
(0.589, rmia: 93% of the standard profile's). Later that day, with the boundary attack on the shadow
pool and the 12-page report: LiRA 23.4 s, default audit 39.3 s = 1.68x, quick 8.6 s = 0.37x (other
runs: 1.98x / 0.47x and 2.05x / 0.49x). With Adam's fused kernel called directly, the transfer corpus
shipped and attack-model fits on both cores: 1.58x-1.74x (LiRA 17.0-21.7 s). With the six output
defences measured by default (issue 16): LiRA 22.1 s / 23.8 s, default audit 60.5 s / 62.9 s =
2.74x / 2.64x (19 s of the audit are the defences), quick 0.40x / 0.36x; with the defences side by side:
LiRA 24.0 s / 25.8 s, default audit 65.2 s / 53.1 s = 2.71x / 2.06x, quick 0.43x / 0.35x.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from bench_reference import build, independent_lira, prepared, target_probs


def scan(files: dict[str, Path], out: Path, *extra: str) -> tuple[float, dict[str, object]]:
    """One ``mia-audit scan`` as a user runs it: its wall time and its report.json."""
    command = [
        str(Path(sys.executable).with_name("mia-audit")), "scan", str(files["model"]),
        "--members", str(files["members"]), "--holdout", str(files["holdout"]),
        "--population", str(files["population"]), "--out", str(out), *extra,
    ]  # fmt: skip
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"scan failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return took, json.loads((out / "report.json").read_text())


def best_realistic(report: dict[str, object]) -> tuple[str, float]:
    """The attack with the best TPR at 1% FPR, the auditor-only (supervised) attack left out."""
    attacks = [a for a in report["attacks"] if a["family"] != "supervised"]  # type: ignore[attr-defined, index]
    best = max(attacks, key=lambda a: a["tpr_at_fpr"]["0.01"] or 0.0)
    return best["id"], float(best["tpr_at_fpr"]["0.01"] or 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/mia-reference-location"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    ready = (args.work / "mlp.onnx").exists() and (args.work / "population.csv").exists()
    files, frame, n_classes = prepared(args.work) if ready else build(Path("unused"), args.work, "location")
    X = frame.drop(columns="label").to_numpy(dtype=np.float64)
    y = frame["label"].to_numpy()
    member = np.zeros(len(frame), dtype=bool)
    member[:1000] = True
    lira = independent_lira(X, y, target_probs(files["model"], frame), member, n_classes, args.seed)
    standard_s, standard = scan(files, args.work / "standard", "--seed", str(args.seed))
    quick_s, quick = scan(files, args.work / "quick", "--seed", str(args.seed), "--profile", "quick")
    print(f"independent 8-model LiRA {lira:6.1f} s")
    for name, took, report in (("default audit, reports", standard_s, standard), ("--profile quick", quick_s, quick)):
        attack, tpr = best_realistic(report)
        print(f"{name:<24} {took:6.1f} s = {took / lira:.2f} x the LiRA; best TPR@1% {tpr:.3f} ({attack})")
    print(f"quick keeps {best_realistic(quick)[1] / max(best_realistic(standard)[1], 1e-9):.0%} of the standard TPR@1%")
    print(f"load after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
