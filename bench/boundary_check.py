"""label_only.boundary against label_only.gap on overfitted ONNX MLPs (not a unit test).

Issue 4 checks that the boundary attack, with at most 200 queries per record, beats the gap attack
by at least 0.05 AUC on an overfitted many-class MLP. So that the noise design is not tuned to one
table, this runs the two attacks through ``mia_audit.audit`` on several datasets:

- ``adult27``: UCI Adult, label = occupation × sex (27 classes), the other columns standardised or
  one-hot (``bench/shadow_check.py``'s table and target; its work dir is reused when present);
- ``adult16``: UCI Adult, label = education (16 classes; education_num dropped), same encoding;
- ``adult30``: UCI Adult, label = age decile × education bucket (30 classes, ``bench/realism_adult.py``'s
  label), raw integer columns and 0/1 integer one-hot columns, scaling inside the ONNX graph;
- ``digits``: scikit-learn's digits (10 classes, integer pixels 0..16; 600/600/597 records);
- ``location``: ``bench/bench_reference.py``'s Location-like table (446 sparse binary features, 30
  classes) and its torch target.

Each target is a torch MLP with one hidden layer of 128 units trained to memorise its 1,000
members (Adam, 300 epochs), exported to ONNX with one float input. Prints, per dataset, the
target's train/test accuracy, both AUCs, their difference and the boundary attack's queries.

    python bench/boundary_check.py [--adult ../shared/data/adult.csv] [--work /tmp/mia-boundary]
                                   [--queries 200] [--seeds 0,1] [--datasets adult27,adult16,adult30,digits]

Measured (boundary − gap AUC, seeds 0 / 1; 2 shared CPU cores, 30–60 s per audit):

    dataset   gap    before (4 fixed scales, 200 q)   200 queries      100 queries (default)
    adult27   0.784  +0.043                           +0.067 / +0.069  +0.065
    adult16   0.810  −0.018                           +0.060 / +0.058  +0.059
    adult30   0.869  +0.014                           +0.051 / +0.049  +0.052
    digits    0.516  −0.010                           +0.068 / +0.079  +0.078
    location  0.651  (not run)                        +0.206 (seed 0)  (not run)

On 2026-11-30 the attack took the main shadow pool as its reference models (16 confidence-matched MLPs
instead of 8 of its own), drew its flips sparsely and built its neighbours as one matrix. Boundary AUC and
the audit's wall time (gap + boundary, the shadow pool included), seed 0, 100 queries, before → after:

    dataset   boundary AUC    s
    adult27   .849 → .859     17.0 → 13.7
    adult16   .868 → .869     12.9 → 9.6
    adult30   .920 → .920     14.8 → 11.6
    digits    .594 → .611     12.4 → 6.9
    location  .851 → .879     25.3 → 15.7
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from shadow_check import dataset as adult27_table
from shadow_check import encoded_table, torch_onnx

N_MEMBERS, N_HOLDOUT, N_POPULATION = 1000, 1000, 3010
DATASETS = ("adult27", "adult16", "adult30", "digits", "location")


def adult16_table(path: Path) -> pd.DataFrame:
    """Adult with label = education (16 classes); education_num, which encodes it, is dropped."""
    adult = pd.read_csv(path, skipinitialspace=True)
    label = adult["education"].astype(str)
    return encoded_table(adult.drop(columns=["education", "education_num"]), label)


def adult30_table(path: Path) -> pd.DataFrame:
    """Adult, label = age decile × education bucket (30 classes, as ``bench/realism_adult.py``); features:
    the raw integer columns and 0/1 integer one-hot columns of the rest (age and education dropped)."""
    adult = pd.read_csv(path, skipinitialspace=True)
    age_bin = np.clip((adult["age"].to_numpy() - 17) // 7, 0, 9)
    edu_bin = np.digitize(adult["education_num"].to_numpy(), [9, 12])
    features = adult.drop(columns=["age", "education", "education_num"])
    numeric = features.select_dtypes("number").astype(np.int64)
    text = pd.get_dummies(features.select_dtypes(exclude="number").astype(str), dtype=np.int64)
    frame = pd.concat([numeric, text], axis=1)
    frame.columns = [f"f{i:03d}" for i in range(frame.shape[1])]
    frame["label"] = (age_bin * 3 + edu_bin).astype(int)
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


def digits_table() -> pd.DataFrame:
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    frame = pd.DataFrame(X.astype(np.int64), columns=[f"px{i:02d}" for i in range(X.shape[1])])
    frame["label"] = y
    return frame.sample(frac=1.0, random_state=0).reset_index(drop=True)


def scaled_mlp_onnx(members: pd.DataFrame, n_classes: int, path: Path, epochs: int = 300) -> None:
    """A torch MLP (hidden 128) trained to memorise ``members``, standardising inside the graph."""
    import torch

    torch.manual_seed(0)
    X = members.drop(columns="label").to_numpy(np.float32)
    mean, std = X.mean(0), X.std(0) + 1e-6
    xt = torch.tensor((X - mean) / std)
    y = torch.tensor(members["label"].to_numpy())
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 128), torch.nn.ReLU(), torch.nn.Linear(128, n_classes))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        for batch in torch.randperm(len(xt)).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(xt[batch]), y[batch]).backward()
            opt.step()

    class Scaled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net, self.mean, self.std = net, torch.tensor(mean), torch.tensor(std)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(self.net((x - self.mean) / self.std), dim=1)

    torch.onnx.export(
        Scaled().eval(),
        (torch.zeros(1, X.shape[1]),),
        str(path),
        input_names=["x"],
        output_names=["p"],
        dynamic_axes={"x": {0: "n"}, "p": {0: "n"}},
        dynamo=False,
    )


def prepare(name: str, adult: Path, work: Path) -> tuple[Path, dict[str, Path]]:
    """Write the dataset's member/holdout/population CSVs and train its target (once per work dir)."""
    work.mkdir(parents=True, exist_ok=True)
    if name == "adult27":
        frame = adult27_table(adult)
    elif name == "adult16":
        frame = adult16_table(adult)
    elif name == "adult30":
        frame = adult30_table(adult)
    elif name == "location":
        from bench_reference import location_like

        frame = location_like()
    else:
        frame = digits_table()
    n_classes = int(frame["label"].max()) + 1
    sizes = (N_MEMBERS, N_HOLDOUT, N_POPULATION) if len(frame) >= 5010 else (600, 600, len(frame) - 1200)
    cuts = np.cumsum(sizes)
    parts = {"members": frame.iloc[: cuts[0]], "holdout": frame.iloc[cuts[0] : cuts[1]]}
    parts["population"] = frame.iloc[cuts[1] : cuts[2]]
    files = {}
    for part, rows in parts.items():
        files[part] = work / f"{part}.csv"
        rows.to_csv(files[part], index=False)
    model = work / "mlp.onnx"
    if not model.exists():
        if name == "location":
            torch_onnx(parts["members"], n_classes, model)  # bench/bench_reference.py's Location-like target
        elif name == "adult27":
            shared = Path("/tmp/mia-shadow/mlp.onnx")  # bench/shadow_check.py's target, when it is there
            if shared.exists():
                shutil.copy(shared, model)
            else:
                torch_onnx(parts["members"], n_classes, model)
        else:
            scaled_mlp_onnx(parts["members"], n_classes, model)
    return model, files


