"""``--backend dask`` through the CLI on a real LocalCluster: the same numbers as a local run, and every way
the cluster can fail is exit 2 with one line and no report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dask
import pytest
from cli_checks import one_line_error
from dask_cluster import cluster_process, kill_group
from distributed import LocalCluster
from typer.testing import CliRunner

from mia_audit.cli import app
from mia_audit.report.html import render_html
from mia_audit.result.codec import read_json

runner = CliRunner()
SAMPLES = Path(__file__).resolve().parents[1] / "sample_models"
MODEL, DATA = SAMPLES / "mlp_leaky.onnx", SAMPLES / "sample_audit.csv"
# The attacks that train pools (shadow, reference, offline, boundary's reference models), and no others.
POOLS = (
    *("--attacks", "shadow.shokri,lira.offline,lira.online,rmia,label_only.boundary", "--defences", "none"),
    *("--shadow-models", "2", "--reference-models", "2", "--boundary-queries", "10", "--boundary-records", "200"),
)
FAST = ("--attacks", "threshold.loss", "--defences", "none")


def _scan(out: Path, *args: str) -> object:
    return runner.invoke(app, ["scan", str(MODEL), "--data", str(DATA), "--out", str(out), "--format", "json", *args])


def test_a_dask_run_gives_the_numbers_of_a_local_run(cluster: LocalCluster, tmp_path: Path) -> None:
    local = _scan(tmp_path / "local", *POOLS)
    remote = _scan(tmp_path / "dask", *POOLS, "--backend", "dask", "--scheduler", cluster.scheduler_address)
    assert local.exit_code in (0, 1) and remote.exit_code in (0, 1), remote.output  # type: ignore[attr-defined]
    here = json.loads((tmp_path / "local" / "report.json").read_text())
    there = json.loads((tmp_path / "dask" / "report.json").read_text())
    aucs = {a["id"]: a["auc"] for a in here["attacks"]}
    assert len(aucs) == 5
    for attack in there["attacks"]:
        assert attack["auc"] == pytest.approx(aucs[attack["id"]], abs=0.005), attack["id"]
    assert there["risk"]["level"] == here["risk"]["level"]
    backend = there["run"]["environment"]["backend"]
    assert backend["kind"] == "dask" and backend["workers"] == 2
    assert here["run"]["environment"]["backend"] == "local"
    assert there["run"]["config"]["scheduler"] == cluster.scheduler_address
    html = render_html(read_json(tmp_path / "dask" / "report.json"))
    assert f"<code>backend</code> dask (scheduler {cluster.scheduler_address}, workers 2, threads 2," in html
    # The pools really trained as tasks on the cluster.
    with _observer(cluster) as client:
        prefixes = client.run_on_scheduler(lambda dask_scheduler: sorted(dask_scheduler.task_prefixes))
    assert "matched_part" in prefixes


def _observer(cluster: LocalCluster) -> object:
    from distributed import Client

    return Client(cluster.scheduler_address, set_as_default=False)


def test_an_unreachable_scheduler_is_exit_2_before_any_attack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(dask.config.config["distributed"]["comm"]["timeouts"], "connect", "1s")
    result = _scan(tmp_path / "out", *FAST, "--backend", "dask", "--scheduler", "tcp://127.0.0.1:9")
    one_line_error(result, "--scheduler tcp://127.0.0.1:9: no Dask scheduler answered", "dask scheduler")
    assert "Attack 1/" not in result.output  # type: ignore[attr-defined]
    assert not (tmp_path / "out").exists()


def test_a_scheduler_lost_mid_run_is_exit_2_and_no_report(tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = [
        str(Path(sys.executable).with_name("mia-audit")), "scan", str(MODEL), "--data", str(DATA), "--out", str(out),
        "--backend", "dask", "--defences", "none", "--format", "json,html",
    ]  # fmt: skip
    with cluster_process() as (cluster, address):
        quick = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "1s"}  # reconnect for 1 s, not 30
        scan = subprocess.Popen([*command, "--scheduler", address], stderr=subprocess.PIPE, text=True, env=quick)
        assert scan.stderr is not None
        seen = []
        for line in scan.stderr:
            seen.append(line)
            if "Attack 4/" in line:  # the next attack, shadow.shokri, trains the first pool
                kill_group(cluster)
                break
        rest = scan.stderr.read()
        code = scan.wait(timeout=120)
    lines = [line for line in rest.strip().splitlines() if line.strip()]
    assert code == 2, "".join(seen) + rest
    assert "Traceback" not in rest
    assert lines[-1].startswith("error: lost the Dask scheduler at") and "no report was written" in lines[-1], lines
    assert not (out / "report.json").exists() and not (out / "report.html").exists()


def test_a_malformed_scheduler_address_is_exit_2(tmp_path: Path) -> None:
    result = _scan(tmp_path / "out", *FAST, "--backend", "dask", "--scheduler", "localhost:abc")
    one_line_error(result, "--scheduler localhost:abc is not a Dask scheduler address", "tcp://HOST:PORT")


def test_a_scheduler_without_the_dask_backend_is_exit_2(tmp_path: Path) -> None:
    result = _scan(tmp_path / "out", *FAST, "--scheduler", "tcp://127.0.0.1:8786")
    one_line_error(result, "--scheduler names a Dask scheduler", "--backend dask")


def test_an_unknown_backend_is_exit_2(tmp_path: Path) -> None:
    one_line_error(_scan(tmp_path / "out", *FAST, "--backend", "ray"), "--backend")


def test_the_dask_backend_without_dask_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if dask[distributed] were not installed
    one_line_error(_scan(tmp_path / "out", *FAST, "--backend", "dask"), "pip install 'mia-audit[dask]'")


def test_a_local_run_of_a_model_file_imports_neither_dask_nor_mlflow(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from mia_audit.cli import main\n"
        f"sys.argv = ['mia-audit', 'scan', {str(MODEL)!r}, '--data', {str(DATA)!r}, '--out', {str(tmp_path)!r},"
        " '--format', 'json', '--attacks', 'rmia', '--defences', 'none', '--reference-models', '2', '-q']\n"
        "try:\n    main()\nexcept SystemExit as exit:\n    assert exit.code in (0, 1), exit.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed', 'mlflow')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "report.json").exists()


def test_the_backend_and_scheduler_come_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(dask.config.config["distributed"]["comm"]["timeouts"], "connect", "1s")
    config = tmp_path / "pyproject.toml"
    config.write_text('[tool.mia-audit]\nbackend = "dask"\nscheduler = "tcp://127.0.0.1:9"\n')
    result = _scan(tmp_path / "out", *FAST, "--config", str(config))
    one_line_error(result, "tcp://127.0.0.1:9: no Dask scheduler answered")
    assert not (tmp_path / "out").exists()
