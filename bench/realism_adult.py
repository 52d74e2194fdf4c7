"""Realism check on UCI Adult (not part of the test suite; needs ../shared/data/adult.csv).

Builds targets on 2,000 training members of Adult — a skl2onnx pipeline with one named input
per column (string and int64), a pickled scikit-learn pipeline with a random forest, and a torch
MLP exported to ONNX with one float input on a derived 30-class task — runs `mia-audit scan` on
each with --members/--holdout/--population and with --data, and compares threshold.loss's AUC
with an independent computation on the same evaluation records (sklearn's roc_auc_score on the
model's own log-probability of the true class).

    python bench/realism_adult.py [--adult ../shared/data/adult.csv] [--work /tmp/mia-realism]
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

N_MEMBERS, N_HOLDOUT, N_POPULATION = 2000, 2000, 3000
Proba = Callable[[pd.DataFrame], np.ndarray]


def read_adult(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, skipinitialspace=True)
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].astype(object)
    return frame


def preprocessor(frame: pd.DataFrame) -> ColumnTransformer:
    text = [c for c in frame.columns if frame[c].dtype == object]
    numbers = [c for c in frame.columns if c not in text]
    return ColumnTransformer(
        [("num", StandardScaler(), numbers), ("cat", OneHotEncoder(handle_unknown="ignore"), text)]
    )


def scan(model: Path, out: Path, *args: str) -> tuple[dict, float]:
    cmd = ["mia-audit", "scan", str(model), "--out", str(out), "--quiet", *args]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stderr, file=sys.stderr)
        raise SystemExit(f"scan failed with exit {done.returncode}: {' '.join(cmd)}")
    return json.loads((out / "report.json").read_text()), took


def independent_loss_auc(out: Path, frames: dict[str, pd.DataFrame], proba: Proba, classes: list, label: str) -> float:
    """Score exactly the evaluation records the audit used (records.csv names file and row)."""
    rec = pd.read_csv(out / "records.csv")
    rows = pd.concat([frames[s].iloc[[i]] for s, i in zip(rec.source, rec.row_index, strict=True)], ignore_index=True)
    y_idx = np.array([classes.index(v) for v in rows[label]])
    p = proba(rows.drop(columns=[label, "member"], errors="ignore"))[np.arange(len(rows)), y_idx]
    return float(roc_auc_score(rec.member, np.log(np.clip(p, 1e-45, 1.0))))


def build_pipeline_onnx(X: pd.DataFrame, y: pd.Series, path: Path) -> Pipeline:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import Int64TensorType, StringTensorType

    model = Pipeline([("prep", preprocessor(X)), ("clf", LogisticRegression(C=100.0, max_iter=3000))]).fit(X, y)
    types = [(c, StringTensorType([None, 1]) if X[c].dtype == object else Int64TensorType([None, 1])) for c in X]
    onx = convert_sklearn(model, initial_types=types, options={id(model): {"zipmap": False}}, target_opset=17)
    path.write_bytes(onx.SerializeToString())
    return model


def build_forest_pickle(X: pd.DataFrame, y: pd.Series, path: Path) -> Pipeline:
    model = Pipeline([("prep", preprocessor(X)), ("clf", RandomForestClassifier(200, random_state=0, n_jobs=2))])
    model.fit(X, y)
    path.write_bytes(pickle.dumps(model))
    return model


def thirty_class_task(frame: pd.DataFrame) -> pd.DataFrame:
    """Numeric features only; label = age decile × education bucket (30 classes)."""
    numeric = frame[["age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hr_per_week"]].astype(float)
    age_bin = np.clip((frame["age"].to_numpy() - 17) // 7, 0, 9)
    edu_bin = np.digitize(frame["education_num"].to_numpy(), [9, 12])
    out = numeric.drop(columns=["age", "education_num"]).copy()
    out["hours_x_gain"] = numeric["hr_per_week"] * np.log1p(numeric["capital_gain"])
    out["label"] = (age_bin * 3 + edu_bin).astype(int)
    return out


def build_torch_mlp_onnx(frame: pd.DataFrame, path: Path, epochs: int = 400) -> Proba:
    import torch

    torch.manual_seed(0)
    X = frame.drop(columns="label").to_numpy(np.float32)
    mean, std = X.mean(0), X.std(0) + 1e-6
    y = torch.tensor(frame["label"].to_numpy())
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 128), torch.nn.ReLU(), torch.nn.Linear(128, 30))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3)
    xt = torch.tensor((X - mean) / std)
    for _ in range(epochs):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(net(xt), y).backward()
        opt.step()

    class WithScaling(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net, self.mean, self.std = net, torch.tensor(mean), torch.tensor(std)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.net((x - self.mean) / self.std), dim=1)

    model = WithScaling().eval()
    torch.onnx.export(
        model,
        (torch.zeros(1, X.shape[1]),),
        str(path),
        input_names=["x"],
        output_names=["probabilities"],
        dynamic_axes={"x": {0: "n"}, "probabilities": {0: "n"}},
        dynamo=False,
    )

    def proba(rows: pd.DataFrame) -> np.ndarray:
        with torch.no_grad():
            return model(torch.tensor(rows.to_numpy(np.float32))).numpy().astype(np.float64)

    return proba


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adult", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/adult.csv")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mia-realism"))
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    adult = read_adult(args.adult).sample(frac=1.0, random_state=0).reset_index(drop=True)
    a, b, c = N_MEMBERS, N_MEMBERS + N_HOLDOUT, N_MEMBERS + N_HOLDOUT + N_POPULATION

    cases = []
    for task, frame, label in (("adult", adult, "income"), ("adult30", thirty_class_task(adult), "label")):
        parts = {"members": frame.iloc[:a], "holdout": frame.iloc[a:b], "population": frame.iloc[b:c]}
        files = {}
        for name, part in parts.items():
            files[name] = work / f"{task}-{name}.csv"
            part.to_csv(files[name], index=False)
        data = pd.concat([parts["members"].assign(member=1), parts["holdout"].assign(member=0)], ignore_index=True)
        files["data"] = work / f"{task}-audit.csv"
        data.to_csv(files["data"], index=False)
        X, y = parts["members"].drop(columns=label), parts["members"][label]
        if task == "adult":
            onnx_model = build_pipeline_onnx(X, y, work / "adult_pipeline.onnx")
            forest = build_forest_pickle(X, y, work / "adult_forest.pkl")
            targets = [
                (work / "adult_pipeline.onnx", onnx_model.predict_proba, list(onnx_model.classes_), []),
                (work / "adult_forest.pkl", forest.predict_proba, list(forest.classes_), ["--trust-model"]),
            ]
        else:
            proba = build_torch_mlp_onnx(parts["members"], work / "adult30_mlp.onnx")
            targets = [(work / "adult30_mlp.onnx", proba, list(range(30)), [])]
        for model_path, proba_fn, classes, extra in targets:
            for mode in ("members/holdout/population", "data"):
                out = work / f"out-{model_path.stem}-{mode.split('/')[0]}"
                if mode == "data":
                    sources = ["--data", str(files["data"])]
                    frames = {"data": data}
                else:
                    sources = [
                        "--members",
                        str(files["members"]),
                        "--holdout",
                        str(files["holdout"]),
                        "--population",
                        str(files["population"]),
                    ]
                    frames = parts
                report, took = scan(model_path, out, *sources, "--label-col", label, *extra)
                tool = next(x for x in report["attacks"] if x["id"] == "threshold.loss")["auc"]
                ref = independent_loss_auc(out, frames, proba_fn, classes, label)
                cases.append((model_path.name, mode, tool, ref, report["risk"]["level"], took))

    header = ("model", "data given as", "loss AUC", "independent", "|diff|", "risk", "wall s")
    print("{:<24} {:<28} {:>9} {:>12} {:>8} {:>9} {:>7}".format(*header))
    for name, mode, tool, ref, level, took in cases:
        print(f"{name:<24} {mode:<28} {tool:>9.4f} {ref:>12.4f} {abs(tool - ref):>8.4f} {level:>9} {took:>7.1f}")


if __name__ == "__main__":
    main()
