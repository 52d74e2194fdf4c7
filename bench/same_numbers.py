"""Refactors keep numbers: audit fixed targets, save report.json, and compare two such runs.

    python bench/same_numbers.py run OUT_DIR [--location]   # scan the bundled samples (and the location target)
    python bench/same_numbers.py compare BEFORE_DIR AFTER_DIR

``run`` goes through the command line only (``mia-audit scan ... --format json``), so the same script
measures the code before and after a refactor. ``compare`` walks both report.json files and prints every
value that differs, leaving out what is expected to change between runs: timings, dates, the command
line, the environment and the tool version. It exits 1 when a number differs.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

SECONDS = re.compile(r"\d+(?:\.\d+)? s\b")  # durations quoted in notes ("trained in 8.8 s")
ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_models"
TARGETS = {
    "mlp_leaky_onnx": [str(SAMPLES / "mlp_leaky.onnx"), "--data", str(SAMPLES / "sample_audit.csv")],
    "mlp_leaky_skops": [str(SAMPLES / "mlp_leaky.skops"), "--data", str(SAMPLES / "sample_audit.csv")],
    "logreg_skops": [str(SAMPLES / "logreg_regularised.skops"), "--data", str(SAMPLES / "sample_audit.csv")],
}
# Keys whose values differ from run to run by nature.
VOLATILE = {"duration_s", "started_at", "command", "environment", "version", "path", "file", "config_source"}


def run(out: Path, location: bool) -> None:
    targets = dict(TARGETS)
    if location:
        sys.path.insert(0, str(ROOT / "bench"))
        from bench_reference import build

        files, _, _ = build(Path("unused"), Path("/tmp/mia-reference-location"), "location")
        targets["location"] = [
            str(files["model"]),
            "--members", str(files["members"]),
            "--holdout", str(files["holdout"]),
            "--population", str(files["population"]),
        ]  # fmt: skip
    for name, args in targets.items():
        folder = out / name
        command = ["mia-audit", "scan", *args, "--out", str(folder), "--format", "json", "--quiet"]
        print(name, flush=True)
        subprocess.run(command, check=False, cwd="/tmp")


def differences(before: Any, after: Any, where: str = "") -> list[str]:
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in sorted(set(before) | set(after)):
            if key in VOLATILE:
                continue
            if key not in before or key not in after:
                found.append(f"{where}.{key}: only in {'after' if key in after else 'before'}")
                continue
            found += differences(before[key], after[key], f"{where}.{key}")
        return found
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            return [f"{where}: {len(before)} items before, {len(after)} after"]
        pairs = enumerate(zip(before, after, strict=True))
        return [d for i, (b, a) in pairs for d in differences(b, a, f"{where}[{i}]")]
    if isinstance(before, float) and isinstance(after, float) and math.isclose(before, after, abs_tol=1e-12):
        return []
    if isinstance(before, str) and isinstance(after, str):
        before, after = SECONDS.sub("N s", before), SECONDS.sub("N s", after)
    return [] if before == after else [f"{where}: {before!r} -> {after!r}"]


def compare(before: Path, after: Path) -> int:
    failed = 0
    for report in sorted(before.glob("*/report.json")):
        other = after / report.parent.name / "report.json"
        if not other.exists():
            print(f"{report.parent.name}: no report after")
            failed = 1
            continue
        found = differences(json.loads(report.read_text()), json.loads(other.read_text()))
        print(f"{report.parent.name}: {'same numbers' if not found else f'{len(found)} differences'}")
        for line in found[:40]:
            print("   ", line)
        failed |= bool(found)
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("out", type=Path)
    r.add_argument("--location", action="store_true", help="also the Location-like bench target (about 2 minutes)")
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = parser.parse_args()
    if args.command == "run":
        run(args.out.resolve(), args.location)
    else:
        sys.exit(compare(args.before, args.after))


if __name__ == "__main__":
    main()
