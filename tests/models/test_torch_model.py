"""TorchModel: one small MLP saved as TorchScript (.pt), torch.export (.pt2) and ONNX answers, reads and audits
the same in all three; pickles are refused without trust, weights alone always; the CLI's exit codes."""

from __future__ import annotations

import json
import warnings
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fixtures_models import export_torch_onnx, torch_predict_proba
from typer.testing import CliRunner

from mia_audit.audit import AuditConfig, audit
from mia_audit.cli import app
from mia_audit.data.records import DataSpec
from mia_audit.errors import ModelDataMismatchError, ModelLoadError
from mia_audit.models import OnnxModel, OutputKind, TorchModel, describe_model, format_model_info, load_model
from mia_audit.models.torch_files import torch_file_kind

N_FEATURES, HIDDEN, N_CLASSES = 6, 16, 3
FORMATS = ("model.pt", "model.pt2", "model.onnx")
runner = CliRunner()


@dataclass(frozen=True)
class Saved:
    folder: Path
    module: Any
    frame: pd.DataFrame  # features, label, member

    @property
    def features(self) -> pd.DataFrame:
        return self.frame[[f"f{i}" for i in range(N_FEATURES)]]

    @property
    def array(self) -> np.ndarray:
        return self.features.to_numpy(dtype=np.float32, copy=True)

    @property
    def data(self) -> Path:
        return self.folder / "audit.csv"


def _train(X: np.ndarray, y: np.ndarray) -> Any:
    import torch

    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(N_FEATURES, HIDDEN), torch.nn.ReLU(), torch.nn.Linear(HIDDEN, N_CLASSES)
    )
    inputs, targets = torch.as_tensor(X), torch.as_tensor(y)
    optimiser = torch.optim.Adam(module.parameters(), lr=2e-2)
    for _ in range(300):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(module(inputs), targets).backward()
        optimiser.step()
    return module.eval()


def _one_thread(work: Any) -> Any:
    """Tiny models train several times faster on one thread than on two contended ones."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return work()
    finally:
        torch.set_num_threads(threads)


def _save_all(folder: Path, module: Any) -> None:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit is deprecated in favour of torch.export
        torch.jit.script(module).save(str(folder / "model.pt"))
    example = (torch.zeros(4, N_FEATURES),)
    batch = {0: torch.export.Dim("batch")}
    torch.export.save(torch.export.export(module, example, dynamic_shapes=(batch,)), folder / "model.pt2")
    export_torch_onnx(module, folder / "model.onnx", N_FEATURES)
    torch.save(module, folder / "pickled.pt")
    torch.save(module.state_dict(), folder / "weights.pth")


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> Saved:
    """A 6→16→3 ReLU MLP fitted hard to 120 members of 300 noisy records (it memorises them)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, N_FEATURES)).astype(np.float32)
    y = ((X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)) % N_CLASSES
    y = np.where(rng.random(300) < 0.3, rng.integers(0, N_CLASSES, 300), y)
    members = np.arange(300) < 120
    folder = tmp_path_factory.mktemp("torch_models")
    module = _one_thread(lambda: _train(X[members], y[members]))
    _save_all(folder, module)
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(N_FEATURES)]).assign(label=y, member=members.astype(int))
    frame.to_csv(folder / "audit.csv", index=False)
    return Saved(folder, module, frame)


def test_the_three_formats_give_the_same_answers_as_the_module(saved: Saved) -> None:
    expected = torch_predict_proba(saved.module, saved.array)
    for name in FORMATS:
        model = load_model(saved.folder / name, batch_size=64)
        probs = model.predict_proba(saved.features)
        np.testing.assert_allclose(probs, expected, atol=1e-5, err_msg=name)
        assert model.output_kind is OutputKind.LOGITS, name
        assert model.classes == (0, 1, 2) and model.queries == len(saved.frame), name
    assert isinstance(load_model(saved.folder / "model.pt"), TorchModel)
    assert isinstance(load_model(saved.folder / "model.onnx"), OnnxModel)


def test_the_architecture_read_matches_the_onnx_export(saved: Saved) -> None:
    read = {name: load_model(saved.folder / name).architecture for name in FORMATS}
    onnx = read["model.onnx"]
    assert (onnx.family, onnx.hidden, onnx.activation, onnx.n_features, onnx.n_classes) == ("mlp", (16,), "relu", 6, 3)
    for name in ("model.pt", "model.pt2"):
        arch = read[name]
        assert arch is not None and replace(arch, reason="") == replace(onnx, reason=""), name
        assert "2 Linear layers 6→16→3 with ReLU activations; logit output" in arch.reason, name


