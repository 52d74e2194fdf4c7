"""ML-Leaks adversary 2 (Salem et al. 2019): the data-transfer attack.

The attacker has no record from the target's distribution and does not know its architecture. It
trains shadow models on *other* datasets, with known in/out halves, and an attack model on the
sorted top posteriors only: those features are class-agnostic, so an attack model learnt on one
task carries over to a target of another task and another class count.

Corpus. Without ``--transfer-data`` the built-in corpus is used: scikit-learn's bundled
``digits`` (10 classes) and ``wine`` (3 classes) plus generated ``make_classification`` tasks of
2, 10, 30 and 100 classes with label noise (so shadows have something to memorise). Nothing is
downloaded or cached on disk. With ``--transfer-data`` that one table is used instead.

Shadows. Each dataset is split into two random halves and two MLPs (hidden (128,), no weight decay,
trained long enough to memorise) are trained on them with one batched ``train_batched_mlp`` call:
shadow A has half 1 as members and half 2 as non-members, shadow B the reverse. The built-in corpus's
shadows are the attacker's kit, fixed before any target is seen: they are trained once, with corpus seed
0, and their outputs on every corpus record ship with the package (``transfer_corpus.npz``, 2 MB; it
saves about 2.5 s of every audit, and behind an output defence their outputs are transformed like the
target's). ``python -m mia_audit.attacks.transfer`` rebuilds that file, and a test
checks it against a fresh training. The audit's ``--seed`` still draws everything else, and a
``--transfer-data`` corpus is trained live.

Feature and attack model. The one feature is how far the largest posterior stands above the next
two, on a log-odds scale: ``log p(1) − log(p(2) + p(3))`` from the three sorted posteriors
(``transfer_feature``; for two classes the logit of the top posterior). It is computed from the
small posteriors, so it does not saturate when a float32 softmax rounds the top posterior to 1,
as it does for most records of an overfitted model. The attack model is a logistic regression on
that feature fitted on the shadows' rows: the ranking is the feature's own (its coefficient must
come out positive, see below), and the shadows fix where P(member) = 0.5 lies. ML-Leaks' attack model
on all three log posteriors was tried and left: it leans on how the shadows' tails are shaped, which
is a property of the corpus, not of membership. Measured (bench/transfer_check.py): on a generated
30-class task close to the corpus it gained (0.858 vs 0.814), but on a Location-like check-in
table whose top posteriors round to 1 it ranked the target backwards (0.457 vs 0.812), and on Adult
it lost about 0.01. Every dataset contributes the same number of rows so that no one task dominates.

Cross-shadow check. Transfer rests on one assumption: that the shadows' members are more confident
than their non-members in a way the features show. A corpus can break it — on a small two-class
table with noisy labels, the shadows that memorise their members are as confident on records they
never saw, and an attack model fitted on them learns noise or the reverse pattern (measured: AUC 0.34
on a five-class target, whatever the features). So each dataset is checked on the shadows alone:
shadow A's attack model ranks shadow B's members against its non-members over every record, and
the reverse; a dataset whose pooled AUC stays below chance plus two standard errors
(Hanley–McNeil at AUC 0.5) is left out, with a note. A user corpus that fails the check is replaced
by the built-in corpus, and the report says so; if no dataset passes, all are used, with a note.
No target output or membership label enters the check.

Ceiling. The features ignore the true label. On real tabular data an overfitted model is often
confidently *wrong* on non-members (on Adult with 16, 27 or 30 classes and a memorising MLP the
largest posterior alone gives AUC 0.59–0.61, and an attack model fitted on the target's own
membership with all sorted posteriors does no better), so no label-agnostic attack comes close to
the loss attack (0.86–0.93) there; on generated many-class data the gap is small (0.84 vs 0.86).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mia_audit import signals
from mia_audit.attacks.attack_model import fit_predict_linear
from mia_audit.attacks.interface import AttackInfo, AttackOutput, FunctionAttack
from mia_audit.errors import DataContractError
from mia_audit.stats import auc
from mia_audit.streams import Stream, rng
from mia_audit.training.mlp import MLPSpec

if TYPE_CHECKING:
    from mia_audit.attacks.context import AttackContext
    from mia_audit.data.transfer import TransferTable
SHADOW_SPEC = MLPSpec(hidden=(128,), epochs=60, batch_size=128, lr=3e-3)
ROWS_PER_DATASET = 800  # attack rows per corpus dataset (members and non-members together)
MIN_STEPS = 1500  # for small datasets (halves under SMALL_HALF rows), which are cheap to train
SMALL_HALF = 500
MAX_USER_ROWS = 6000  # a larger --transfer-data table is subsampled to this many records
MIN_USER_ROWS = 40
CORPUS_SEED = 0  # the built-in corpus and its shadows do not depend on the audit's seed
CORPUS_FILE = Path(__file__).with_name("transfer_corpus.npz")


def transfer_feature(probs: np.ndarray) -> np.ndarray:
    """``log p(1) − log(p(2) + p(3))`` of the sorted posteriors, as one column (see the module docstring)."""
    top = np.maximum(signals.top_k(np.asarray(probs, dtype=np.float64), 3), 0.0)
    rest = top[:, 1:].sum(axis=1)
    floor = signals.PROB_FLOOR
    return (np.log(np.maximum(top[:, 0], floor)) - np.log(np.maximum(rest, floor)))[:, None]


@dataclass(frozen=True)
class CorpusTask:
    """One shadow dataset: standardised features and class indices 0..n_classes-1."""

    name: str
    X: np.ndarray
    y: np.ndarray
    n_classes: int


def _standardise(X: np.ndarray) -> np.ndarray:
    X = np.asarray(X, dtype=np.float64)
    std = X.std(axis=0)
    return ((X - X.mean(axis=0)) / np.where(std > 0, std, 1.0)).astype(np.float32)


def builtin_corpus(seed: int) -> list[CorpusTask]:
    """scikit-learn's bundled digits and wine, and noisy generated tasks of 2 to 100 classes."""
    from sklearn.datasets import load_digits, load_wine, make_classification

    tasks = []
    for name, loader in (("digits", load_digits), ("wine", load_wine)):
        X, y = loader(return_X_y=True)
        tasks.append(CorpusTask(name, _standardise(X), np.asarray(y, dtype=np.int64), int(y.max()) + 1))
    for j, (n_classes, n_samples, flip) in enumerate(
        ((2, 1000, 0.2), (10, 1200, 0.1), (30, 1500, 0.1), (100, 2000, 0.05))
    ):
        X, y = make_classification(
            n_samples=n_samples,
            n_features=20,
            n_informative=12,
            n_redundant=2,
            n_classes=n_classes,
            n_clusters_per_class=1,
            flip_y=flip,
            class_sep=1.5,
            random_state=np.random.RandomState(np.random.SeedSequence([seed, 31, j]).generate_state(1)),
        )
        tasks.append(CorpusTask(f"make_classification {n_classes} classes", _standardise(X), y, n_classes))
    return tasks


