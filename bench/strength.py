"""How strong is each attack? One table of every registered attack over seven bench targets.

Each target is audited with ``mia_audit.audit.audit`` and its defaults (every registered attack,
default settings; ``trust_model`` only to open the skops files), and each attack's AUC and TPR at
1% and 0.1% FPR is printed, auditor-only attacks marked:

- ``adult``: UCI Adult (``../shared/data/adult.csv``, label ``income``), 1,500 members / 1,500
  holdout / 3,000 population; a scikit-learn pipeline (numbers standardised, text one-hot) ending
  in an overfitted MLPClassifier(64, lbfgs, alpha 0: 100% train, 79% test), saved with skops;
- ``digits``: scikit-learn's digits, 500 / 500 / 797; an overfitted MLPClassifier(128), skops;
- ``location``: the Location-like proxy of bench/bench_reference.py (446 binary features, 30
  classes, 1,000 / 1,000 / 3,010) and its overfitted torch MLP exported to ONNX;
- ``forest``: bench/format_agreement.py's random forest (100 trees, min_samples_leaf 3, sqrt
  features) on the ``adult`` records, skops;
- ``torch-pt``, ``torch-pt2``, ``torch-onnx``: one torch MLP (64-128-10, softmax, trained to 100%)
  on the ``digits`` records, saved as TorchScript, as a torch.export program (dynamic batch) and
  as ONNX: the three rows should agree.

Where ``art`` (adversarial-robustness-toolbox) imports, two rows per target are added: ``ART
shadow+GB`` (ART's ShadowModels, as many as the audit's shadow models: clones of the target's
scikit-learn classifier, or for ONNX and torch an MLPClassifier of the hidden sizes read off the
graph, trained on the population; MembershipInferenceBlackBox's gradient-boosting attack model
fitted on their outputs and scored on the audit's evaluation members and holdout) and ``ART
black-box GB`` (MembershipInferenceBlackBox, ``attack_model_type="gb"``, trained on the target's
outputs for half of the evaluation members and holdout and scored on the other half). ART is not a
dependency of mia-audit; to get these rows, run in a separate venv:

    python -m venv /tmp/art-venv && /tmp/art-venv/bin/pip install torch==2.13.0 \\
        adversarial-robustness-toolbox==1.20.1 -e /work/main
    /tmp/art-venv/bin/python bench/strength.py --quick

Built targets are kept in ``--work`` (model and CSV files), so a rerun only audits.

    python bench/strength.py [--targets adult,digits,location,forest,torch-pt,torch-pt2,torch-onnx]
                             [--seed 0] [--work /tmp/mia-strength] [--quick]

``--quick``: 4 shadow and 4 reference models instead of the defaults.

Measured on 2026-11-29, 2 cores, ``python bench/strength.py --quick`` (seed 0; 4 shadow and 4 reference
models), mia-audit at ffc592f: 263 s wall for all seven targets. Each cell: AUC, TPR at 1% FPR, TPR at
0.1% FPR (n/a: too few non-members to resolve 0.1%); * auditor only:

                                adult          digits         location       forest         torch .pt
    threshold.loss              .590 .000 .000 .519 .014 n/a  .861 .008 .000 .522 .007 .001 .494 .000 n/a
    threshold.confidence        .491 .000 .000 .518 .014 n/a  .854 .008 .000 .510 .007 .001 .494 .000 n/a
    threshold.entropy           .500 .000 .000 .518 .014 n/a  .854 .010 .000 .510 .007 .001 .494 .008 n/a
    threshold.modified_entropy  .590 .000 .000 .520 .014 n/a  .861 .008 .000 .522 .007 .001 .495 .006 n/a
    shadow.shokri               .664 .031 .001 .628 .010 n/a  .874 .032 .004 .533 .017 .000 .591 .010 n/a
    shadow.one                  .518 .020 .000 .647 .030 n/a  .852 .007 .000 .510 .007 .001 .526 .004 n/a
    shadow.combined             .585 .000 .000 .569 .000 n/a  .861 .009 .000 .522 .007 .001 .594 .000 n/a
    calibrated.loss             .637 .000 .000 .601 .012 n/a  .866 .033 .007 .551 .019 .001 .562 .008 n/a
    calibrated.confidence       .637 .000 .000 .601 .012 n/a  .866 .033 .007 .541 .019 .001 .562 .008 n/a
    calibrated.entropy          .486 .000 .000 .605 .012 n/a  .858 .030 .007 .518 .007 .001 .547 .012 n/a
    calibrated.modified_entropy .641 .000 .000 .616 .010 n/a  .875 .046 .007 .555 .019 .001 .570 .012 n/a
    shadow.risk_score           .647 .025 .000 .633 .018 n/a  .881 .071 .012 .536 .015 .004 .609 .008 n/a
    lira.offline                .626 .000 .000 .650 .090 n/a  .884 .452 .339 .652 .029 .004 .609 .044 n/a
    lira.online                 .617 .000 .000 .667 .132 n/a  .946 .538 .413 .621 .024 .004 .633 .062 n/a
    rmia                        .669 .028 .015 .645 .070 n/a  .964 .589 .402 .707 .112 .019 .649 .076 n/a
    stacked                     .667 .028 .015 .693 .112 n/a  .968 .627 .439 .707 .112 .019 .649 .076 n/a
    transfer                    .490 .000 .000 .519 .014 n/a  .854 .009 .000 .510 .007 .001 .494 .010 n/a
    label_only.gap              .605 .000 .000 .515 .000 n/a  .651 .000 .000 .518 .000 .000 .511 .000 n/a
    label_only.boundary         .666 .040 .000 .634 .052 n/a  .851 .272 .102 .544 .019 .005 .599 .046 n/a
    supervised *                .678 .059 .029 .701 .080 n/a  .975 .611 .448 .703 .102 .015 .662 .068 n/a
    ART shadow+GB               .654 .026 .012 .571 .014 n/a  .854 .016 .001 .533 .014 .003 .579 .002 n/a
    ART black-box GB            .659 .023 n/a  .583 .008 n/a  .857 .016 n/a  .541 .012 n/a  .539 .008 n/a

``torch-pt2`` equals ``torch-pt`` in every cell; ``torch-onnx`` differs in three (ONNX Runtime's float32
sums differ from torch's in the last bits): shadow.shokri AUC .592, shadow.risk_score AUC .612,
supervised .661 / .070. Train / test accuracy and risk: adult 1.000 / .790 medium, digits 1.000 / .970
high, location 1.000 / .698 critical, forest .881 / .845 high, torch 1.000 / .978 high. The ART rows
come from a second run, at 390b7ff, with ART 1.20.1 importable (every audit number the same, 295 s);
ART black-box GB is scored on half the evaluation records, and on torch-onnx gives .543 .012.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_reference import build as build_location
from format_agreement import ADULT, build_both, read_table, write_parts

from mia_audit.attacks.registry import auditor_only_ids
from mia_audit.audit import AuditConfig, audit
from mia_audit.data.records import DataSpec
from mia_audit.result import AttackReport, AuditResult
from mia_audit.training.config import ShadowConfig
from mia_audit.training.reference_config import ReferenceConfig

TARGETS = ("adult", "digits", "location", "forest", "torch-pt", "torch-pt2", "torch-onnx")
PARTS = ("members", "holdout", "population")
TORCH_FILES = {"torch-pt": "mlp.pt", "torch-pt2": "mlp.pt2", "torch-onnx": "mlp.onnx"}


@dataclass(frozen=True)
class Target:
    """A built target: its model file, its members/holdout/population CSVs, its label column."""

    name: str
    model: Path
    files: dict[str, Path]
    label: str


@dataclass(frozen=True)
class Row:
    target: str
    attack: str
    auc: float | None
    tpr_1: float | None
    tpr_01: float | None
    note: str = ""
    seconds: float | None = None


# ----------------------------------------------------------------------------------------- targets


def split_frame(frame: pd.DataFrame, members: int, folder: Path) -> dict[str, Path]:
    """Shuffle once (seed 0) and write members/holdout/population as format_agreement does; reuse if written."""
    files = {name: folder / f"{name}.csv" for name in PARTS}
    if not all(f.exists() for f in files.values()):
        folder.mkdir(parents=True, exist_ok=True)
        shuffled = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
        files = write_parts(shuffled, argparse.Namespace(members=members), folder)
    return files


def adult_files(work: Path) -> dict[str, Path]:
    frame, _ = read_table("adult", ADULT)
    return split_frame(frame, 1500, work / "adult-data")


def digits_files(work: Path) -> dict[str, Path]:
    frame, _ = read_table("digits", ADULT)
    return split_frame(frame, 500, work / "digits-data")


def features(file: Path, label: str) -> tuple[pd.DataFrame, pd.Series]:
    frame = pd.read_csv(file)
    X = frame.drop(columns=label)
    return X.astype({c: object for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])}), frame[label]


def preprocessor(X: pd.DataFrame) -> Any:
    """Numbers standardised, text one-hot (dense), as format_agreement's pipeline."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    text = [c for c in X.columns if X[c].dtype == object]
    steps: list[tuple[str, Any, list[str]]] = [("num", StandardScaler(), [c for c in X.columns if c not in text])]
    if text:
        steps.append(("cat", OneHotEncoder(handle_unknown="ignore"), text))
    return ColumnTransformer(steps, sparse_threshold=0.0)


