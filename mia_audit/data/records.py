"""The data contract: read member / holdout / population records and split them for the audit."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from mia_audit.data.files import Narrowing, read_table, release_arrow_memory
from mia_audit.data.files import column_list as _list
from mia_audit.errors import DataContractError
from mia_audit.streams import split_rng

LABEL_CANDIDATES = ("label", "target", "y", "class")
_TRUE = {"1", "true", "yes", "y", "t", "member", "in"}
_FALSE = {"0", "false", "no", "n", "f", "nonmember", "non-member", "out"}


@dataclass(frozen=True)
class DataSpec:
    """Where the audit records come from and how to read them (the CLI's data options)."""

    data: Path | None = None
    members: Path | None = None
    holdout: Path | None = None
    population: Path | None = None
    member_col: str = "member"
    label_col: str | None = None
    drop_cols: tuple[str, ...] = ()
    feature_cols: tuple[str, ...] | None = None
    population_share: float = 0.5
    balance: bool = True
    sensitive_col: str | None = None

    def __post_init__(self) -> None:
        # Library callers may pass plain strings; everything below works on paths.
        for name in ("data", "members", "holdout", "population"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value))
        object.__setattr__(self, "drop_cols", tuple(self.drop_cols))
        if self.feature_cols is not None:
            object.__setattr__(self, "feature_cols", tuple(self.feature_cols))


# More held-out records than this share that copy a member means the files are mixed up, not a few
# repeated records: the evaluation would count members as non-members.
MAX_COPIED_SHARE = 0.05


@dataclass(frozen=True)
class MemberCopies:
    """Held-out and population records that are copies of a training member (same features and label)."""

    holdout: int = 0
    population: int = 0

    def notes(self) -> list[str]:
        notes = []
        if self.holdout:
            notes.append(
                f"{self.holdout} held-out records are copies of training members (the same features and label) "
                "and are left out of the evaluation: the model saw them."
            )
        if self.population:
            notes.append(
                f"{self.population} population records are copies of training members and are left out of the "
                "attacker's population."
            )
        return notes


@dataclass(frozen=True)
class AuditData:
    """All records of one audit, in one frame, with their role and where they came from.

    ``eval_idx`` are the records the attacks are scored on (members and holdout, balanced unless
    told otherwise); ``population_idx`` the attacker's records, never evaluated.
    """

    features: pd.DataFrame
    raw_labels: np.ndarray
    role: np.ndarray
    source: np.ndarray
    row_index: np.ndarray
    label_col: str
    files: dict[str, str]
    sha256: dict[str, str]
    population_source: str
    eval_idx: np.ndarray
    population_idx: np.ndarray
    balanced: bool
    notes: tuple[str, ...] = field(default=())
    # Per record, the value of --sensitive-col as text (a model feature or a dropped column); None without one.
    sensitive: np.ndarray | None = None
    sensitive_col: str | None = None
    member_copies: MemberCopies = field(default_factory=MemberCopies)

    @property
    def feature_cols(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.features.columns)

    @property
    def is_member(self) -> np.ndarray:
        return self.role == "member"

    @property
    def is_heldout(self) -> np.ndarray:
        """Non-members of the audit files: the holdout, including the share set aside as population.

        Records of a --population file are left out: they describe the attacker, not the target's split.
        """
        return (self.role == "holdout") | ((self.role == "population") & (self.source != "population"))

    def count(self, role: str) -> int:
        return int(np.sum(self.role == role))


def parse_membership(values: pd.Series, column: str) -> np.ndarray:
    """Map a membership column (1/0, true/false, yes/no) to booleans, or explain what is wrong."""
    if values.isna().any():
        raise DataContractError(
            f"membership column '{column}' has {int(values.isna().sum())} empty values; "
            "every row must be 1 (member) or 0 (held out)."
        )
    text = values.map(lambda v: str(v).strip().lower())
    text = text.replace({"1.0": "1", "0.0": "0"})
    unknown = sorted(set(text) - _TRUE - _FALSE)
    if unknown:
        shown = ", ".join(repr(u) for u in unknown[:5])
        raise DataContractError(
            f"membership column '{column}' must be binary (1/0 or true/false) but holds {shown}; "
            "fix the column or name the right one with --member-col."
        )
    return text.isin(_TRUE).to_numpy()


