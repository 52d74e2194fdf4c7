"""How strong are the regression attacks (``--task regression``)? One table over real regressors.

Each target is audited with ``mia_audit.audit.audit`` (task regression, every regression attack,
default settings; ``trust_model`` only to open the skops files) and each attack's AUC and TPR at 1%
and 0.1% FPR is printed:

- ``diabetes-rf``: scikit-learn's diabetes data (442 patients, 10 features, disease progression),
  a random half as members, the rest held out; RandomForestRegressor(100), skops;
- ``diabetes-rf-onnx``: the same forest exported with skl2onnx (the row should agree with the above);
- ``diabetes-mlp``: MLPRegressor(256, 256), alpha 0, trained to train R² 1.0, exported to ONNX;
- ``adult-age``: UCI Adult (``../shared/data/adult.csv``), the label ``age`` predicted from the other
  columns (``income`` included), 1,500 members / 1,500 holdout / 3,000 population; a pipeline of
  one-hot text columns and a RandomForestRegressor(100), skops.

Where ``art`` (adversarial-robustness-toolbox) imports, a row per target is added: ``ART black-box
GB`` (MembershipInferenceBlackBox on the regressor, ``input_type="loss"``, gradient boosting, trained
on the target's squared error for half of the evaluation members and holdout, labelled with their
membership, and scored on the other half). ART's shadow models attack classifiers only. ART is not a
dependency of mia-audit; to get the row, put it on the path, e.g.

    pip install --target /tmp/artpkg --no-deps adversarial-robustness-toolbox==1.20.1 six tqdm
    PYTHONPATH=/tmp/artpkg python bench/regression.py

    python bench/regression.py [--targets diabetes-rf,diabetes-rf-onnx,diabetes-mlp,adult-age]
                               [--seed 0] [--work /tmp/mia-regression]

Measured on 2026-11-30, 2 cores (load ~0.1 before the run), mia-audit at 8f8eb7a, ART 1.20.1 on the
path: 64 s wall for the four targets (9, 3, 26, 26 s). AUC, TPR at 1% FPR, TPR at 0.1% FPR:

                      diabetes-rf       diabetes-rf-onnx  diabetes-mlp      adult-age
    threshold.loss    .783 .072 n/a     .783 .072 n/a     .993 .982 n/a     .756 .036 .009
    calibrated.loss   .818 .117 n/a     .815 .135 n/a     .771 .036 n/a     .788 .115 .040
    lira.offline      .905 .333 n/a     .902 .387 n/a     .987 .577 n/a     .875 .254 .074
    lira.online       .937 .396 n/a     .937 .378 n/a     .996 .982 n/a     .913 .289 .077
    rmia              .931 .387 n/a     .932 .405 n/a     .998 .982 n/a     .906 .296 .149
    ART black-box GB  .660 n/a  n/a     .660 n/a  n/a     .990 n/a  n/a     .797 .057 n/a
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

ADULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "adult.csv"


@dataclass(frozen=True)
class Row:
    attack: str
    auc: float
    tpr1: float | None
    tpr01: float | None


def _split_frame(X: pd.DataFrame, y: pd.Series, label: str, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    member = np.zeros(len(X), dtype=bool)
    member[np.random.default_rng(seed).permutation(len(X))[: len(X) // 2]] = True
    return X.assign(**{label: y.to_numpy(), "member": member.astype(int)}), member


def _diabetes(work: Path, seed: int) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, pd.Series]:
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True, as_frame=True)
    frame, member = _split_frame(X, y, "target", seed)
    frame.to_csv(work / "diabetes.csv", index=False)
    return frame, member, X, y


def build_diabetes_rf(work: Path, seed: int) -> tuple[Path, Path]:
    import skops.io as sio
    from sklearn.ensemble import RandomForestRegressor

    _, member, X, y = _diabetes(work, seed)
    forest = RandomForestRegressor(100, random_state=seed).fit(X[member], y[member])
    sio.dump(forest, work / "diabetes_rf.skops")
    from skl2onnx import to_onnx

    onnx_model = to_onnx(forest, X[:1].to_numpy(dtype=np.float32), target_opset={"": 17, "ai.onnx.ml": 3})
    (work / "diabetes_rf.onnx").write_bytes(onnx_model.SerializeToString())
    return work / "diabetes_rf.skops", work / "diabetes.csv"


def build_diabetes_rf_onnx(work: Path, seed: int) -> tuple[Path, Path]:
    if not (work / "diabetes_rf.onnx").exists():
        build_diabetes_rf(work, seed)
    return work / "diabetes_rf.onnx", work / "diabetes.csv"


def build_diabetes_mlp(work: Path, seed: int) -> tuple[Path, Path]:
    from skl2onnx import to_onnx
    from sklearn.neural_network import MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _, member, X, y = _diabetes(work, seed)
    mlp = MLPRegressor(hidden_layer_sizes=(256, 256), alpha=0.0, max_iter=3000, tol=1e-7, n_iter_no_change=100)
    model = make_pipeline(StandardScaler(), mlp.set_params(random_state=seed)).fit(X[member], y[member])
    onnx_model = to_onnx(model, X[:1].to_numpy(dtype=np.float32), target_opset=17)
    (work / "diabetes_mlp.onnx").write_bytes(onnx_model.SerializeToString())
    return work / "diabetes_mlp.onnx", work / "diabetes.csv"


def build_adult_age(work: Path, seed: int) -> tuple[Path, Path]:
    import skops.io as sio
    from sklearn.compose import make_column_transformer
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    adult = pd.read_csv(ADULT).sample(6000, random_state=seed).reset_index(drop=True)
    text = [c for c in adult.columns if not pd.api.types.is_numeric_dtype(adult[c])]
    role = np.array(["member"] * 1500 + ["holdout"] * 1500 + ["population"] * 3000)
    members, holdout, population = (adult[role == r] for r in ("member", "holdout", "population"))
    encode = make_column_transformer((OneHotEncoder(handle_unknown="ignore"), text), remainder="passthrough")
    model = make_pipeline(encode, RandomForestRegressor(100, random_state=seed, n_jobs=1))
    model.fit(members.drop(columns="age"), members["age"])
    sio.dump(model, work / "adult_age.skops")
    for name, part in (("members", members), ("holdout", holdout), ("population", population)):
        part.to_csv(work / f"adult_age_{name}.csv", index=False)
    return work / "adult_age.skops", work / "adult_age_members.csv"


BUILDERS: dict[str, Callable[[Path, int], tuple[Path, Path]]] = {
    "diabetes-rf": build_diabetes_rf,
    "diabetes-rf-onnx": build_diabetes_rf_onnx,
    "diabetes-mlp": build_diabetes_mlp,
    "adult-age": build_adult_age,
}


def data_spec(data: Path) -> object:
    from mia_audit.data.records import DataSpec

    if data.name.endswith("_members.csv"):
        stem = str(data)[: -len("_members.csv")]
        return DataSpec(
            members=data,
            holdout=Path(stem + "_holdout.csv"),
            population=Path(stem + "_population.csv"),
            label_col="age",
        )
    return DataSpec(data=data, label_col="target")


def audit_rows(model: Path, data: Path, seed: int) -> tuple[list[Row], object]:
    from mia_audit.audit import AuditConfig, audit

    result = audit(model, data_spec(data), AuditConfig(task="regression", seed=seed, trust_model=True))  # type: ignore[arg-type]
    rows = [
        Row(a.id, a.metrics.auc, a.metrics.tpr_at_fpr.get("0.01"), a.metrics.tpr_at_fpr.get("0.001"))
        for a in result.attacks
    ]
    return rows, result


def art_row(model: Path, data: Path, seed: int) -> Row | None:
    """ART's black-box attack on the squared error, trained on half the evaluation membership."""
    try:
        from art.attacks.inference.membership_inference import MembershipInferenceBlackBox
        from art.estimators.regression import BlackBoxRegressor
    except ImportError:
        return None
    from mia_audit.audit import query_regressor
    from mia_audit.data.records import read_tables, split_audit
    from mia_audit.judge.metrics import auc, tpr_at_fpr
    from mia_audit.models.loader import load_regressor

    records = split_audit(read_tables(data_spec(data)), seed)  # type: ignore[arg-type]
    target = load_regressor(model, trust_model=True)
    predictions = query_regressor(target, records)
    values = pd.to_numeric(pd.Series(records.raw_labels)).to_numpy(dtype=np.float64)
    idx, member = records.eval_idx, records.is_member[records.eval_idx]
    half = np.random.default_rng(seed).permutation(len(idx)) < len(idx) // 2
    X = np.arange(len(values), dtype=np.float64)[:, None]  # ART only passes rows to predict_fn: index rows

    def predict(rows: np.ndarray) -> np.ndarray:
        return predictions[rows[:, 0].astype(int)]

    estimator = BlackBoxRegressor(predict, input_shape=(1,))
    attack = MembershipInferenceBlackBox(estimator, input_type="loss", attack_model_type="gb")
    train_in, train_out = idx[half & member], idx[half & ~member]
    attack.fit(X[train_in], values[train_in], X[train_out], values[train_out])
    test = idx[~half]
    scores = attack.infer(X[test], values[test], probabilities=True).ravel()
    truth = member[~half]
    rates = tpr_at_fpr(scores, truth, 0.01), tpr_at_fpr(scores, truth, 0.001)
    return Row("ART black-box GB", auc(scores, truth), *rates)


def _cell(row: Row | None) -> str:
    if row is None:
        return " " * 14

    def rate(v: float | None) -> str:
        return "n/a " if v is None else f"{v:.3f}"[1:] if v < 1 else "1.00"

    return f"{row.auc:.3f}"[1:] + f" {rate(row.tpr1)} {rate(row.tpr01)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--targets", default=",".join(BUILDERS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mia-regression"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    table: dict[str, dict[str, Row]] = {}
    names = args.targets.split(",")
    for name in names:
        start = time.perf_counter()
        model, data = BUILDERS[name](args.work, args.seed)
        rows, result = audit_rows(model, data, args.seed)
        extra = art_row(model, data, args.seed)
        table[name] = {r.attack: r for r in [*rows, *([extra] if extra else [])]}
        level = result.risk.level  # type: ignore[attr-defined]
        print(f"{name}: {time.perf_counter() - start:.0f} s, risk {level}", flush=True)
    attacks = list(dict.fromkeys(a for rows in table.values() for a in rows))
    print(" " * 18 + "".join(f"{n:<18}" for n in names))
    for attack in attacks:
        print(f"{attack:<18}" + "".join(f"{_cell(table[n].get(attack)):<18}" for n in names))


if __name__ == "__main__":
    main()