def overfit_mlp(hidden: tuple[int, ...], **settings: Any) -> Any:
    """No weight decay, trained long: 100% on the members. ``settings`` override the defaults (Adult's MLP
    uses lbfgs: the audit's shadow and reference models are its clones, and lbfgs fits them in seconds)."""
    from sklearn.neural_network import MLPClassifier

    mlp = {"hidden_layer_sizes": hidden, "alpha": 0.0, "max_iter": 500, "tol": 1e-6, "random_state": 0}
    return MLPClassifier(**{**mlp, **settings})


def save_skops(model: Any, path: Path) -> None:
    import skops.io as sio

    sio.dump(model, str(path))


def adult_pipeline(X: pd.DataFrame) -> Any:
    from sklearn.pipeline import Pipeline

    return Pipeline([("prep", preprocessor(X)), ("clf", overfit_mlp((64,), solver="lbfgs", max_iter=300))])


def build_adult(work: Path) -> Target:
    files, path = adult_files(work), work / "adult" / "mlp.skops"
    if not path.exists():
        X, y = features(files["members"], "income")
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            save_skops(adult_pipeline(X).fit(X, y), path)
    return Target("adult", path, files, "income")


def build_digits(work: Path) -> Target:
    files, path = digits_files(work), work / "digits" / "mlp.skops"
    if not path.exists():
        X, y = features(files["members"], "label")
        path.parent.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            save_skops(overfit_mlp((128,)).fit(X, y), path)
    return Target("digits", path, files, "label")


