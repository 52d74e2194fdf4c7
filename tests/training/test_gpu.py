"""``--device cuda``: pools train on the GPU where one exists (skipped elsewhere), with the CPU's models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from mia_audit.cli import app
from mia_audit.training.matched_mlp import ConfidenceMatch, predicted_class_confidence, train_matched_mlps
from mia_audit.training.mlp import MLPSpec, train_batched_mlp

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
SAMPLES = Path(__file__).resolve().parents[2] / "sample_models"


def _problem(n: int = 600) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    X = (np.random.default_rng(9).normal(0, 1.0, (3, 10))[y] + rng.normal(size=(n, 10))).astype(np.float32)
    masks = rng.random((4, n)) < 0.5
    return X, y.astype(np.int64), masks


def test_a_pool_on_the_gpu_predicts_as_the_pool_on_the_cpu() -> None:
    X, y, masks = _problem()
    spec = MLPSpec(hidden=(32,), epochs=10, batch_size=64, lr=1e-2)
    cpu = train_batched_mlp(X, y, masks, 3, spec, seed=1)
    gpu = train_batched_mlp(X, y, masks, 3, spec, seed=1, device="cuda")
    assert gpu.device.startswith("cuda")
    # Different kernels round differently; after 10 epochs the models still agree closely.
    np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), atol=2e-3)


def test_a_matched_pool_on_the_gpu_stops_where_it_stops_on_the_cpu() -> None:
    X, y, masks = _problem()
    rows = np.arange(500, 600)
    masks[:, rows] = False
    match = ConfidenceMatch(rows, predicted_class_confidence(np.full((100, 3), [0.9, 0.05, 0.05])))
    spec = MLPSpec(hidden=(32,), batch_size=64, lr=1e-2)
    cpu = train_matched_mlps(X, y, masks, 3, spec, max_epochs=40, match=match, seed=3)
    gpu = train_matched_mlps(X, y, masks, 3, spec, max_epochs=40, match=match, seed=3, device="cuda")
    assert all(abs(a - b) <= 2 for a, b in zip(gpu.epochs, cpu.epochs, strict=True))


def test_a_scan_on_the_gpu_gives_the_verdict_of_a_scan_on_the_cpu(tmp_path: Path) -> None:
    runner = CliRunner()
    reports = {}
    for device in ("cpu", "cuda"):
        out = tmp_path / device
        args = ["scan", str(SAMPLES / "mlp_leaky.onnx"), "--data", str(SAMPLES / "sample_audit.csv"), "--out", str(out)]
        result = runner.invoke(app, [*args, "--format", "json", "--defences", "none", "--device", device])
        assert result.exit_code in (0, 1), result.output
        reports[device] = json.loads((out / "report.json").read_text())
    assert reports["cuda"]["run"]["environment"]["device"] == "cuda"
    assert reports["cuda"]["risk"]["level"] == reports["cpu"]["risk"]["level"]
    aucs = {a["id"]: a["auc"] for a in reports["cpu"]["attacks"]}
    for attack in reports["cuda"]["attacks"]:
        assert attack["auc"] == pytest.approx(aucs[attack["id"]], abs=0.02), attack["id"]
