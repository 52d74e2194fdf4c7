"""What each measured defence does on the bench targets: residual risk, best attack, utility, seconds.

Runs ``mia-audit scan --defences all`` on the Location-like target of bench/bench_reference.py (446
binary features, 30 classes, an overfitted torch MLP exported to ONNX, 1,000 members / 1,000
holdout) and on the bundled leaky sample MLP, and prints one row per defence. Issue 16's checks:
behind label-only release the boundary attack still shows its risk, and the DP-SGD ε = 1 proxy pulls
the best AUC toward 0.5.

    python bench/defences_check.py [--work /tmp/mia-reference-location] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench_reference import build, prepared

SAMPLES = Path(__file__).resolve().parents[1] / "sample_models"


def scan(args: list[str], out: Path) -> tuple[float, dict[str, object]]:
    command = [str(Path(sys.executable).with_name("mia-audit")), "scan", *args, "--out", str(out)]
    command += ["--format", "json", "--defences", "all"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode not in (0, 1):
        raise SystemExit(f"scan failed ({done.returncode}): {done.stderr.strip()[-400:]}")
    return time.perf_counter() - start, json.loads((out / "report.json").read_text())


def show(name: str, took: float, report: dict) -> None:
    realistic = [a for a in report["attacks"] if a["id"] != "supervised"]
    best = max(realistic, key=lambda a: (a["tpr_at_fpr"]["0.01"] or 0, a["auc"]))
    print(f"\n{name}: {took:.0f} s; as released: {report['risk']['level']}, best {best['id']} AUC {best['auc']:.3f}, "
          f"TPR@1% {best['tpr_at_fpr']['0.01']:.3f}")  # fmt: skip
    print(f"{'defence':26s} {'risk':12s} {'best attack':22s} {'AUC':>6s} {'TPR@1%':>7s} {'acc':>6s} {'Δacc':>6s} "
          f"{'Δlogloss':>8s} {'s':>5s}")  # fmt: skip
    for d in report["defences"]:
        b = max(d["attacks"], key=lambda a: (a["tpr_at_fpr"]["0.01"] or 0, a["auc"]))
        u = d["utility"]
        print(f"{d['id']:26s} {d['risk_level']:12s} {b['id']:22s} {b['auc']:6.3f} {b['tpr_at_fpr']['0.01'] or 0:7.3f} "
              f"{u['test_accuracy']:6.3f} {u['accuracy_change']:+6.3f} {u['log_loss_change']:+8.2f} "
              f"{d['duration_s']:5.1f}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--work", type=Path, default=Path("/tmp/mia-reference-location"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    ready = (args.work / "mlp.onnx").exists() and (args.work / "population.csv").exists()
    files, _, _ = prepared(args.work) if ready else build(Path("unused"), args.work, "location")
    location = [str(files["model"]), "--members", str(files["members"]), "--holdout", str(files["holdout"])]
    location += ["--population", str(files["population"]), "--seed", str(args.seed)]
    sample = [str(SAMPLES / "mlp_leaky.onnx"), "--data", str(SAMPLES / "sample_audit.csv"), "--seed", str(args.seed)]
    for name, scan_args in (("Location-like MLP, 30 classes", location), ("bundled sample MLP", sample)):
        took, report = scan(scan_args, args.work / "defences" / name.split()[0].lower())
        show(name, took, report)
    print(f"\nload after: {os.getloadavg()[0]:.2f}", flush=True)


if __name__ == "__main__":
    main()