def build_forest(work: Path) -> Target:
    """format_agreement's forest, through its own builder (which also writes an ONNX export, unused here)."""
    files, folder = adult_files(work), work / "forest"
    if not (folder / "target.skops").exists():
        folder.mkdir(parents=True, exist_ok=True)
        X, y = features(files["members"], "income")
        forest = argparse.Namespace(model="rf", trees=100, max_depth=None, min_samples_leaf=3, max_features="sqrt")
        build_both(X, y, forest, folder)
    return Target("forest", folder / "target.skops", files, "income")


def build_loc(work: Path) -> Target:
    files, _, _ = build_location(Path("unused"), work / "location", "location")
    model = files.pop("model")
    return Target("location", model, files, "label")


def train_torch_mlp(X: np.ndarray, y: np.ndarray, epochs: int = 200) -> Any:
    """64-128-10 with a softmax head, Adam, batches of 64: 100% on the members."""
    import torch

    torch.manual_seed(0)
    inputs, labels = torch.tensor(X), torch.tensor(y)
    net = torch.nn.Sequential(torch.nn.Linear(X.shape[1], 128), torch.nn.ReLU(), torch.nn.Linear(128, int(y.max()) + 1))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    for _ in range(epochs):
        for batch in torch.randperm(len(inputs)).split(64):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(inputs[batch]), labels[batch]).backward()
            opt.step()
    return torch.nn.Sequential(net, torch.nn.Softmax(dim=1)).eval()