def detect_label_col(columns: list[str], given: str | None) -> str:
    if given is not None:
        if given not in columns:
            raise DataContractError(
                f"label column '{given}' not found; columns are: {_list(columns)}. Name the right one with --label-col."
            )
        return given
    lowered = {c.lower(): c for c in columns}
    found = [lowered[c] for c in LABEL_CANDIDATES if c in lowered]
    if len(found) == 1:
        return found[0]
    reason = (
        "several candidates (" + ", ".join(found) + ")" if found else "no column named " + ("/".join(LABEL_CANDIDATES))
    )
    raise DataContractError(
        f"cannot tell which column is the label: {reason}; columns are: {_list(columns)}. Name it with --label-col."
    )


_Frame = tuple[pd.DataFrame, np.ndarray, str]  # one file's records, their roles, and the file's name


@dataclass(frozen=True, eq=False)
class Tables:
    """The audit files, read once and checked, with every record in file order; not yet split.

    ``split_audit`` turns them into ``AuditData`` as often as needed (e.g. again without records
    of classes the model never learned) without reading the files again.
    """

    spec: DataSpec
    files: dict[str, str]  # by name, the files read, and their SHA-256
    sha256: dict[str, str]
    label_col: str
    # Per record, in file order:
    features: pd.DataFrame
    labels: pd.Series
    role: np.ndarray
    source: np.ndarray
    row_index: np.ndarray
    sensitive: np.ndarray | None = None


def read_tables(spec: DataSpec) -> Tables:
    """Read the audit records as the data contract says and check their columns and values."""
    _check_sources(spec)
    _check_distinct_files(spec)
    frames, files, sha256 = _read_frames(spec)
    reference_cols = list(frames[0][0].columns)
    label_col = detect_label_col(reference_cols, spec.label_col)
    feature_cols = _feature_columns(reference_cols, label_col, spec)
    _check_same_columns(frames, [*feature_cols, label_col])
    sensitive = _sensitive_values(frames, spec, label_col)
    features = pd.concat([f[feature_cols] for f, _, _ in frames], ignore_index=True)
    labels = pd.concat([f[label_col] for f, _, _ in frames], ignore_index=True)
    role = np.concatenate([r for _, r, _ in frames]).astype("U10")
    source = np.concatenate([np.full(len(f), n) for f, _, n in frames]).astype(str)
    row_index = np.concatenate([np.arange(len(f)) for f, _, _ in frames])
    del frames  # the files' own frames: only the joined columns are kept
    release_arrow_memory()
    # One block per dtype, as the split's copy made it before the files were read in chunks: the frame the
    # noisy neighbours are gathered from and the model's input matrix is built from stays what it was.
    features = features.copy()
    _check_values(features, labels, label_col)
    return Tables(
        spec=spec,
        files=files,
        sha256=sha256,
        label_col=label_col,
        features=features,
        labels=labels,
        role=role,
        source=source,
        row_index=row_index,
        sensitive=sensitive,
    )


def _read_frames(spec: DataSpec) -> tuple[list[_Frame], dict[str, str], dict[str, str]]:
    """Each audit file's records with their roles, and the files read and their SHA-256, by name."""
    narrowing = Narrowing()
    files: dict[str, str] = {}
    sha256: dict[str, str] = {}
    frames: list[_Frame] = []
    if spec.data is not None:
        frames.append(_read_data_file(spec.data, spec.member_col, narrowing, sha256))
        files["data"] = str(spec.data)
    else:
        assert spec.members is not None and spec.holdout is not None
        for path, file_role, name in (
            (spec.members, "member", "members"),
            (spec.holdout, "holdout", "holdout"),
        ):
            frames.append(_read_role_file(path, file_role, name, spec.member_col, narrowing, sha256))
            files[name] = str(path)
    if spec.population is not None:
        frames.append(_read_role_file(spec.population, "population", "population", spec.member_col, narrowing, sha256))
        files["population"] = str(spec.population)
    # Files read before the float limit was passed are narrowed like the rest.
    return [(narrowing.apply(f), r, n) for f, r, n in frames], files, sha256