def measure(model: Path, files: dict[str, Path], queries: int, seed: int) -> dict[str, Any]:
    from mia_audit.audit import AuditConfig, audit
    from mia_audit.data.records import DataSpec

    spec = DataSpec(members=files["members"], holdout=files["holdout"], population=files["population"])
    config = AuditConfig(attacks=("label_only.gap", "label_only.boundary"), boundary_queries=queries, seed=seed)
    start = time.perf_counter()
    result = audit(model, spec, config)
    boundary = result.attack("label_only.boundary")
    return {
        "train": result.utility.train_accuracy,
        "test": result.utility.test_accuracy,
        "gap": result.attack("label_only.gap").metrics.auc,
        "boundary": boundary.metrics.auc,
        "queries": boundary.queries,
        "seconds": time.perf_counter() - start,
        "choice": next((n for n in boundary.notes if n.startswith(("noise chosen", "only"))), ""),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--adult", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/adult.csv")
    parser.add_argument("--work", type=Path, default=Path("/tmp/mia-boundary"))
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--seeds", default="0")
    parser.add_argument("--datasets", default=",".join(DATASETS))
    args = parser.parse_args()
    head = ("dataset", "seed", "train", "test", "gap", "boundary", "diff", "queries", "s")
    print(" ".join(f"{h:>8}" if i else f"{h:<8}" for i, h in enumerate(head)))
    for name in args.datasets.split(","):
        model, files = prepare(name, args.adult, args.work / name)
        for seed in (int(s) for s in args.seeds.split(",")):
            m = measure(model, files, args.queries, seed)
            print(
                f"{name:<8} {seed:>8} {m['train']:8.3f} {m['test']:8.3f} {m['gap']:8.3f} {m['boundary']:8.3f} "
                f"{m['boundary'] - m['gap']:+8.3f} {m['queries']:8d} {m['seconds']:8.1f}  {m['choice']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