def save_torch_three(model: Any, example: Any, folder: Path) -> None:
    """The same module as TorchScript, as a torch.export program with a dynamic batch, and as ONNX."""
    import torch

    torch.jit.script(model).save(str(folder / TORCH_FILES["torch-pt"]))
    batch = {0: torch.export.Dim("batch")}
    program = torch.export.export(model, (example,), dynamic_shapes=(batch,))
    torch.export.save(program, folder / TORCH_FILES["torch-pt2"])
    torch.onnx.export(
        model,
        (example,),
        str(folder / TORCH_FILES["torch-onnx"]),
        input_names=["x"],
        output_names=["p"],
        dynamic_axes={"x": {0: "n"}, "p": {0: "n"}},
        dynamo=False,
    )


def build_torch(work: Path, name: str) -> Target:
    files, folder = digits_files(work), work / "torch"
    if not all((folder / f).exists() for f in TORCH_FILES.values()):
        import torch

        folder.mkdir(parents=True, exist_ok=True)
        X, y = features(files["members"], "label")
        model = train_torch_mlp(X.to_numpy(np.float32), y.to_numpy())
        save_torch_three(model, torch.tensor(X.to_numpy(np.float32)[:8]), folder)
    return Target(name, folder / TORCH_FILES[name], files, "label")


BUILDERS: dict[str, Callable[[Path], Target]] = {
    "adult": build_adult,
    "digits": build_digits,
    "location": build_loc,
    "forest": build_forest,
    **{name: (lambda work, name=name: build_torch(work, name)) for name in TORCH_FILES},
}


# ------------------------------------------------------------------------------------------ audits


def audit_config(seed: int, quick: bool) -> AuditConfig:
    if not quick:
        return AuditConfig(seed=seed, trust_model=True)
    return AuditConfig(
        seed=seed, trust_model=True, shadow=ShadowConfig(n_models=4), reference=ReferenceConfig(n_models=4)
    )


def run_audit(target: Target, config: AuditConfig) -> AuditResult:
    files = target.files
    spec = DataSpec(
        members=files["members"], holdout=files["holdout"], population=files["population"], label_col=target.label
    )
    return audit(target.model, spec, config)


def auditor_only(report: AttackReport) -> bool:
    """The report's own flag where it has one; else the registry's (the attacks handed the evaluation membership)."""
    flag = getattr(report, "auditor_only", None)
    return bool(flag) if flag is not None else report.id in auditor_only_ids()


def audit_rows(target: Target, result: AuditResult) -> list[Row]:
    rows = []
    for report in result.attacks:
        m = report.metrics
        note = "auditor only" if auditor_only(report) else ""
        tprs = m.tpr_at_fpr.get("0.01"), m.tpr_at_fpr.get("0.001")
        rows.append(Row(target.name, report.id, m.auc, *tprs, note, report.duration_s))
    rows += [Row(target.name, s.id, None, None, None, f"skipped: {s.reason}"[:60]) for s in result.skipped]
    return rows


# --------------------------------------------------------------------------------------------- ART


@dataclass(frozen=True)
class ArtInputs:
    """What the ART attacks see: the target's outputs and labels (0..C-1) on the evaluation records and the
    population, the population's features encoded as numbers, which evaluation records are members, and the
    (unfitted) classifier ART's shadow models copy."""

    eval_probs: np.ndarray
    eval_y: np.ndarray
    member: np.ndarray
    population_x: np.ndarray
    population_y: np.ndarray
    n_classes: int
    shadow: Any


def evaluation_frame(target: Target, result: AuditResult) -> tuple[pd.DataFrame, np.ndarray]:
    """The audit's evaluation records (from result.records: file and row), in its order, and their membership."""
    records = result.records
    assert records is not None
    members, holdout = (pd.read_csv(target.files[name]) for name in ("members", "holdout"))
    offset = np.where(np.asarray(records.source) == "holdout", len(members), 0)
    rows = np.asarray(records.row_index) + offset
    both = pd.concat([members, holdout], ignore_index=True)
    return both.iloc[rows].reset_index(drop=True), np.asarray(records.member, dtype=bool)