def _read_data_file(path: Path, member_col: str, narrowing: Narrowing, sha256: dict[str, str]) -> _Frame:
    """The --data file: members and holdout in one, told apart by the membership column."""
    frame, sha256["data"] = read_table(path, "data", narrowing)
    if member_col not in frame.columns:
        raise DataContractError(
            f"membership column '{member_col}' not found in {path.name}; columns are: "
            f"{_list(list(frame.columns))}. Name it with --member-col, or give --members and --holdout."
        )
    member = parse_membership(frame[member_col], member_col)
    frame = frame.drop(columns=[member_col])
    return frame, np.where(member, "member", "holdout"), "data"


def _read_role_file(
    path: Path, file_role: str, name: str, member_col: str, narrowing: Narrowing, sha256: dict[str, str]
) -> _Frame:
    """A file whose records all have one role (members, holdout or population)."""
    frame, sha256[name] = read_table(path, name, narrowing)
    frame = frame.drop(columns=[member_col], errors="ignore")
    return frame, np.full(len(frame), file_role, dtype=object), name


def _check_same_columns(frames: list[_Frame], needed: list[str]) -> None:
    for frame, _, name in frames[1:]:
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise DataContractError(
                f"{name} file lacks columns {_list(missing)} that the {frames[0][2]} file has; "
                "all audit files need the same feature and label columns."
            )


def split_audit(tables: Tables, seed: int, drop_labels: frozenset[str] = frozenset()) -> AuditData:
    """Split the records read for the audit: population for the attacker, (balanced) evaluation set.

    Non-member records whose label is in ``drop_labels`` (classes the model never learned, so
    no attack can score them) are left out before the split, with a note. ``tables`` is not changed.
    """
    spec = tables.spec
    kept, notes = _without_labels(tables, drop_labels)
    kept, copies = _without_member_copies(kept)
    notes += copies.notes()
    role = kept.role
    _check_roles(role, spec)
    rng = split_rng(seed)
    if spec.population is None:
        role, population_source = _split_population(role, spec.population_share, rng, seed)
    else:
        population_source = f"population file ({Path(spec.population).name})"
    eval_idx = _evaluation_indices(role, spec.balance, rng)
    if spec.balance:
        notes.append(
            f"Evaluation is balanced: {int(np.sum(role[eval_idx] == 'member'))} members and "
            f"{int(np.sum(role[eval_idx] == 'holdout'))} non-members drawn with seed {seed}, "
            "so 0.5 is the chance baseline."
        )
    return AuditData(
        features=kept.features,
        raw_labels=kept.labels.to_numpy(),
        role=role,
        source=kept.source,
        row_index=kept.row_index,
        label_col=kept.label_col,
        files=dict(kept.files),
        sha256=dict(kept.sha256),
        population_source=population_source,
        eval_idx=eval_idx,
        population_idx=np.flatnonzero(role == "population"),
        balanced=spec.balance,
        notes=tuple(notes),
        sensitive=kept.sensitive,
        sensitive_col=spec.sensitive_col,
        member_copies=copies,
    )


def _without_member_copies(tables: Tables) -> tuple[Tables, MemberCopies]:
    """``tables`` without the non-members whose features and label equal a member's; too many is an error."""
    hashes = _record_hashes(tables.features, tables.labels)
    member = tables.role == "member"
    copy = np.isin(hashes, hashes[member]) & ~member
    holdout = tables.role == "holdout"
    n_copied, n_holdout = int(np.sum(copy & holdout)), int(holdout.sum())
    if n_holdout and n_copied > MAX_COPIED_SHARE * n_holdout:
        raise DataContractError(
            f"{n_copied} of the {n_holdout} held-out records ({n_copied / n_holdout:.0%}) are copies of training "
            f"members (the same features and label; at most {MAX_COPIED_SHARE:.0%} may be): the holdout must be "
            "records the model was not trained on; check --holdout and the membership column."
        )
    copies = MemberCopies(n_copied, int(np.sum(copy & (tables.role == "population"))))
    return (_copy_records(tables, ~copy) if copy.any() else tables), copies


def _record_hashes(features: pd.DataFrame, labels: pd.Series) -> np.ndarray:
    """One 64-bit hash per record of its features and label, without copying the features."""
    rows = pd.util.hash_pandas_object(features, index=False).to_numpy()
    label = pd.util.hash_pandas_object(labels, index=False).to_numpy()
    return rows * np.uint64(0x9E3779B97F4A7C15) ^ label


