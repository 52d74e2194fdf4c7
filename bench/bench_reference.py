"""Reference-model attacks (issue 5) against an independent offline LiRA, side by side on one machine.

Setting of bench/shadow_check.py: UCI Adult, label = occupation × sex (27 classes), 1,000 members,
1,000 holdout, 3,010 population, and an overfitted torch MLP (one hidden layer of 128) exported to
ONNX. Three parts, all in one process so that their timings share the machine's load:

1. An independent offline LiRA, as the issue's check runs it: 8 scikit-learn MLPClassifier(128)
   reference models trained one at a time on random halves of the population, a Gaussian with one
   global variance fitted to each record's OUT values of the logit-scaled confidence.
2. mia-audit's `lira.offline`, `lira.online` and `rmia` through the library with default settings
   (K = 16); their durations include training the shared reference pool.
3. The issue's speed comparison: the same 16 models (same split, same records, same features)
   trained batched by mia-audit and one at a time with scikit-learn's MLPClassifier, each pool
   then attacked with the same three scoring rules.

    python bench/bench_reference.py [--adult ../shared/data/adult.csv] [--work DIR]
                                    [--setting adult|location] [--seed 0] [--skip-loop] [--threads N]

``--setting location`` replaces Adult with generated check-in-like data of the same sizes: 446
sparse binary features and 30 classes from overlapping class profiles (the shape of Shokri et al.'s
Location dataset, with the overlap set so that the target tests at about 70%), and the same torch
target.

Measured with ``--threads 1`` on a 2-core machine (times in s; AUC / TPR at 1% FPR):

    setting, seed               independent LiRA (8)   lira.offline   lira.online    rmia           together
    Adult, 27 classes, 0        0.867 / 0.120, 21.7    0.852 / 0.182  0.929 / 0.326  0.938 / 0.331   4.1
    Location-like, 30 cl., 0    0.905 / 0.297, 35.9    0.911 / 0.485  0.968 / 0.574  0.967 / 0.598  15.7
    Location-like, 30 cl., 1    0.904 / 0.308, 44.5    0.905 / 0.491  0.968 / 0.580  0.967 / 0.623  17.9
    Location-like, 30 cl., 2    0.908 / 0.341, 42.3    0.908 / 0.488  0.968 / 0.622  0.967 / 0.626  17.6

(the Location-like target: 100% training, 69.8% test accuracy). The same 16 models (same split)
trained batched vs one at a time with MLPClassifier: 4.2 vs 33.2 s (Adult), 28.5 vs 100.4 s
(Location-like, on a machine shared with a test run). ``lira.offline`` with its own 16 models on
population records only (``offline_models="population"``): 0.872 / 0.342 on Location-like, seed
0, and a second pool's training time.

``--threads N`` caps both scikit-learn's BLAS and torch at N threads, for comparisons on a machine
that other processes share (BLAS threads stall badly under contention). ``--data DIR`` runs on a
folder that already holds members.csv, holdout.csv, population.csv of the same sizes (label column
``label``) and mlp.onnx instead of building a setting.
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from shadow_check import N_HOLDOUT, N_MEMBERS, N_POPULATION, dataset, torch_onnx

from mia_audit import signals
from mia_audit.attacks.reference import fit_gaussians, offline_scores, online_scores, rmia_ratios, rmia_scores
from mia_audit.audit import AuditConfig, audit
from mia_audit.data.records import DataSpec
from mia_audit.judge.metrics import auc, tpr_at_fpr
from mia_audit.training.encoding import FeatureEncoder
from mia_audit.training.families import FamilyChoice
from mia_audit.training.mlp import MLPSpec
from mia_audit.training.reference_config import ReferenceConfig
from mia_audit.training.reference_pool import (
    ReferencePool,
    build_reference_pool,
    model_matrix,
    reference_split,
    tempered_true_probability,
)


def location_like(seed: int = 42) -> pd.DataFrame:
    """Check-in-like records: 446 sparse binary features, 30 classes from overlapping class profiles."""
    rng = np.random.default_rng(seed)
    n, n_features, n_classes = N_MEMBERS + N_HOLDOUT + N_POPULATION, 446, 30
    rates = rng.beta(0.4, 3.0, size=n_features)
    profiles = np.clip(rates * rng.lognormal(0.0, 1.0, size=(n_classes, n_features)), 0.0, 0.95)
    label = rng.integers(0, n_classes, n)
    # How much of a record comes from its own class profile: 0.3–1 gives an MLP of the shape
    # 100% training and about 70% test accuracy, as reported for Location (0.5–1 gave 90%).
    share = rng.uniform(0.3, 1.0, n)[:, None]
    p = share * profiles[label] + (1 - share) * profiles[rng.integers(0, n_classes, n)]
    frame = pd.DataFrame((rng.uniform(size=(n, n_features)) < p).astype(np.float32))
    frame.columns = [f"f{i:03d}" for i in range(n_features)]
    frame["label"] = label
    return frame


def build(adult: Path, work: Path, setting: str) -> tuple[dict[str, Path], pd.DataFrame, int]:
    work.mkdir(parents=True, exist_ok=True)
    frame = dataset(adult) if setting == "adult" else location_like()
    n_classes = int(frame["label"].max()) + 1
    a, b, c = N_MEMBERS, N_MEMBERS + N_HOLDOUT, N_MEMBERS + N_HOLDOUT + N_POPULATION
    parts = {"members": frame.iloc[:a], "holdout": frame.iloc[a:b], "population": frame.iloc[b:c]}
    files = {name: work / f"{name}.csv" for name in parts}
    for name, part in parts.items():
        part.to_csv(files[name], index=False)
    files["model"] = work / "mlp.onnx"
    if not files["model"].exists():
        torch_onnx(parts["members"], n_classes, files["model"])
    return files, frame.iloc[:c].reset_index(drop=True), n_classes


def prepared(folder: Path) -> tuple[dict[str, Path], pd.DataFrame, int]:
    files = {name: folder / f"{name}.csv" for name in ("members", "holdout", "population")}
    files["model"] = folder / "mlp.onnx"
    frame = pd.concat([pd.read_csv(files[name]) for name in ("members", "holdout", "population")], ignore_index=True)
    return files, frame, int(frame["label"].max()) + 1


def target_probs(model: Path, frame: pd.DataFrame) -> np.ndarray:
    """The target's probabilities for every record, through mia-audit's own adapter, in class order 0..C-1."""
    from mia_audit.models.loader import load_model

    target = load_model(model)
    probs = np.asarray(target.predict_proba(frame.drop(columns="label")), dtype=np.float64)
    order = np.argsort([int(c) for c in target.classes])
    return probs[:, order]


def sklearn_probs(X: np.ndarray, y: np.ndarray, rows: np.ndarray, n_classes: int, seed: int) -> np.ndarray:
    from sklearn.neural_network import MLPClassifier

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPClassifier(hidden_layer_sizes=(128,), random_state=seed).fit(X[rows], y[rows])
    probs = np.zeros((len(X), n_classes))
    probs[:, model.classes_] = model.predict_proba(X)
    return probs


def show(name: str, scores: np.ndarray, member: np.ndarray, seconds: float | None) -> None:
    took = f"{seconds:6.1f} s" if seconds is not None else " " * 8
    print(f"  {name:<38} AUC {auc(scores, member):.3f}   TPR@1% {tpr_at_fpr(scores, member, 0.01):.3f}   {took}")


def independent_lira(X, y, p, member, n_classes: int, seed: int) -> float:  # type: ignore[no-untyped-def]
    """Part 1: 8 MLPClassifier reference models on population halves, offline LiRA, global variance."""
    audit_rows, population = np.arange(N_MEMBERS + N_HOLDOUT), np.arange(N_MEMBERS + N_HOLDOUT, len(X))
    rng = np.random.default_rng([seed, 99])
    start = time.perf_counter()
    outs = []
    for k in range(8):
        rows = rng.permutation(population)[: len(population) // 2]
        outs.append(signals.logit_confidence(sklearn_probs(X, y, rows, n_classes, seed + k)[audit_rows], y[audit_rows]))
    values = np.array(outs)
    mean = values.mean(axis=0)
    sd = float(np.sqrt(((values - mean) ** 2).sum() / (values.size - values.shape[1])))
    scores = offline_scores(signals.logit_confidence(p[audit_rows], y[audit_rows]), mean, sd)
    took = time.perf_counter() - start
    show("independent offline LiRA, 8 sklearn MLPs", scores, member[audit_rows], took)
    return took


def library_attacks(files: dict[str, Path], seed: int) -> float:
    """Part 2: `lira.*` and `rmia` through mia_audit.audit with default settings."""
    spec = DataSpec(members=files["members"], holdout=files["holdout"], population=files["population"])
    result = audit(files["model"], spec, AuditConfig(attacks=("threshold.loss", "lira", "rmia"), seed=seed))
    total = 0.0
    for report in result.attacks:
        m = report.metrics
        took = report.duration_s if report.family == "reference" else None
        total += took or 0.0
        shown = f"{took:6.1f} s" if took is not None else " " * 8
        print(f"  mia-audit {report.id:<28} AUC {m.auc:.3f}   TPR@1% {m.tpr_at_fpr['0.01']:.3f}   {shown}")
    for note in dict.fromkeys(r.notes[0] for r in result.attacks if r.family == "reference"):
        print(f"    ({note})")
    return total


def pool_attacks(name: str, pool: ReferencePool, p: np.ndarray, y: np.ndarray, member: np.ndarray, took: float) -> None:
    audit_rows = np.arange(N_MEMBERS + N_HOLDOUT)
    population = np.arange(N_MEMBERS + N_HOLDOUT, len(y))
    logit = signals.logit_confidence(p, y)
    g = fit_gaussians(pool.logit, pool.in_mask)
    gamma = ReferenceConfig().gamma
    ratio, _ = rmia_ratios(pool, p, y, audit_rows, population, gamma)
    print(f"  {name}: trained in {took:.1f} s")
    offline = offline_scores(logit, g.mean_out, g.sd_out)[audit_rows]
    show("  lira.offline (OUT models of this pool)", offline, member[audit_rows], None)
    show("  lira.online", online_scores(logit, g)[audit_rows], member[audit_rows], None)
    show("  rmia", rmia_scores(ratio[audit_rows], ratio[population], gamma), member[audit_rows], None)


def batched_versus_loop(frame: pd.DataFrame, p: np.ndarray, member: np.ndarray, n_classes: int, seed: int) -> None:
    """Part 3: the same 16 models, batched (mia-audit) and one at a time (scikit-learn)."""
    features, y = frame.drop(columns="label"), frame["label"].to_numpy()
    audit_rows = np.arange(N_MEMBERS + N_HOLDOUT)
    population = np.arange(N_MEMBERS + N_HOLDOUT, len(frame))
    config = ReferenceConfig()
    split = reference_split(len(frame), audit_rows, population, N_MEMBERS, config.n_models, np.random.default_rng(seed))
    encoder = FeatureEncoder.fit(features.iloc[population])
    choice = FamilyChoice("mlp", "bench", mlp=MLPSpec(hidden=(128,)))
    classes = tuple(range(n_classes))
    batched = build_reference_pool(features, y, p, split, choice, config, classes, encoder, seed=seed)
    pool_attacks(f"batched, K = {config.n_models} ({batched.describe()})", batched, p, y, member, batched.duration_s)
    X = model_matrix(encoder, features)
    start = time.perf_counter()
    probs = [sklearn_probs(X, y, np.flatnonzero(mask), n_classes, seed + k) for k, mask in enumerate(split.in_mask)]
    took = time.perf_counter() - start
    logit = np.array([signals.logit_confidence(q, y) for q in probs])
    p_true = {t: np.array([tempered_true_probability(q, y, t) for q in probs]) for t in batched.p_true}
    looped = replace(batched, logit=logit, p_true=p_true, epochs=None, matched=0, duration_s=took)
    pool_attacks(f"sklearn MLPClassifier loop, K = {config.n_models}, same split", looped, p, y, member, took)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--adult", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/adult.csv")
    parser.add_argument("--work", type=Path, default=None, help="default: /tmp/mia-reference-SETTING")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-loop", action="store_true", help="skip part 3 (16 scikit-learn models in a loop)")
    parser.add_argument("--threads", type=int, default=None, help="cap BLAS and torch threads for both sides")
    parser.add_argument("--setting", choices=("adult", "location"), default="adult")
    parser.add_argument("--data", type=Path, default=None, help="a prepared folder instead of a setting")
    args = parser.parse_args()
    if args.threads:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(args.threads)
        threadpool_limits(args.threads)
    work = args.work or Path(f"/tmp/mia-reference-{args.setting}")
    files, frame, n_classes = prepared(args.data) if args.data else build(args.adult, work, args.setting)
    X = frame.drop(columns="label").to_numpy(np.float32)
    y = frame["label"].to_numpy()
    member = np.arange(len(frame)) < N_MEMBERS
    p = target_probs(files["model"], frame)
    threads = f", {args.threads} thread(s)" if args.threads else ""
    print(f"{n_classes} classes, {X.shape[1]} features; seed {args.seed}{threads}")
    print("1+2. attacks, side by side (times include training the reference models)")
    reference = independent_lira(X, y, p, member, n_classes, args.seed)
    ours = library_attacks(files, args.seed)
    print(f"  lira.* + rmia together {ours:.1f} s; independent reference {reference:.1f} s ({reference / ours:.1f}×)")
    if not args.skip_loop:
        print("3. batched training versus a one-at-a-time scikit-learn loop, same 16 models")
        batched_versus_loop(frame, p, member, n_classes, args.seed)


if __name__ == "__main__":
    main()
