"""Build the bundled sample models and their audit data, reproducibly from a seed.

    python sample_models/build.py            # writes into sample_models/

Data: 2,400 records of a 4-class tabular problem generated with scikit-learn's
``make_classification`` (24 numeric features, 3% label noise), so nothing is downloaded. The
first 300 records train both models; all others are held out.

- ``mlp_leaky`` (.onnx and .skops): a wide MLP trained to zero training loss with no
  regularisation. It memorises its training set, so membership leaks.
- ``logreg_regularised.skops``: a strongly L2-regularised logistic regression on the same
  members. It cannot memorise, so the audit should find little.
- ``mlp_regressor_leaky.onnx`` with ``sample_regression.csv`` (for ``--task regression``): an
  unregularised MLP regressor on scikit-learn's diabetes data (442 patients, shipped with
  scikit-learn), trained on a random half until it reproduces their values.

Needs the project's test extras (skl2onnx, onnx) besides the runtime dependencies.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

SEED = 20261123
N_MEMBERS = 300


def audit_frame(seed: int = SEED) -> pd.DataFrame:
    X, y = make_classification(
        n_samples=2400,
        n_features=24,
        n_informative=12,
        n_redundant=4,
        n_classes=4,
        n_clusters_per_class=2,
        class_sep=0.8,
        flip_y=0.03,
        random_state=seed % (2**31),
    )
    frame = pd.DataFrame(np.round(X, 4), columns=[f"x{i:02d}" for i in range(X.shape[1])])
    frame["label"] = y
    frame["member"] = (np.arange(len(frame)) < N_MEMBERS).astype(int)
    return frame


def leaky_model(X: np.ndarray, y: np.ndarray, seed: int = SEED) -> Pipeline:
    mlp = MLPClassifier(
        hidden_layer_sizes=(256,),
        alpha=0.0,
        max_iter=600,
        tol=1e-8,
        n_iter_no_change=600,
        random_state=seed,
    )
    model = make_pipeline(StandardScaler(), mlp).fit(X, y)
    # Adam's state is not needed to predict and is not a skops-trusted type; drop it so the
    # sample loads without --trust-model.
    mlp._optimizer = None
    return model


def regularised_model(X: np.ndarray, y: np.ndarray) -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.01, max_iter=2000)).fit(X, y)


def export_onnx(model: Pipeline, n_features: int, path: Path) -> None:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    onx = convert_sklearn(
        model,
        initial_types=[("input", FloatTensorType([None, n_features]))],
        options={id(model.steps[-1][1]): {"zipmap": False}},
        target_opset=17,
    )
    path.write_bytes(onx.SerializeToString())


def export_skops(model: Pipeline, path: Path) -> None:
    import skops.io as sio

    sio.dump(model, path)


def build_regression(out: Path, seed: int = SEED) -> None:
    """The leaky regressor and its audit file (the label column ``target``, 1 = member)."""
    from skl2onnx import to_onnx
    from sklearn.datasets import load_diabetes
    from sklearn.neural_network import MLPRegressor

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    member = np.zeros(len(X), dtype=bool)
    member[np.random.default_rng(seed).permutation(len(X))[: len(X) // 2]] = True
    X.round(6).assign(target=y, member=member.astype(int)).to_csv(out / "sample_regression.csv", index=False)
    mlp = MLPRegressor(
        hidden_layer_sizes=(128, 128), alpha=0.0, max_iter=2000, tol=1e-8, n_iter_no_change=2000, random_state=seed
    )
    model = make_pipeline(StandardScaler(), mlp).fit(X[member], y[member])
    onx = to_onnx(model, X[:1].to_numpy(np.float32), target_opset=17)
    (out / "mlp_regressor_leaky.onnx").write_bytes(onx.SerializeToString())
    train, holdout = model.score(X[member], y[member]), model.score(X[~member], y[~member])
    print(f"regressor: train R² {train:.3f}, holdout R² {holdout:.3f}")


def build(out: Path, seed: int = SEED) -> None:
    out.mkdir(parents=True, exist_ok=True)
    frame = audit_frame(seed)
    features = [c for c in frame.columns if c.startswith("x")]
    train = frame[frame["member"] == 1]
    X, y = train[features].to_numpy(np.float32), train["label"].to_numpy()
    frame.to_csv(out / "sample_audit.csv", index=False)

    leaky = leaky_model(X, y, seed)
    export_onnx(leaky, len(features), out / "mlp_leaky.onnx")
    export_skops(leaky, out / "mlp_leaky.skops")
    export_skops(regularised_model(X, y), out / "logreg_regularised.skops")

    held = frame[frame["member"] == 0]
    for name, model in (("leaky", leaky), ("regularised", regularised_model(X, y))):
        print(
            f"{name}: train accuracy {model.score(X, y):.3f}, "
            f"holdout accuracy {model.score(held[features].to_numpy(np.float32), held['label']):.3f}"
        )
    build_regression(out, seed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    build(args.out, args.seed)


if __name__ == "__main__":
    main()