def art_inputs(target: Target, result: AuditResult) -> ArtInputs:
    from mia_audit.data.labels import map_labels
    from mia_audit.models.loader import load_model

    model = load_model(target.model, trust_model=True)
    evaluation, member = evaluation_frame(target, result)
    population = pd.read_csv(target.files["population"])
    X_eval, X_pop = (f.drop(columns=target.label) for f in (evaluation, population))
    X_pop = X_pop.astype({c: object for c in X_pop.columns if not pd.api.types.is_numeric_dtype(X_pop[c])})
    return ArtInputs(
        eval_probs=np.asarray(model.predict_proba(X_eval), dtype=np.float64),
        eval_y=map_labels(evaluation[target.label].to_numpy(), model.classes).indices,
        member=member,
        population_x=np.asarray(preprocessor(X_pop).fit_transform(X_pop), dtype=np.float32),
        population_y=map_labels(population[target.label].to_numpy(), model.classes).indices,
        n_classes=model.n_classes,
        shadow=shadow_estimator(model, result.run.seed),
    )


def shadow_estimator(model: Any, seed: int) -> Any:
    """A clone of the target's scikit-learn classifier (a pipeline's last step: ART's shadows see encoded
    numbers); for ONNX and torch targets an overfitting MLPClassifier of the hidden sizes read off the graph."""
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline

    estimator = getattr(model, "estimator", None)
    if estimator is not None:
        last = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
        return clone(last).set_params(random_state=seed)
    arch = model.architecture
    hidden = tuple(arch.hidden) if arch is not None and arch.hidden else (128,)
    return overfit_mlp(hidden, random_state=seed)


def one_hot(y: np.ndarray, n_classes: int) -> np.ndarray:
    return np.eye(n_classes, dtype=np.float32)[y]


def not_queried(x: np.ndarray) -> np.ndarray:
    raise RuntimeError("the target's outputs are passed to the attack; it does not query the model")


def gb_attack(n_classes: int, n_features: int) -> Any:
    from art.attacks.inference.membership_inference import MembershipInferenceBlackBox
    from art.estimators.classification import BlackBoxClassifier

    estimator = BlackBoxClassifier(not_queried, input_shape=(n_features,), nb_classes=n_classes)
    return MembershipInferenceBlackBox(estimator, attack_model_type="gb")