def user_corpus(table: TransferTable, seed: int) -> tuple[list[CorpusTask], str]:
    """The user's own dataset (``--transfer-data``) as one shadow task, and how to describe it."""
    path, frame, col = table.path, table.frame, table.label_col
    n_read = len(frame)
    if n_read > MAX_USER_ROWS:
        keep = np.sort(rng(seed, Stream.TRANSFER_SUBSAMPLE).choice(n_read, MAX_USER_ROWS, replace=False))
        frame = frame.iloc[keep].reset_index(drop=True)
    if len(frame) < MIN_USER_ROWS:
        raise DataContractError(
            f"transfer data {path} has {len(frame)} labelled records; the data-transfer attack needs at least "
            f"{MIN_USER_ROWS}."
        )
    classes, y = np.unique(frame[col].astype(str).to_numpy(), return_inverse=True)
    if len(classes) < 2:
        raise DataContractError(f"transfer data {path}: label column '{col}' has one class; it needs two or more.")
    features = frame.drop(columns=[col])
    if features.shape[1] == 0:
        raise DataContractError(f"transfer data {path} has no feature column besides the label '{col}'.")
    from mia_audit.training.encoding import FeatureEncoder

    X = FeatureEncoder.fit(features).transform(features)
    task = CorpusTask(path.name, X, y.astype(np.int64), len(classes))
    sub = f" (subsampled to {len(frame)})" if n_read > len(frame) else ""
    described = f"user corpus {path.name}: {n_read} records{sub}, {len(classes)} classes, label column '{col}'"
    return [task], described


