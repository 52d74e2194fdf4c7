"""`mia-audit attacks` stays instant: listing the attacks loads none of the heavy libraries.

A deterministic stand-in for "returns in under a second": the command runs in a fresh interpreter
(so that nothing the test session imported hides an import), and reports which heavy modules ended
up in ``sys.modules``. pandas, scipy, scikit-learn and torch each take from a few tenths of a second
to several seconds to import; the attack list needs none of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mia_audit.attacks.registry import attack_ids

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("pandas", "scipy", "sklearn", "torch", "onnxruntime", "onnx", "skops", "matplotlib", "weasyprint")

SCRIPT = f"""
import contextlib, io, json, sys
from mia_audit.cli import main

sys.argv = ["mia-audit", "attacks"]
out = io.StringIO()
code = 0
with contextlib.redirect_stdout(out):
    try:
        main()
    except SystemExit as stop:
        code = stop.code
heavy = sorted(m for m in {HEAVY!r} if m in sys.modules)
ours = sorted(m for m in sys.modules if m.startswith("mia_audit"))
print(json.dumps({{"code": code, "stdout": out.getvalue(), "heavy": heavy, "ours": ours}}))
"""


def _run_attacks_command() -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_listing_the_attacks_imports_no_heavy_module() -> None:
    report = _run_attacks_command()
    assert report["code"] in (0, None), report
    listed = str(report["stdout"])
    missing = [i for i in attack_ids() if i not in listed]
    assert not missing, f"`mia-audit attacks` did not list {missing}:\n{listed}"
    # On failure, `python -X importtime -c "..."` shows which of these modules pulls the heavy one in.
    assert report["heavy"] == [], f"heavy modules {report['heavy']} imported by {report['ours']}"