def test_file_kind_is_read_from_the_archive_without_unpickling(saved: Saved, tmp_path: Path) -> None:
    kinds = {name: torch_file_kind(saved.folder / name) for name in ("model.pt", "model.pt2", "pickled.pt")}
    assert kinds == {"model.pt": "torchscript", "model.pt2": "export", "pickled.pt": "pickle"}
    with zipfile.ZipFile(tmp_path / "other.pt", "w") as archive:
        archive.writestr("notes.txt", "hello")
    with pytest.raises(ModelLoadError, match="zip archive but not a PyTorch file"):
        load_model(tmp_path / "other.pt")


def test_an_export_archive_with_pickled_objects_needs_trust(saved: Saved, tmp_path: Path) -> None:
    """torch.export.load unpickles pickled example inputs with weights_only=False: such an archive is refused."""
    import datetime
    import io

    import torch

    payload = io.BytesIO()
    torch.save(datetime.date(2020, 1, 1), payload)  # an object weights_only=True refuses, harmless here
    crafted = tmp_path / "crafted.pt2"
    with zipfile.ZipFile(saved.folder / "model.pt2") as source, zipfile.ZipFile(crafted, "w") as target:
        for entry in source.infolist():
            replaced = entry.filename.endswith("data/sample_inputs/model.pt")
            target.writestr(entry, payload.getvalue() if replaced else source.read(entry))
    with pytest.raises(ModelLoadError) as caught:
        load_model(crafted)
    message = str(caught.value)
    assert "pickled objects beyond tensors (data/sample_inputs/model.pt)" in message and "--trust-model" in message


def test_a_pickled_module_needs_trust(saved: Saved) -> None:
    with pytest.raises(ModelLoadError) as caught:
        load_model(saved.folder / "pickled.pt")
    message = str(caught.value)
    assert "--trust-model" in message and "torch.jit.script" in message and "\n" not in message
    model = load_model(saved.folder / "pickled.pt", trust_model=True)
    assert model.info.format == "torch-pickle"
    expected = torch_predict_proba(saved.module, saved.array)
    np.testing.assert_allclose(model.predict_proba(saved.features), expected, atol=1e-5)
    assert model.architecture is not None and model.architecture.hidden == (16,)


@pytest.mark.parametrize("trust", [False, True])
def test_a_state_dict_is_refused_saying_the_class_is_needed(saved: Saved, trust: bool) -> None:
    with pytest.raises(ModelLoadError) as caught:
        load_model(saved.folder / "weights.pth", trust_model=trust)
    message = str(caught.value)
    assert "holds a state_dict" in message and "without the model's class" in message
    assert "torch.jit.script" in message and "torch.export" in message and "\n" not in message


def test_inspect_describes_torchscript_and_export(saved: Saved) -> None:
    script = format_model_info(describe_model(saved.folder / "model.pt"))
    exported = format_model_info(describe_model(saved.folder / "model.pt2"))
    for text, fmt in ((script, "torchscript"), (exported, "torch-export")):
        for expected in (
            f"Format       {fmt}",
            "Output kind  logits",
            "Classes      3: 0, 1, 2",
            "Features     6",
            "float32  [?, 6]",
            "output  float32  [?, 3]",
            "2 Linear layers 6→16→3",
        ):
            assert expected in text, (fmt, expected)


def test_a_fixed_batch_export_is_padded_and_counts_only_real_rows(saved: Saved, tmp_path: Path) -> None:
    import torch

    path = tmp_path / "fixed.pt2"
    torch.export.save(torch.export.export(saved.module, (torch.zeros(32, N_FEATURES),)), path)
    model = load_model(path)
    probs = model.predict_proba(saved.features.iloc[:50])
    expected = torch_predict_proba(saved.module, saved.array[:50])
    np.testing.assert_allclose(probs, expected, atol=1e-5)
    assert model.queries == 50 and model.info.details["batch"] == "fixed at 32 row(s) per run"


def test_text_columns_and_wrong_widths_are_refused_in_one_line(saved: Saved) -> None:
    model = load_model(saved.folder / "model.pt")
    with pytest.raises(ModelDataMismatchError, match="column 'f0' holds text"):
        model.predict_proba(saved.features.assign(f0="red"))
    with pytest.raises(ModelDataMismatchError, match="takes 6 feature columns but the data have 5"):
        model.predict_proba(saved.features.iloc[:, :5])