def shadow_template(data: ArtInputs) -> Any:
    """The shadow classifier fitted on one population record per class: ART's ``clone_for_refitting``
    reads the classes off a fitted model, then refits clones from scratch."""
    from art.estimators.classification import SklearnClassifier
    from sklearn.base import clone

    model = clone(data.shadow)
    first = np.unique(data.population_y, return_index=True)[1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(data.population_x[first], data.population_y[first])
    return SklearnClassifier(model)


def art_shadow_row(target: Target, data: ArtInputs, n_shadows: int, seed: int) -> Row:
    from art.attacks.inference.membership_inference import ShadowModels

    shadows = ShadowModels(shadow_template(data), num_shadow_models=n_shadows, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (_, m_y, m_pred), (_, n_y, n_pred) = shadows.generate_shadow_dataset(
            data.population_x, one_hot(data.population_y, data.n_classes)
        )
    attack = gb_attack(data.n_classes, data.population_x.shape[1])
    attack.fit(y=m_y, test_y=n_y, pred=m_pred, test_pred=n_pred)
    scores = attack.infer(None, one_hot(data.eval_y, data.n_classes), pred=data.eval_probs, probabilities=True)
    note = f"{n_shadows} {type(data.shadow).__name__} shadows on the population"
    return scored_row(target.name, "ART shadow+GB", scores[:, 0], data.member, note)


def art_blackbox_row(target: Target, data: ArtInputs, seed: int) -> Row:
    """Train on a random half of the evaluation members and of the holdout, score the other halves."""
    rng = np.random.default_rng(seed)
    first = np.zeros(len(data.member), dtype=bool)
    for group in (np.flatnonzero(data.member), np.flatnonzero(~data.member)):
        first[rng.permutation(group)[: len(group) // 2]] = True
    y = one_hot(data.eval_y, data.n_classes)
    fit_m, fit_n = first & data.member, first & ~data.member
    attack = gb_attack(data.n_classes, data.population_x.shape[1])
    attack.fit(y=y[fit_m], test_y=y[fit_n], pred=data.eval_probs[fit_m], test_pred=data.eval_probs[fit_n])
    scores = attack.infer(None, y[~first], pred=data.eval_probs[~first], probabilities=True)
    note = "trained on half the members/holdout, scored on the other half"
    return scored_row(target.name, "ART black-box GB", scores[:, 0], data.member[~first], note)


def scored_row(target: str, attack: str, scores: np.ndarray, member: np.ndarray, note: str) -> Row:
    from mia_audit.stats import auc, tpr_at_fpr

    return Row(
        target, attack, auc(scores, member), tpr_at_fpr(scores, member, 0.01), tpr_at_fpr(scores, member, 0.001), note
    )


def art_rows(target: Target, result: AuditResult, n_shadows: int, seed: int) -> list[Row]:
    """The two ART rows, or none where ART does not import."""
    try:
        import art
    except ImportError:
        return []
    np.random.seed(seed)  # ART's GradientBoostingClassifier() draws from the global generator
    data = art_inputs(target, result)
    rows = []
    for make in (lambda: art_shadow_row(target, data, n_shadows, seed), lambda: art_blackbox_row(target, data, seed)):
        t0 = time.perf_counter()
        row = make()
        rows.append(replace(row, note=f"{row.note} (ART {art.__version__})", seconds=time.perf_counter() - t0))
    return rows


# ------------------------------------------------------------------------------------------- table


def number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def print_header() -> None:
    print(f"{'target':<11} {'attack':<28} {'AUC':>6} {'TPR@1%':>7} {'TPR@0.1%':>8} {'s':>6}  note")


def print_rows(rows: list[Row]) -> None:
    """Each target's rows as soon as its audit ends (one table: a run cut short keeps what it printed)."""
    for r in rows:
        took = "" if r.seconds is None else f"{r.seconds:.0f}"
        numbers = f"{number(r.auc):>6} {number(r.tpr_1):>7} {number(r.tpr_01):>8} {took:>6}"
        print(f"{r.target:<11} {r.attack:<28} {numbers}  {r.note}".rstrip(), flush=True)


def summary(target: Target, result: AuditResult, took: float) -> str:
    u = result.utility
    return (
        f"{target.name}: {result.model.format}, train {u.train_accuracy:.3f} / test {u.test_accuracy:.3f}, "
        f"{result.data.eval_members}+{result.data.eval_nonmembers} evaluated, risk {result.risk.level}, {took:.0f} s"
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--targets", default=",".join(TARGETS), help="comma-separated, from: " + ", ".join(TARGETS))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/mia-strength"))
    parser.add_argument("--quick", action="store_true", help="4 shadow and 4 reference models")
    args = parser.parse_args()
    args.targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = sorted(set(args.targets) - set(TARGETS))
    if unknown:
        parser.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    return args


def main() -> None:
    args = parse_args()
    config = audit_config(args.seed, args.quick)
    summaries: list[str] = []
    start = time.perf_counter()
    print_header()
    for name in args.targets:
        target = BUILDERS[name](args.work)
        print(f"[{time.perf_counter() - start:5.0f} s] auditing {name} ({target.model.name})", file=sys.stderr)
        t0 = time.perf_counter()
        result = run_audit(target, config)
        summaries.append(summary(target, result, time.perf_counter() - t0))
        print_rows(audit_rows(target, result) + art_rows(target, result, config.shadow.n_models, args.seed))
    print("\n".join(summaries))
    print(f"seed {args.seed}{', --quick' if args.quick else ''}; {time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