@dataclass(frozen=True)
class ShadowRows:
    """One corpus task's attack rows, and whether its shadows carry a membership signal that transfers.

    ``check_auc``: each shadow's attack model (fitted on that shadow's records) ranks the *other*
    shadow's members against its non-members, over every record of the task; the two rankings are
    pooled. ``check_floor`` is chance plus two standard errors of an AUC under no signal.
    """

    X: np.ndarray
    member: np.ndarray
    check_auc: float
    check_floor: float

    @property
    def transfers(self) -> bool:
        return self.check_auc >= self.check_floor


def _corpus_shadows(task: CorpusTask, seed: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """The two shadows' outputs on every record of ``task`` ``(2, n, C)``, and their IN masks."""
    n = len(task.y)
    order = rng(seed, Stream.TRANSFER_SHADOWS, index).permutation(n)
    half = n // 2
    masks = np.zeros((2, n), dtype=bool)
    masks[0, order[:half]] = True
    masks[1, order[half : 2 * half]] = True
    # At least MIN_STEPS optimiser steps, so that shadows of small datasets memorise their members too.
    min_steps = MIN_STEPS if half < SMALL_HALF else 0
    epochs = max(SHADOW_SPEC.epochs, -(-min_steps // -(-half // SHADOW_SPEC.batch_size)))
    spec = replace(SHADOW_SPEC, epochs=epochs)
    from mia_audit.training.mlp import train_batched_mlp

    models = train_batched_mlp(task.X, task.y, masks, task.n_classes, spec, seed=seed * 1000 + index)
    return models.predict_proba(task.X), masks


def _rows_of(probs: np.ndarray, masks: np.ndarray, seed: int, index: int) -> ShadowRows:
    """Balanced in/out attack rows of the transfer feature from the two shadows' outputs, and their check."""
    generator = rng(seed, Stream.TRANSFER_SHADOWS, index)
    generator.permutation(masks.shape[1])  # the draw that split the halves (``_corpus_shadows``)
    half = int(masks[0].sum())
    feats, member = [], []
    per_side = max(1, min(half, ROWS_PER_DATASET // 4))
    for k in range(2):
        for mask, flag in ((masks[k], 1), (masks[1 - k], 0)):
            rows = generator.choice(np.flatnonzero(mask), per_side, replace=False)
            feats.append(transfer_feature(probs[k, rows]))
            member.append(np.full(per_side, flag))
    check_auc, check_floor = _cross_shadow_check(probs, masks)
    return ShadowRows(np.vstack(feats), np.concatenate(member), check_auc, check_floor)


def _attack_model(X: np.ndarray, member: np.ndarray, X_eval: np.ndarray) -> tuple[np.ndarray, float]:
    """P(member) from a logistic regression on the feature, and its slope.

    A slope that is not positive would rank the target backwards; then the feature itself, centred on
    the shadows' median and squashed to (0, 1), keeps the ranking that transfers.
    """
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(max_iter=1000).fit(X, member)
    slope = float(model.coef_[0, 0])
    if slope > 0:
        return np.asarray(model.predict_proba(X_eval)[:, 1], dtype=np.float64), slope
    centred = X_eval[:, 0] - float(np.median(X[:, 0]))
    return 1.0 / (1.0 + np.exp(-np.clip(centred, -500.0, 500.0))), slope


def _cross_shadow_check(probs: np.ndarray, masks: np.ndarray) -> tuple[float, float]:
    """AUC of each shadow's attack model on the other shadow's records (pooled), and the no-signal floor."""
    both = masks[0] | masks[1]
    feats = [transfer_feature(probs[k, both]) for k in range(2)]
    member = [masks[k, both].astype(np.int64) for k in range(2)]
    scores = [fit_predict_linear(feats[1 - k], member[1 - k], feats[k]) for k in range(2)]
    pooled = auc(np.concatenate(scores), np.concatenate(member))
    n1 = int(sum(m.sum() for m in member))
    n0 = int(sum(len(m) for m in member)) - n1
    null_se = np.sqrt((n1 + n0 + 1) / (12.0 * n1 * n0))  # Hanley & McNeil's standard error at AUC 0.5
    return float(pooled), float(0.5 + 2.0 * null_se)


def _describe_builtin(tasks: list[TaskRows], released: bool = False) -> str:
    names = ", ".join(t.name if t.name.startswith("make_") else f"{t.name} ({t.n_classes} classes)" for t in tasks)
    shipped = f"its shadows were trained once, with corpus seed {CORPUS_SEED}, and ship with mia-audit"
    return f"built-in corpus: {names}; {shipped}" + ("; their outputs released like the target's" if released else "")


def _user_rows(ctx: AttackContext, tasks: list[CorpusTask]) -> list[ShadowRows]:
    """A ``--transfer-data`` corpus's attack rows. Its shadows train once per run (the undefended run), and
    behind an output defence their outputs are transformed like the target's."""
    trained = ctx.shared.get(
        "transfer_user_corpus", lambda: [_corpus_shadows(task, ctx.seed, i) for i, task in enumerate(tasks)]
    )
    transform = None if ctx.release is None else ctx.release.transform
    return [
        _rows_of(probs if transform is None else np.stack([transform(p) for p in probs]), masks, ctx.seed, i)
        for i, (probs, masks) in enumerate(trained)
    ]


@dataclass(frozen=True)
class TaskRows:
    """A corpus dataset's name and class count, and its shadows' attack rows."""

    name: str
    n_classes: int
    rows: ShadowRows


@dataclass(frozen=True)
class CorpusOutputs:
    """A built-in corpus dataset's two shadows: their outputs on every record ``(2, n, C)`` and IN masks."""

    name: str
    n_classes: int
    probs: np.ndarray
    masks: np.ndarray

    def rows(self, index: int, transform: Callable[[np.ndarray], np.ndarray] | None = None) -> TaskRows:
        """The attack rows of these shadows (dataset ``index`` of the corpus, whose seed stream picks the
        rows), their outputs first passed through ``transform`` if given."""
        probs = self.probs if transform is None else np.stack([transform(p) for p in self.probs])
        return TaskRows(self.name, self.n_classes, _rows_of(probs, self.masks, CORPUS_SEED, index))


def train_builtin() -> list[CorpusOutputs]:
    """Train the built-in corpus's shadows afresh (what ``transfer_corpus.npz`` holds)."""
    out = []
    for i, task in enumerate(builtin_corpus(CORPUS_SEED)):
        probs, masks = _corpus_shadows(task, CORPUS_SEED, i)
        out.append(CorpusOutputs(task.name, task.n_classes, np.asarray(probs, dtype=np.float32), masks))
    return out


def write_builtin(path: Path = CORPUS_FILE, trained: list[CorpusOutputs] | None = None) -> None:
    trained = train_builtin() if trained is None else trained
    arrays: dict[str, np.ndarray] = {
        "names": np.array([t.name for t in trained]),
        "n_classes": np.array([t.n_classes for t in trained]),
    }
    for i, t in enumerate(trained):
        arrays[f"probs{i}"], arrays[f"masks{i}"] = t.probs, t.masks
    np.savez_compressed(path, **arrays)  # type: ignore[arg-type]


@cache
def load_builtin(path: Path = CORPUS_FILE) -> tuple[CorpusOutputs, ...]:
    """The shipped built-in corpus: its shadows' outputs (float32, as they were computed)."""
    with np.load(path, allow_pickle=False) as data:
        return tuple(
            CorpusOutputs(str(name), int(k), data[f"probs{i}"], data[f"masks{i}"])
            for i, (name, k) in enumerate(zip(data["names"], data["n_classes"], strict=True))
        )


def _builtin(ctx: AttackContext) -> list[TaskRows]:
    """The built-in corpus's attack rows, behind the context's output defence if it has one."""
    transform = None if ctx.release is None else ctx.release.transform
    return [task.rows(i, transform) for i, task in enumerate(load_builtin())]


def _run_transfer(ctx: AttackContext) -> AttackOutput:
    notes: list[str] = []
    table = ctx.options.transfer
    if table is not None:
        user, described = user_corpus(table, ctx.seed)
        parts = _user_rows(ctx, user)
        tasks = [TaskRows(t.name, t.n_classes, p) for t, p in zip(user, parts, strict=True)]
        if not any(p.transfers for p in parts):
            # Its shadows' members are no more confident than their non-members: an attack model fitted
            # on them learns noise or the reverse of the target's pattern (measured: AUC 0.34 with a
            # small two-class table against a five-class target). Fall back on the built-in corpus.
            check = parts[0]
            notes.append(
                f"{described}; not used: its shadow models show no membership signal in their sorted posteriors "
                f"(cross-shadow AUC {check.check_auc:.3f}, below {check.check_floor:.3f} = chance + 2 standard "
                "errors), so an attack model trained on it would rank at random or backwards"
            )
            tasks = _builtin(ctx)
            described = _describe_builtin(tasks, ctx.release is not None) + f" (in place of {table.name})"
    else:
        tasks = _builtin(ctx)
        described = _describe_builtin(tasks, ctx.release is not None)
    used = [(t, t.rows) for t in tasks if t.rows.transfers]
    dropped = [
        f"{t.name} (AUC {t.rows.check_auc:.3f} < {t.rows.check_floor:.3f})" for t in tasks if not t.rows.transfers
    ]
    if not used:  # nothing passes: keep everything rather than fail, and say so
        used = [(t, t.rows) for t in tasks]
        notes.append("no corpus dataset's shadows showed a significant membership signal; all of them were used")
    elif dropped:
        notes.append("left out, their shadows show no membership signal: " + "; ".join(dropped))
    X_attack = np.vstack([p.X for _, p in used])
    y_attack = np.concatenate([p.member for _, p in used])
    scores, slope = _attack_model(X_attack, y_attack, transfer_feature(ctx.eval_probs))
    if slope <= 0:
        notes.append(
            "the shadows' rows show members no more confident than non-members once pooled; the scores keep the "
            "feature's ranking (more confident = more likely a member) and the 0.5 threshold is not meaningful"
        )
    checks = ", ".join(f"{t.name} {p.check_auc:.3f}" for t, p in used)
    return AttackOutput(
        scores=scores,
        threshold=0.5,
        threshold_rule="member if the attack model, trained on shadows of another dataset only, gives P(member) ≥ 0.5",
        assumptions=(
            "no data from the target's distribution: shadows are trained on another dataset",
            "does not know the target's architecture: shadows are MLPs with one hidden layer of 128 units",
            "black-box query access to the target's output probabilities",
            "does not need the true label",
        ),
        queries=len(ctx.eval_idx),
        signal="attack-model P(member)",
        notes=(
            described,
            f"{2 * len(used)} shadow MLPs (two per dataset, on swapped halves); logistic attack model on "
            f"log p(1) − log(p(2) + p(3)) of the sorted posteriors, {len(y_attack)} shadow rows; cross-shadow AUC "
            f"per dataset: {checks}",
            *notes,
        ),
    )


ATTACKS = (
    FunctionAttack(
        AttackInfo(
            "transfer",
            "transfer",
            "Data transfer: shadow trained on another dataset (ML-Leaks adversary 2)",
            frozenset({"output probabilities", "another dataset"}),
            needs_population=False,
            options=("transfer_data", "transfer_label_col"),
        ),
        _run_transfer,
    ),
)


if __name__ == "__main__":
    write_builtin()
    print(f"wrote {CORPUS_FILE}")