def _without_labels(tables: Tables, drop_labels: frozenset[str]) -> tuple[Tables, list[str]]:
    """A copy of ``tables`` without the non-members labelled ``drop_labels``, and the note saying so."""
    if not drop_labels:
        return tables, []  # shared, not copied: nothing downstream changes the records
    from mia_audit.data.labels import label_key

    drop = np.array([label_key(v) in drop_labels for v in tables.labels]) & (tables.role != "member")
    note = (
        f"{int(drop.sum())} non-member records are left out: their labels "
        f"({', '.join(sorted(drop_labels))}) are classes the model never learned."
    )
    return _copy_records(tables, ~drop), [note]


def _copy_records(tables: Tables, keep: np.ndarray) -> Tables:
    """The records selected by the boolean mask ``keep``, in new frames and arrays."""
    return replace(
        tables,
        features=tables.features[keep].reset_index(drop=True),
        labels=tables.labels[keep].reset_index(drop=True),
        role=tables.role[keep].copy(),
        source=tables.source[keep].copy(),
        row_index=tables.row_index[keep].copy(),
        sensitive=None if tables.sensitive is None else tables.sensitive[keep].copy(),
    )


def load_audit_data(spec: DataSpec, seed: int, drop_labels: frozenset[str] = frozenset()) -> AuditData:
    """Read the audit records as the data contract says and split them for the audit.

    The same as ``split_audit(read_tables(spec), seed, drop_labels)``; read the tables once with
    ``read_tables`` to split them more than once.
    """
    return split_audit(read_tables(spec), seed, drop_labels)


MAX_SENSITIVE_GROUPS = 50
MISSING_GROUP = "(missing)"


def _sensitive_values(frames: list[_Frame], spec: DataSpec, label_col: str) -> np.ndarray | None:
    """The --sensitive-col value of every record as text, whether or not the model takes the column.

    The member and holdout files must hold the column; a population file may lack it (its records
    are never evaluated). Empty cells form their own group, ``(missing)``.
    """
    column = spec.sensitive_col
    if column is None:
        return None
    if column == spec.member_col:
        raise DataContractError(
            f"--sensitive-col '{column}' is the membership column; name a column that describes people (e.g. sex)."
        )
    if column == label_col:
        raise DataContractError(
            f"--sensitive-col '{column}' is the label column; name a column that describes people (e.g. sex)."
        )
    parts: list[np.ndarray] = []
    for frame, _, name in frames:
        if column not in frame.columns:
            if name == "population":
                parts.append(np.full(len(frame), MISSING_GROUP, dtype=object))
                continue
            raise DataContractError(
                f"sensitive column '{column}' not found in the {name} file; columns are: "
                f"{_list(list(frame.columns))}. Name an existing column with --sensitive-col."
            )
        values = frame[column]
        parts.append(np.where(values.isna(), MISSING_GROUP, values.astype(str).str.strip()).astype(object))
    sensitive = np.concatenate(parts)
    n_groups = len(set(sensitive.tolist()))
    if n_groups > MAX_SENSITIVE_GROUPS:
        raise DataContractError(
            f"sensitive column '{column}' has {n_groups} distinct values; fairness and per-group exposure need "
            f"a few groups (at most {MAX_SENSITIVE_GROUPS}): bin the column into groups first."
        )
    return sensitive


def _check_distinct_files(spec: DataSpec) -> None:
    """The holdout or population file must not be the members file (or its hard link)."""
    if spec.members is None:
        return
    for other, flag in ((spec.holdout, "--holdout"), (spec.population, "--population")):
        if other is not None and spec.members.exists() and other.exists() and other.samefile(spec.members):
            raise DataContractError(
                f"{flag} {other} is the same file as --members {spec.members}: an audit compares training members "
                "with records the model never saw; give those records."
            )


