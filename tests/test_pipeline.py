"""The GitHub Action: action.yml's inputs and outputs meet its scan step (mia_audit.pipeline), and its script
steps, run here as the runner would run them (without GitHub), write the outputs file and the job summary."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from mia_audit import pipeline

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text())
STEPS = {step.get("id") or step.get("name") or step.get("uses"): step for step in ACTION["runs"]["steps"]}
SCAN = STEPS["scan"]
SAMPLE = ROOT / "sample_models"


def _inputs(**given: str) -> dict[str, str]:
    values = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    return {**values, **given}


def _substitute(text: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    """``${{ inputs.x }}`` and ``${{ steps.scan.outputs.y }}`` as the runner fills them in."""
    text = re.sub(r"\$\{\{\s*inputs\.([\w-]+)\s*\}\}", lambda m: inputs[m[1]], text)
    return re.sub(r"\$\{\{\s*steps\.scan\.outputs\.([\w-]+)\s*\}\}", lambda m: outputs.get(m[1], ""), text)


def _read_outputs(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line)


def _run_scan_step(tmp_path: Path, **given: str) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    inputs = _inputs(out=str(tmp_path / "report"), **given)
    env = {key: _substitute(str(value), inputs, {}) for key, value in SCAN["env"].items()}
    github = {"GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    for path in github.values():
        Path(path).touch()
    done = subprocess.run(
        ["bash", "-c", SCAN["run"]], env={**os.environ, **env, **github}, cwd=tmp_path, capture_output=True, text=True
    )
    return done, _read_outputs(tmp_path / "output"), (tmp_path / "summary").read_text(encoding="utf-8")


def test_every_input_reaches_the_scan_step_and_every_output_comes_from_it() -> None:
    used_elsewhere = {"python-version", "torch-version", "artifact-name"}
    passed = {f"INPUT_{name.upper().replace('-', '_')}" for name in ACTION["inputs"] if name not in used_elsewhere}
    assert set(SCAN["env"]) == passed
    for key, value in SCAN["env"].items():
        name = re.fullmatch(r"\$\{\{ inputs\.([\w-]+) \}\}", value)
        assert name and pipeline.read_input({key: "x"}, name[1]) == "x", key
    readable = {"model", "args", "out", "formats", *pipeline.OPTION_INPUTS}
    assert {name for name in ACTION["inputs"] if name not in used_elsewhere} == readable
    for name, spec in ACTION["outputs"].items():
        assert spec["value"] == f"${{{{ steps.scan.outputs.{name} }}}}"
    assert set(ACTION["outputs"]) == set(pipeline.OUTPUTS)
    assert "download.pytorch.org/whl/cpu" in STEPS["Install mia-audit (CPU torch)"]["run"]
    pango = STEPS["Install Pango for the PDF report (Linux)"]
    assert "libpango-1.0-0" in pango["run"] and "contains(inputs.formats, 'pdf')" in pango["if"]


def test_the_scan_and_gate_steps_on_the_leaky_sample(tmp_path: Path) -> None:
    done, outputs, summary = _run_scan_step(
        tmp_path,
        model=str(SAMPLE / "mlp_leaky.onnx"),
        data=str(SAMPLE / "sample_audit.csv"),
        profile="quick",
        formats="json",
        **{"max-auc": "0.6"},
        args="--seed 3 --attacks threshold --meta ticket=DPIA-17",
    )
    assert done.returncode == 0, done.stderr  # the scan ran: the artifact is uploaded before the gate step
    assert outputs["exit-code"] == "1" and outputs["gate-passed"] == "false"  # the AUC is above 0.6
    report = Path(outputs["report-path"])
    written = json.loads((report / "report.json").read_text())
    assert outputs["risk-level"] == written["risk"]["level"] != "low"
    assert outputs["strongest-attack"] == written["risk"]["strongest_attack"]
    assert sorted(p.name for p in report.iterdir()) == ["report.json", "summary.md"]  # json and markdown added
    assert summary == (report / "summary.md").read_text(encoding="utf-8")
    assert "**Gate: ❌ FAILED**" in summary and "seed 3" in summary
    assert re.search(r"threshold\.loss: AUC 0\.\d{3} &gt; max 0\.600", summary)
    assert f"`{outputs['strongest-attack']}`** (strongest)" in summary
    gate = STEPS["Gate"]
    env = {k: _substitute(v, {}, outputs) for k, v in gate["env"].items()}
    failed = subprocess.run(["bash", "-c", gate["run"]], env={**os.environ, **env}, capture_output=True, text=True)
    assert failed.returncode == 1 and "the gate failed" in failed.stdout


def test_a_scan_that_cannot_run_fails_the_step_and_says_why(tmp_path: Path) -> None:
    done, outputs, summary = _run_scan_step(
        tmp_path, model=str(SAMPLE / "mlp_leaky.onnx"), data=str(tmp_path / "missing.csv"), profile="quick"
    )
    assert done.returncode == 2
    assert outputs["exit-code"] == "2" and "risk-level" not in outputs
    assert summary.startswith("## ⚠️ mia-audit could not run") and "missing.csv" in summary


def test_without_a_model_input_the_step_says_so() -> None:
    with pytest.raises(ValueError, match="input 'model' is required"):
        pipeline.scan_command({})
    for args, name in (("--out elsewhere", "out"), ("--seed 1 --format=json", "formats")):
        with pytest.raises(ValueError, match=f"as the input '{name}', not in 'args'"):
            pipeline.scan_command({"INPUT_MODEL": "m.onnx", "INPUT_ARGS": args})


def test_python_m_mia_audit_is_the_cli() -> None:
    done = subprocess.run([sys.executable, "-m", "mia_audit", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("mia-audit ")


GITLAB = yaml.safe_load((ROOT / "integrations" / "gitlab" / "mia-audit.gitlab-ci.yml").read_text())[".mia-audit"]


def test_the_gitlab_template_gates_reports_and_comments(tmp_path: Path) -> None:
    """The template's script, without its installs (apt, pip), in a merge-request pipeline whose API is a
    real HTTP server on loopback: the dotenv outputs, the JUnit report, the failed gate, the comment."""
    import http.server
    import threading

    posted: list[tuple[str, dict[str, str], bytes]] = []

    class Notes(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            posted.append((self.path, {"token": str(self.headers.get("PRIVATE-TOKEN"))}, body))
            self.send_response(201)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Notes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    variables = {k: str(v) for k, v in GITLAB["variables"].items()}
    variables |= {
        "MIA_AUDIT_MODEL": str(SAMPLE / "mlp_leaky.onnx"),
        "MIA_AUDIT_DATA": str(SAMPLE / "sample_audit.csv"),
        "MIA_AUDIT_PROFILE": "quick",
        "MIA_AUDIT_ARGS": "--attacks threshold",
        "MIA_AUDIT_FORMATS": "json",
        "MIA_AUDIT_MAX_AUC": "0.6",
        "MIA_AUDIT_GITLAB_TOKEN": "glpat-test",
        "CI_API_V4_URL": f"http://127.0.0.1:{server.server_port}/api/v4",
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "7",
    }
    script = [line for line in GITLAB["script"] if "pip install" not in line and "apt-get" not in line]
    try:
        done = subprocess.run(
            ["bash", "-ec", "\n".join(script)],
            env={**os.environ, **variables},
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
    finally:
        server.shutdown()
    assert done.returncode == 1, done.stderr  # the leaky sample's AUC is above 0.6: the job fails
    dotenv = _read_outputs(tmp_path / "mia-audit.env")
    assert dotenv["MIA_AUDIT_EXIT_CODE"] == "1" and dotenv["MIA_AUDIT_GATE_PASSED"] == "false"
    report = tmp_path / dotenv["MIA_AUDIT_REPORT_PATH"]
    assert (report / "junit.xml").exists() and (report / "summary.md").exists()
    assert GITLAB["artifacts"]["reports"] == {"junit": "$MIA_AUDIT_OUT/junit.xml", "dotenv": "mia-audit.env"}
    ((path, headers, body),) = posted
    assert path == "/api/v4/projects/42/merge_requests/7/notes" and headers["token"] == "glpat-test"
    assert json.loads(body)["body"] == (report / "summary.md").read_text(encoding="utf-8")


def test_a_comment_that_cannot_be_posted_is_a_warning() -> None:
    env = {"MIA_AUDIT_GITLAB_TOKEN": "t", "CI_API_V4_URL": "http://127.0.0.1:9/api/v4", "CI_PROJECT_ID": "1"}
    assert not pipeline.comment_on_merge_request({**env, "CI_MERGE_REQUEST_IID": "3"}, "body")
    assert not pipeline.comment_on_merge_request(env, "body")  # not a merge-request pipeline: nothing to do
