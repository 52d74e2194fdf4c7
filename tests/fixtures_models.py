"""Small real target models written into a directory, for tests of the adapters and beyond.

Every builder trains in well under a second, writes the model file at ``path`` and returns the
fitted model (a scikit-learn estimator, or a torch module that outputs logits), so that tests can
compare the file's answers with the original's. Import as ``from fixtures_models import ...``
(tests/conftest.py puts this folder on sys.path).
"""

from __future__ import annotations

import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


@dataclass(frozen=True)
class BuiltModel:
    """A model file and the fitted original it came from."""

    path: Path
    original: Any


class CustomLogisticRegression(LogisticRegression):
    """A subclass skops does not know, so a skops file holding it has an untrusted type."""


# -- data --------------------------------------------------------------------------------------


def classification_data(
    n: int = 300, n_features: int = 8, n_classes: int = 3, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Float32 features and integer labels 0..n_classes-1."""
    X, y = make_classification(
        n_samples=n,
        n_features=n_features,
        n_informative=min(n_features, 5),
        n_redundant=0,
        n_classes=n_classes,
        random_state=seed,
    )
    return X.astype(np.float32), y.astype(np.int64)


def mixed_frame(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A frame with integer, float and string columns, and string labels ("high"/"low"/"mid")."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "hours": rng.normal(40.0, 8.0, n).round(2),
            "job": rng.choice(["clerk", "nurse", "smith", "teacher"], n),
            "sex": rng.choice(["F", "M"], n),
        }
    )
    score = (frame["age"] - 45) / 15 + (frame["hours"] - 40) / 8 + (frame["job"] == "nurse")
    score = score + rng.normal(0.0, 0.5, n)
    labels = np.where(score > 0.7, "high", np.where(score < -0.7, "low", "mid"))
    return frame, labels


# -- torch models exported to ONNX --------------------------------------------------------------


def train_torch_mlp(
    X: np.ndarray,
    y: np.ndarray,
    *,
    hidden: int = 64,
    epochs: int = 150,
    lr: float = 1e-2,
    seed: int = 0,
) -> Any:
    """A one-hidden-layer MLP (outputs logits), trained full-batch with Adam."""
    import torch

    torch.manual_seed(seed)
    n_classes = int(np.max(y)) + 1
    module = torch.nn.Sequential(
        torch.nn.Linear(X.shape[1], hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, n_classes)
    )
    inputs = torch.as_tensor(np.asarray(X, dtype=np.float32))
    targets = torch.as_tensor(np.asarray(y, dtype=np.int64))
    optimiser = torch.optim.Adam(module.parameters(), lr=lr)
    for _ in range(epochs):
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(module(inputs), targets).backward()
        optimiser.step()
    return module.eval()


def torch_predict_proba(module: Any, X: np.ndarray) -> np.ndarray:
    """Softmax of a logit module's output (sigmoid columns [1-p, p] for a single output)."""
    import torch

    with torch.no_grad():
        out = module(torch.as_tensor(np.asarray(X, dtype=np.float32))).double()
    if out.shape[1] == 1:
        p = torch.sigmoid(out[:, 0])
        return torch.stack([1 - p, p], dim=1).numpy()
    return torch.softmax(out, dim=1).numpy()


def export_torch_onnx(module: Any, path: str | Path, n_features: int, *, fixed_batch: int | None = None) -> Path:
    """torch.onnx.export with the TorchScript exporter (the dynamo one needs onnxscript).

    The batch dimension is dynamic unless ``fixed_batch`` is given.
    """
    import torch

    example = torch.zeros(fixed_batch or 2, n_features)
    dynamic = None if fixed_batch else {"input": {0: "batch"}, "output": {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module,
            (example,),
            str(path),
            input_names=["input"],
            output_names=["output"],
            dynamic_axes=dynamic,
            dynamo=False,
        )
    return Path(path)


def build_torch_mlp_onnx(
    path: str | Path,
    X: np.ndarray,
    y: np.ndarray,
    *,
    hidden: int = 64,
    epochs: int = 150,
    logits: bool = False,
    fixed_batch: int | None = None,
    seed: int = 0,
) -> Any:
    """Train an MLP and export it: softmax probabilities, or raw logits with ``logits=True``.

    Returns the logit module; ``torch_predict_proba(module, X)`` gives the reference answers.
    """
    import torch

    module = train_torch_mlp(X, y, hidden=hidden, epochs=epochs, seed=seed)
    exported = module if logits else torch.nn.Sequential(module, torch.nn.Softmax(dim=1))
    export_torch_onnx(exported, path, X.shape[1], fixed_batch=fixed_batch)
    return module


def build_torch_binary_onnx(
    path: str | Path, X: np.ndarray, y: np.ndarray, *, sigmoid: bool = False, seed: int = 0
) -> Any:
    """A binary model with ONE output column: a logit, or its sigmoid with ``sigmoid=True``."""
    import torch

    torch.manual_seed(seed)
    module = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 1))
    inputs = torch.as_tensor(np.asarray(X, dtype=np.float32))
    targets = torch.as_tensor(np.asarray(y, dtype=np.float32))
    optimiser = torch.optim.Adam(module.parameters(), lr=5e-2)
    for _ in range(100):
        optimiser.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(module(inputs)[:, 0], targets)
        loss.backward()
        optimiser.step()
    module.eval()
    exported = torch.nn.Sequential(module, torch.nn.Sigmoid()) if sigmoid else module
    export_torch_onnx(exported, path, X.shape[1])
    return module


