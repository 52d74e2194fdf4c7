"""The scan step of the GitHub Action (``action.yml``) and the GitLab CI template: ``python -m mia_audit.pipeline``.

Reads the step's inputs from ``INPUT_*`` environment variables (as GitHub passes an action's inputs),
runs ``mia-audit scan`` with them, and hands the result to the pipeline:

* the outputs ``risk-level``, ``gate-passed``, ``strongest-attack``, ``report-path`` and ``exit-code``,
  appended to ``$GITHUB_OUTPUT`` (GitHub) and, with ``MIA_AUDIT_DOTENV``, to that file as
  ``MIA_AUDIT_RISK_LEVEL=…`` lines (GitLab's ``artifacts:reports:dotenv``);
* ``summary.md`` appended to ``$GITHUB_STEP_SUMMARY``, or the error when the scan could not run;
* in a GitLab merge-request pipeline with ``MIA_AUDIT_GITLAB_TOKEN`` set (a token that may write
  notes), ``summary.md`` posted as a comment on the merge request.

It always exits 0 when the scan ran, so that the report can be uploaded whatever the verdict; the
action's last step then exits with ``exit-code`` (1 when the gate failed). A scan that could not run
(exit 2 or 3) exits with its code at once.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# The action's inputs that become scan options (input name -> flag); "args" adds any others.
OPTION_INPUTS = {
    "data": "--data",
    "members": "--members",
    "holdout": "--holdout",
    "population": "--population",
    "profile": "--profile",
    "fail-on": "--fail-on",
    "max-auc": "--max-auc",
}
NEEDED_FORMATS = ("json", "markdown")  # the outputs read report.json; the job summary is summary.md
DEFAULT_FORMATS = "json,html,pdf,markdown"
OUTPUTS = ("risk-level", "gate-passed", "strongest-attack", "report-path", "exit-code")


def read_input(env: Mapping[str, str], name: str) -> str:
    """An input, from ``INPUT_<NAME>`` with the name in upper case and its dashes as underscores
    (``fail-on`` is ``INPUT_FAIL_ON``; action.yml passes each input so)."""
    return env.get(f"INPUT_{name.upper().replace('-', '_')}", "").strip()


def scan_command(env: Mapping[str, str]) -> tuple[list[str], Path]:
    """The ``mia-audit scan`` command line the inputs describe, and the report folder."""
    model = read_input(env, "model")
    if not model:
        raise ValueError("the action's input 'model' is required: the model file to audit")
    out = Path(read_input(env, "out") or "mia-audit-report")
    formats = [f for f in (read_input(env, "formats") or DEFAULT_FORMATS).replace(" ", "").split(",") if f]
    formats += [f for f in NEEDED_FORMATS if f not in formats]
    command = [sys.executable, "-m", "mia_audit", "scan", model, "--out", str(out), "--format", ",".join(formats)]
    for name, flag in OPTION_INPUTS.items():
        value = read_input(env, name)
        if value:
            command += [flag, value]
    extra = shlex.split(read_input(env, "args"))
    for flag, name in (("--out", "out"), ("--format", "formats")):
        if any(arg == flag or arg.startswith(flag + "=") for arg in extra):
            raise ValueError(f"give {flag} as the input '{name}', not in 'args' (the step reads the reports there)")
    return command + extra, out


def outputs_of(report: Path, exit_code: int, out: Path) -> dict[str, str]:
    """The step's outputs, read from report.json (only ``exit-code`` when the scan wrote none)."""
    values = {"exit-code": str(exit_code), "report-path": str(out)}
    if exit_code not in (0, 1) or not report.exists():
        return values
    result = json.loads(report.read_text(encoding="utf-8"))
    risk, gate = result["risk"], result["gate"]
    values["risk-level"] = str(risk["level"])
    values["gate-passed"] = "true" if (not gate["configured"] or gate["passed"]) else "false"
    values["strongest-attack"] = str(risk.get("strongest_attack") or "")
    return values


def _append(path: str | None, text: str) -> None:
    if path:
        with open(path, "a", encoding="utf-8") as handle:
            handle.write(text)


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    try:
        command, out = scan_command(env)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print("$ " + shlex.join(["mia-audit", *command[3:]]), flush=True)
    code, last = _run_streaming(command)
    values = outputs_of(out / "report.json", code, out)
    _append(env.get("GITHUB_OUTPUT"), "".join(f"{k}={v}\n" for k, v in values.items()))
    dotenv = "".join(f"MIA_AUDIT_{k.upper().replace('-', '_')}={v}\n" for k, v in values.items())
    _append(env.get("MIA_AUDIT_DOTENV"), dotenv)
    summary = out / "summary.md"
    if code in (0, 1) and summary.exists():
        text = summary.read_text(encoding="utf-8")
        _append(env.get("GITHUB_STEP_SUMMARY"), text)
        comment_on_merge_request(env, text)
        return 0
    said = last or f"mia-audit exited with {code}"
    _append(env.get("GITHUB_STEP_SUMMARY"), f"## ⚠️ mia-audit could not run\n\n```\n{said}\n```\n")
    return code if code not in (0, 1) else 2


def _run_streaming(command: list[str]) -> tuple[int, str]:
    """Run the scan with its messages passed to the log as they come (a long audit shows its progress, and a
    job cancelled part way keeps what it printed); its exit code and its last message line."""
    last = ""
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True, bufsize=1) as process:
        assert process.stderr is not None
        for line in process.stderr:
            sys.stderr.write(line)
            sys.stderr.flush()
            last = line.strip() or last
    return process.returncode, last


def comment_on_merge_request(env: Mapping[str, str], body: str) -> bool:
    """Post ``body`` as a note on the merge request of a GitLab pipeline (``CI_API_V4_URL``,
    ``CI_PROJECT_ID``, ``CI_MERGE_REQUEST_IID``) when ``MIA_AUDIT_GITLAB_TOKEN`` is set. A comment that
    cannot be posted is a warning, never a failed job: the gate is the verdict."""
    import urllib.error
    import urllib.request

    token, api = env.get("MIA_AUDIT_GITLAB_TOKEN"), env.get("CI_API_V4_URL")
    project, merge_request = env.get("CI_PROJECT_ID"), env.get("CI_MERGE_REQUEST_IID")
    if not (token and api and project and merge_request):
        return False
    request = urllib.request.Request(
        f"{api.rstrip('/')}/projects/{project}/merge_requests/{merge_request}/notes",
        data=json.dumps({"body": body}).encode("utf-8"),
        headers={"PRIVATE-TOKEN": token, "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30):
            return True
    except (urllib.error.URLError, OSError) as exc:
        print(f"warning: could not comment on merge request !{merge_request}: {exc}", file=sys.stderr)
        return False


if __name__ == "__main__":
    raise SystemExit(main())
