"""Shadow attacks on a many-class overfitted target, as issue 3 will check them (not a unit test).

Data: UCI Adult (../shared/data/adult.csv), label = occupation × sex (28 classes), features = the
other columns one-hot encoded into one float matrix. 1,000 members, 1,000 holdout, 3,010
population. Targets: a torch MLP (one hidden layer of 128, trained to memorise) exported to ONNX
with one float input, and a pickled scikit-learn random forest. For each it runs
`mia-audit scan` with default settings and --population, then with synthetic shadow data
(marginal, model) and no population, and prints every attack's AUC and the wall time.

    python bench/shadow_check.py [--adult ../shared/data/adult.csv] [--work /tmp/mia-shadow]
"""

from __future__ import annotations

import argparse
import json
import pickle
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier

N_MEMBERS, N_HOLDOUT, N_POPULATION = 1000, 1000, 3010


def encoded_table(features: pd.DataFrame, label: pd.Series) -> pd.DataFrame:
    """Standardised numeric columns, one-hot text columns, columns f000…, label as sorted class codes, shuffled."""
    numeric = features.select_dtypes("number")
    numeric = (numeric - numeric.mean()) / numeric.std()
    text = pd.get_dummies(features.select_dtypes(exclude="number").astype(str), dtype=float)
    frame = pd.concat([numeric, text], axis=1).astype(np.float32)
    frame.columns = [f"f{i:03d}" for i in range(frame.shape[1])]
    codes = {v: i for i, v in enumerate(sorted(label.unique()))}
    frame["label"] = label.map(codes).to_numpy()
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


def dataset(path: Path) -> pd.DataFrame:
    adult = pd.read_csv(path, skipinitialspace=True)
    label = adult["occupation"].astype(str) + "/" + adult["sex"].astype(str)
    return encoded_table(adult.drop(columns=["occupation", "sex"]), label)


def torch_onnx(members: pd.DataFrame, n_classes: int, path: Path, epochs: int = 300) -> None:
    import torch

    torch.manual_seed(0)
    X = torch.tensor(members.drop(columns="label").to_numpy(np.float32))
    y = torch.tensor(members["label"].to_numpy())
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 128), torch.nn.ReLU(), torch.nn.Linear(128, n_classes))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        for batch in torch.randperm(len(X)).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(X[batch]), y[batch]).backward()
            opt.step()
    model = torch.nn.Sequential(net, torch.nn.Softmax(dim=1)).eval()
    torch.onnx.export(
        model,
        (X[:1],),
        str(path),
        input_names=["x"],
        output_names=["p"],
        dynamic_axes={"x": {0: "n"}, "p": {0: "n"}},
        dynamo=False,
    )


def scan(model: Path, out: Path, *args: str) -> tuple[dict, float]:
    cmd = ["mia-audit", "scan", str(model), "--out", str(out), "--format", "json", "--quiet", *args]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode not in (0, 1):
        raise SystemExit(f"scan failed ({done.returncode}): {done.stderr}")
    return json.loads((out / "report.json").read_text()), took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adult", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/adult.csv")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mia-shadow"))
    parser.add_argument("--targets", default="mlp,forest")
    parser.add_argument("--sources", default="population,marginal,model")
    args = parser.parse_args()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    frame = dataset(args.adult)
    n_classes = int(frame["label"].max()) + 1
    a, b, c = N_MEMBERS, N_MEMBERS + N_HOLDOUT, N_MEMBERS + N_HOLDOUT + N_POPULATION
    parts = {"members": frame.iloc[:a], "holdout": frame.iloc[a:b], "population": frame.iloc[b:c]}
    files = {}
    for name, part in parts.items():
        files[name] = work / f"{name}.csv"
        part.to_csv(files[name], index=False)
    targets = {}
    if "mlp" in args.targets:
        targets["mlp"] = (work / "mlp.onnx", [])
        if not targets["mlp"][0].exists():
            torch_onnx(parts["members"], n_classes, targets["mlp"][0])
    if "forest" in args.targets:
        targets["forest"] = (work / "forest.pkl", ["--trust-model"])
        if not targets["forest"][0].exists():
            forest = RandomForestClassifier(300, random_state=0, n_jobs=2)
            forest.fit(parts["members"].drop(columns="label"), parts["members"]["label"])
            targets["forest"][0].write_bytes(pickle.dumps(forest))
    print(f"{n_classes} classes, {frame.shape[1] - 1} features")
    for name, (model, extra) in targets.items():
        for source in args.sources.split(","):
            data = ["--members", str(files["members"]), "--holdout", str(files["holdout"])]
            if source == "population":
                data += ["--population", str(files["population"])]
            report, took = scan(model, work / f"out-{name}-{source}", *data, "--shadow-data", source, *extra)
            aucs = {x["id"]: x["auc"] for x in report["attacks"]}
            shown = ", ".join(f"{k} {v:.3f}" for k, v in aucs.items() if k.startswith(("shadow", "threshold.loss")))
            print(f"{name:<7} {source:<11} {took:6.1f} s  {shown}")


if __name__ == "__main__":
    main()