def _argmax_module(module: Any) -> Any:
    """Wrap a logit module so that the exported graph returns only the predicted class index."""
    import torch

    class ArgMax(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.argmax(self.inner(x), dim=1)

    return ArgMax(module)


def build_torch_label_only_onnx(
    path: str | Path, X: np.ndarray, y: np.ndarray, *, hidden: int = 32, seed: int = 0
) -> Any:
    """A graph whose only output is the int64 label (argmax); it stores no class labels."""
    module = train_torch_mlp(X, y, hidden=hidden, epochs=100, seed=seed)
    export_torch_onnx(_argmax_module(module), path, X.shape[1])
    return module


# -- scikit-learn models converted with skl2onnx -----------------------------------------------


def build_skl2onnx_logreg(path: str | Path, X: np.ndarray, y: np.ndarray, *, zipmap: bool = True) -> LogisticRegression:
    """LogisticRegression with one float input [None, F]; ZipMap output unless ``zipmap=False``."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    model = LogisticRegression(max_iter=1000).fit(X, y)
    options = None if zipmap else {id(model): {"zipmap": False}}
    onx = convert_sklearn(
        model,
        initial_types=[("input", FloatTensorType([None, X.shape[1]]))],
        options=options,
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    Path(path).write_bytes(onx.SerializeToString())
    return model


def _mixed_pipeline(frame: pd.DataFrame, y: np.ndarray) -> Pipeline:
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    text = [c for c in frame.columns if c not in numeric]
    encode = ColumnTransformer(
        [("num", StandardScaler(), numeric), ("cat", OneHotEncoder(handle_unknown="ignore"), text)]
    )
    return Pipeline([("encode", encode), ("model", LogisticRegression(max_iter=1000))]).fit(frame, y)


def onnx_input_types(frame: pd.DataFrame) -> list[tuple[str, Any]]:
    """One [None, 1] skl2onnx input per column: int64, float or string by the column's dtype."""
    from skl2onnx.common.data_types import FloatTensorType, Int64TensorType, StringTensorType

    types: list[tuple[str, Any]] = []
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_integer_dtype(column):
            types.append((name, Int64TensorType([None, 1])))
        elif pd.api.types.is_numeric_dtype(column):
            types.append((name, FloatTensorType([None, 1])))
        else:
            types.append((name, StringTensorType([None, 1])))
    return types


def build_skl2onnx_pipeline(path: str | Path, frame: pd.DataFrame, y: np.ndarray, *, zipmap: bool = False) -> Pipeline:
    """ColumnTransformer (scaler + one-hot) and LogisticRegression, one named input per column."""
    from skl2onnx import convert_sklearn

    pipe = _mixed_pipeline(frame, y)
    options = None if zipmap else {id(pipe.steps[-1][1]): {"zipmap": False}}
    onx = convert_sklearn(
        pipe,
        initial_types=onnx_input_types(frame),
        options=options,
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    Path(path).write_bytes(onx.SerializeToString())
    return pipe


def build_label_only_onnx(path: str | Path, X: np.ndarray, y: np.ndarray) -> LogisticRegression:
    """A skl2onnx LogisticRegression with its probability output removed: labels only.

    The graph still names its classes (``classlabels_*`` on the LinearClassifier node).
    """
    import onnx

    build_skl2onnx_logreg(path, X, y, zipmap=False)
    model = onnx.load(str(path))
    keep = [o for o in model.graph.output if o.name == "label"]
    del model.graph.output[:]
    model.graph.output.extend(keep)
    onnx.save(model, str(path))
    return LogisticRegression(max_iter=1000).fit(X, y)


def set_onnx_metadata(path: str | Path, **entries: str) -> None:
    """Add metadata_props entries (e.g. ``classes='["a", "b"]'``) to an ONNX file in place."""
    import onnx

    model = onnx.load(str(path))
    for key, value in entries.items():
        prop = model.metadata_props.add()
        prop.key, prop.value = key, value
    onnx.save(model, str(path))


# -- scikit-learn files -------------------------------------------------------------------------


def build_skops(path: str | Path, X: Any, y: np.ndarray, *, untrusted: bool = False, estimator: Any = None) -> Any:
    """Fit ``estimator`` (default LogisticRegression; a Pipeline over strings for a DataFrame with
    text columns) and save it with skops. ``untrusted=True`` uses a type skops does not trust.
    """
    import skops.io as sio

    model = _fit_default(X, y, untrusted=untrusted, estimator=estimator)
    sio.dump(model, str(path))
    return model


def build_pickle(path: str | Path, X: Any, y: np.ndarray, *, estimator: Any = None) -> Any:
    """Fit and save with joblib for a ``.joblib`` path, else with pickle."""
    model = _fit_default(X, y, untrusted=False, estimator=estimator)
    if Path(path).suffix == ".joblib":
        import joblib

        joblib.dump(model, str(path))
    else:
        Path(path).write_bytes(pickle.dumps(model))
    return model


def _fit_default(X: Any, y: np.ndarray, *, untrusted: bool, estimator: Any) -> Any:
    if estimator is not None:
        return estimator.fit(X, y)
    if isinstance(X, pd.DataFrame) and not all(pd.api.types.is_numeric_dtype(X[c]) for c in X.columns):
        return _mixed_pipeline(X, y)
    model = CustomLogisticRegression if untrusted else LogisticRegression
    return model(max_iter=1000).fit(X, y)