def _check_sources(spec: DataSpec) -> None:
    two_files = spec.members is not None or spec.holdout is not None
    if spec.data is not None and two_files:
        raise DataContractError("give either --data or --members with --holdout, not both.")
    if spec.data is None and not two_files:
        raise DataContractError(
            "no audit data: give --data FILE (with a membership column) or --members FILE --holdout FILE."
        )
    if two_files and (spec.members is None or spec.holdout is None):
        missing = "--holdout" if spec.holdout is None else "--members"
        raise DataContractError(f"--members and --holdout go together; add {missing} FILE.")
    if not 0.0 < spec.population_share < 1.0:
        raise DataContractError(f"--population-share must lie strictly between 0 and 1, got {spec.population_share}.")


def _feature_columns(columns: list[str], label_col: str, spec: DataSpec) -> list[str]:
    unknown_drop = [c for c in spec.drop_cols if c not in columns]
    if unknown_drop:
        raise DataContractError(
            f"--drop-cols names columns that do not exist: {_list(unknown_drop)}; columns are: {_list(columns)}."
        )
    if spec.feature_cols is not None:
        unknown = [c for c in spec.feature_cols if c not in columns]
        if unknown:
            raise DataContractError(
                f"--feature-cols names columns that do not exist: {_list(unknown)}; columns are: {_list(columns)}."
            )
        if label_col in spec.feature_cols:
            raise DataContractError(f"--feature-cols includes the label column '{label_col}'; remove it.")
        chosen = [c for c in spec.feature_cols if c not in spec.drop_cols]
    else:
        chosen = [c for c in columns if c != label_col and c not in spec.drop_cols]
    if not chosen:
        raise DataContractError("no feature columns are left after removing the label and --drop-cols.")
    return chosen


def _check_values(features: pd.DataFrame, labels: pd.Series, label_col: str) -> None:
    if labels.isna().any():
        raise DataContractError(
            f"label column '{label_col}' has {int(labels.isna().sum())} empty values; "
            "remove those rows or fill in their labels."
        )
    numeric = features.select_dtypes(include="number")
    infinite = [str(c) for c in numeric.columns if np.isinf(numeric[c].to_numpy(dtype=np.float64)).any()]
    if infinite:
        raise DataContractError(
            f"feature columns hold infinite values (inf): {_list(infinite)}; replace them with finite numbers "
            "or leave the columns out with --drop-cols."
        )
    # Column by column: a whole-frame isna() would hold a second frame of the records' size.
    missing = {str(c): int(features[c].isna().sum()) for c in features.columns}
    missing = {c: n for c, n in missing.items() if n}
    if missing:
        worst = ", ".join(f"'{c}' ({n})" for c, n in missing.items())
        raise DataContractError(
            f"feature columns have missing values: {worst}; impute or remove those rows, "
            "or leave such columns out with --drop-cols."
        )


def _check_roles(role: np.ndarray, spec: DataSpec) -> None:
    where = spec.data.name if spec.data is not None else None
    for name, flag in (("member", "--members"), ("holdout", "--holdout")):
        if not np.any(role == name):
            detail = (
                f"{where} has no rows with {spec.member_col}={'1' if name == 'member' else '0'}"
                if where
                else f"the {flag} file has no rows"
            )
            raise DataContractError(
                f"no {'training members' if name == 'member' else 'held-out records'}: {detail}; "
                "an audit needs both members and held-out records."
            )


def _split_population(role: np.ndarray, share: float, rng: np.random.Generator, seed: int) -> tuple[np.ndarray, str]:
    holdout = np.flatnonzero(role == "holdout")
    n_population = round(share * len(holdout))
    if n_population < 1 or len(holdout) - n_population < 1:
        raise DataContractError(
            f"only {len(holdout)} held-out records: too few to set aside a population for the attacker "
            "and keep some for evaluation; add held-out records or give --population FILE."
        )
    chosen = rng.choice(holdout, size=n_population, replace=False)
    role = role.copy()
    role[chosen] = "population"
    return role, f"{share:.0%} of the holdout records, drawn with seed {seed} and left out of evaluation"


def _evaluation_indices(role: np.ndarray, balance: bool, rng: np.random.Generator) -> np.ndarray:
    members = np.flatnonzero(role == "member")
    holdout = np.flatnonzero(role == "holdout")
    if balance:
        n = min(len(members), len(holdout))
        members = np.sort(rng.choice(members, size=n, replace=False))
        holdout = np.sort(rng.choice(holdout, size=n, replace=False))
    return np.concatenate([members, holdout])