def test_an_argmax_output_is_labels_and_a_tuple_output_is_refused(saved: Saved, tmp_path: Path) -> None:
    import torch

    class Head(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module, labels: bool) -> None:
            super().__init__()
            self.inner, self.labels = inner, labels

        def forward(self, x: torch.Tensor) -> Any:
            scores = self.inner(x)
            return torch.argmax(scores, dim=1) if self.labels else (scores, x)

    torch.export.save(torch.export.export(Head(saved.module, True), (torch.zeros(4, N_FEATURES),)), tmp_path / "a.pt2")
    torch.export.save(torch.export.export(Head(saved.module, False), (torch.zeros(4, N_FEATURES),)), tmp_path / "t.pt2")
    labels = load_model(tmp_path / "a.pt2")
    assert labels.output_kind is OutputKind.LABELS and labels.classes == (0, 1, 2)
    scores = torch_predict_proba(saved.module, saved.array[:8])
    np.testing.assert_array_equal(labels.predict_proba(saved.features.iloc[:8]).argmax(axis=1), scores.argmax(axis=1))
    with pytest.raises(ModelLoadError, match="returns a tuple of 2 values, not one tensor"):
        load_model(tmp_path / "t.pt2").predict_proba(saved.features.iloc[:8])


def test_an_unreadable_architecture_falls_back_with_its_reason(tmp_path: Path) -> None:
    import torch

    from mia_audit.training.families import choose_family

    conv = torch.nn.Sequential(
        torch.nn.Unflatten(1, (1, N_FEATURES)), torch.nn.Conv1d(1, 2, 3), torch.nn.Flatten(), torch.nn.Linear(8, 3)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.script(conv.eval()).save(str(tmp_path / "conv.pt"))
    model = load_model(tmp_path / "conv.pt")
    assert model.architecture is not None and model.architecture.family == "unknown"
    choice = choose_family("auto", model)
    assert choice.fallback and "conv1d ops: not a plain MLP" in choice.reason


def test_the_audit_measures_the_same_leak_in_all_three_formats(saved: Saved) -> None:
    config = AuditConfig(attacks=("threshold.loss",), seed=0)
    aucs = {name: audit(saved.folder / name, DataSpec(data=saved.data), config) for name in FORMATS}
    values = {name: result.attack("threshold.loss").metrics.auc for name, result in aucs.items()}
    assert values["model.pt"] > 0.6, values
    assert max(values.values()) - min(values.values()) <= 0.005, values
    assert aucs["model.pt"].model.format == "torchscript" and aucs["model.pt2"].model.format == "torch-export"
    assert not aucs["model.pt"].warnings and not aucs["model.pt2"].warnings


# -- the command line --------------------------------------------------------------------------


def _error_line(result: Any) -> str:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    return errors[0]


def test_cli_scans_and_inspects_a_torchscript_file(saved: Saved, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--data", str(saved.data), "--out", str(out), "--attacks", "threshold.loss", "--format", "json"]
    result = runner.invoke(app, ["scan", str(saved.folder / "model.pt"), *args])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["model"]["format"] == "torchscript" and report["model"]["output_kind"] == "logits"
    inspected = runner.invoke(app, ["inspect", str(saved.folder / "model.pt2")])
    assert inspected.exit_code == 0, inspected.output
    assert "Format       torch-export" in inspected.output


def test_cli_refuses_an_untrusted_pickle_and_a_state_dict_with_exit_2(saved: Saved, tmp_path: Path) -> None:
    args = ["--data", str(saved.data), "--out", str(tmp_path / "out"), "--attacks", "threshold.loss"]
    pickled = _error_line(runner.invoke(app, ["scan", str(saved.folder / "pickled.pt"), *args]))
    assert "--trust-model" in pickled
    weights = _error_line(runner.invoke(app, ["scan", str(saved.folder / "weights.pth"), *args, "--trust-model"]))
    assert "holds a state_dict" in weights
    assert "torch.fx" not in _error_line(runner.invoke(app, ["inspect", str(saved.folder / "pickled.pt")]))
    trusted = runner.invoke(app, ["inspect", str(saved.folder / "pickled.pt"), "--trust-model"])
    assert trusted.exit_code == 0 and "Format       torch-pickle" in trusted.output


def test_chain_order_by_hand() -> None:
    """Layer i's predecessor is previous[i]; the ONNX and PyTorch readers share this ordering."""
    from mia_audit.models.architecture import chain_order

    assert chain_order([2, None, 1], "dense") == ([1, 2, 0], "")
    assert chain_order([None, 0, 0], "dense")[1] == "dense layers do not form one chain (a layer feeds several others)"
    assert chain_order([None, None], "Linear")[1] == "2 separate stacks of Linear layers, not one MLP"
    # Layer 0 starts a chain of one; layers 1 and 2 feed each other (no end of their own).
    assert chain_order([None, 2, 1], "dense") == (None, "dense layers do not form one chain")
