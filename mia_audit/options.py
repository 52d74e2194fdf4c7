"""Every option of ``mia-audit scan``, declared once.

An :class:`Option` has its key (the ``[tool.mia-audit]`` key and the name in ``run.config``), its flag,
help, default, kind, checks, and the field of the audit configuration it sets (``lands``). The CLI
builds its parameters from :data:`OPTIONS`; the config file accepts every key (``config_file``); the
audit configuration is built from resolved :class:`Settings`, and ``run.config`` in report.json is read
back through the same declarations (:func:`describe`). Errors name the flag on the command line and
the key in a file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mia_audit.attacks.registry import PROFILES, auditor_only_ids
from mia_audit.defences import DEFENCE_SETS
from mia_audit.errors import ConfigError, invalid_option
from mia_audit.judge.gate import GateConfig
from mia_audit.result import DETAILS, FPR_LEVELS, RISK_LEVELS
from mia_audit.training.backend import BACKENDS
from mia_audit.training.config import DATA_SOURCES, FAMILIES, ShadowConfig
from mia_audit.training.reference_config import OFFLINE_MODELS, ReferenceConfig

if TYPE_CHECKING:
    from mia_audit.data.records import DataSpec
    from mia_audit.judge.baseline import Baseline

Kind = Literal["str", "int", "float", "bool", "path", "list", "tpr_limits", "meta"]
FROM_FILE, FROM_COMMAND_LINE, FROM_DEFAULT = "file", "command line", "default"
FORMATS = ("json", "html", "pdf", "csv")  # the default: all of these
FORMAT_CHOICES = (*FORMATS, "markdown")  # markdown: summary.md, for a pipeline's job summary
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class Check:
    """A condition on a number, and how to say it: ``ok(value)``; "must lie between 1 and 10"."""

    ok: Callable[[float], bool]
    says: str


def between(low: float, high: float, *, strict: bool = False) -> Check:
    if strict:
        return Check(lambda v: low < v < high, f"must lie strictly between {low:g} and {high:g}")
    return Check(lambda v: low <= v <= high, f"must lie between {low:g} and {high:g}")


POSITIVE = Check(lambda v: v >= 1, "must be positive")
NOT_NEGATIVE = Check(lambda v: v >= 0, "must not be negative")


@dataclass(frozen=True)
class Option:
    key: str
    help: str
    default: Any = None
    kind: Kind = "str"
    panel: str = "Audit"
    flag: str = ""  # default: --key-with-dashes; a bool may name both sides, "--balance/--no-balance"
    short: str | None = None
    choices: tuple[str, ...] = ()
    check: Check | None = None
    lands: str | None = None  # "section.field" of the audit configuration; None: used by the CLI itself
    cli_only: bool = False  # not a [tool.mia-audit] key, not in run.config

    @property
    def flags(self) -> tuple[str, ...]:
        flag = self.flag or "--" + self.key.replace("_", "-")
        return (flag, self.short) if self.short else (flag,)

    @property
    def display(self) -> str:
        """The flag as a person types it (the ``--no-x`` side for a flag that is on by default)."""
        first = self.flags[0]
        return first.split("/")[-1] if "/" in first and self.default is True else first.split("/")[0]

    def validate(self, value: Any, where: str) -> Any:
        """``value`` as this option's Python value, or a ``ConfigError`` that starts with ``where``."""
        if value is None or (self.kind in ("list", "tpr_limits", "meta") and not value):
            return self.default
        if self.choices and value not in self.choices:
            raise ConfigError(f"{where} must be one of {', '.join(self.choices)}, got {value!r}.")
        if self.check is not None and isinstance(value, (int, float)) and not self.check.ok(value):
            raise ConfigError(f"{where} {self.check.says}, got {value!r}.")
        return value


def _panel(name: str, *options: Option) -> tuple[Option, ...]:
    return tuple(replace(o, panel=name) for o in options)


OPTIONS: tuple[Option, ...] = (
    *_panel(
        "Inputs",
        Option("data", "Audit records with a membership column (CSV or Parquet).", kind="path", lands="data.data"),
        Option("members", "Training members (use with --holdout).", kind="path", lands="data.members"),
        Option("holdout", "Held-out records, not used for training.", kind="path", lands="data.holdout"),
        Option("population", "Extra non-member records for the attacker.", kind="path", lands="data.population"),
        Option(
            "transfer_data",
            "Another dataset for the data-transfer attack (default: built-in corpus).",
            kind="path",
            lands="audit.transfer_data",
        ),
        Option(
            "trust_model",
            "Allow pickle/joblib, torch.save pickles and untrusted skops types (runs code from the file).",
            False,
            "bool",
            lands="audit.trust_model",
        ),
        Option(
            "mlflow_tracking_uri",
            "MLflow tracking server for a models:/NAME/VERSION or runs:/RUN_ID/PATH model (default: MLflow's "
            "MLFLOW_TRACKING_URI); pip install 'mia-audit[mlflow]'.",
        ),
        Option("output", "Name of the model output to audit when the graph has several.", lands="audit.output"),
        Option(
            "output_kind",
            "What that output holds: auto (read from the graph and the first batch), probabilities, logits or labels.",
            "auto",
            choices=("auto", "probabilities", "logits", "labels"),
            lands="audit.output_kind",
        ),
    ),
    *_panel(
        "Data contract",
        Option(
            "task",
            "What the model does: classification (class probabilities, logits or labels) or regression (one "
            "number per record; the attacks use its squared error).",
            "classification",
            choices=TASKS,
            lands="audit.task",
        ),
        Option("member_col", "Membership column in --data (1 = member).", "member", lands="data.member_col"),
        Option("label_col", "Label column (default: label/target/y/class).", lands="data.label_col"),
        Option("drop_cols", "Columns to leave out, comma-separated.", (), "list", lands="data.drop_cols"),
        Option(
            "feature_cols", "Feature columns in model order, comma-separated.", None, "list", lands="data.feature_cols"
        ),
        Option(
            "sensitive_col",
            "Column of a sensitive attribute (e.g. sex) for fairness and per-group exposure; a model feature, "
            "or a column left out with --drop-cols.",
            lands="data.sensitive_col",
        ),
        Option("transfer_label_col", "Label column of --transfer-data.", lands="audit.transfer_label_col"),
        Option(
            "population_share",
            "Share of the holdout given to the attacker when no --population.",
            0.5,
            "float",
            check=between(0, 1, strict=True),
            lands="data.population_share",
        ),
        Option(
            "balance",
            "Evaluate on as many non-members as members (--no-balance: on all of them).",
            True,
            "bool",
            flag="--balance/--no-balance",
            lands="data.balance",
        ),
    ),
    *_panel(
        "Attacks",
        Option(
            "profile",
            "quick (every commit: threshold, calibrated on 4 shadows of 20 epochs, lira.online and rmia on 4 "
            "reference models, label_only.gap; JSON and HTML), standard (every attack), or thorough (64 "
            "reference models, 200 boundary queries). Options given explicitly win over the profile's.",
            "standard",
            choices=PROFILES,
            lands="audit.profile",
        ),
        Option(
            "attacks",
            "Attack ids or families, comma-separated (default: the profile's).",
            None,
            "list",
            lands="audit.attacks",
        ),
        Option(
            "defences",
            "Defences to measure: output (the attacks again behind top-1 and top-3 release, rounding to 1 and 2 "
            "decimals, a fitted temperature and label-only release; standard), training (proxies of the model "
            "trained with L2, dropout, early stopping, stacking and DP-SGD at ε 8 and 1), all (thorough) or "
            "none (quick).",
            "output",
            choices=DEFENCE_SETS,
            lands="audit.defences",
        ),
        Option(
            "threshold_fpr",
            "False-positive rate the threshold attacks aim for on population records.",
            0.1,
            "float",
            check=between(0, 0.5, strict=True),
            lands="audit.threshold_fpr",
        ),
        Option(
            "risk_from",
            "Also base the risk level on these auditor-only attacks (e.g. supervised).",
            (),
            "list",
            lands="audit.risk_include",
        ),
        Option(
            "boundary_queries",
            "Target queries per record for label_only.boundary.",
            100,
            "int",
            check=between(1, 100_000),
            lands="audit.boundary_queries",
        ),
        Option(
            "boundary_records",
            "Evaluation records label_only.boundary queries at most (a seeded random subsample; 0: all).",
            4000,
            "int",
            check=NOT_NEGATIVE,
            lands="audit.boundary_records",
        ),
    ),
    *_panel(
        "Shadow and reference models",
        Option(
            "shadow_family",
            "Shadow models: auto, mlp, logreg, rf, gbm or clone (auto copies the target where it can).",
            "auto",
            choices=FAMILIES,
            lands="shadow.family",
        ),
        Option(
            "shadow_data",
            "Shadow training data: population, noisy, marginal or model (hill-climbing synthesis).",
            "population",
            choices=DATA_SOURCES,
            lands="shadow.data",
        ),
        Option(
            "shadow_models", "Number of shadow models k.", 16, "int", check=between(1, 1024), lands="shadow.n_models"
        ),
        Option(
            "shadow_noise",
            "Share of features redrawn for --shadow-data noisy.",
            0.1,
            "float",
            check=between(0, 1, strict=True),
            lands="shadow.noise",
        ),
        Option("shadow_epochs", "Training epochs of MLP shadows.", None, "int", check=POSITIVE, lands="shadow.epochs"),
        Option(
            "synthesis_budget",
            "Target queries allowed for --shadow-data model.",
            None,
            "int",
            check=POSITIVE,
            lands="shadow.synthesis_budget",
        ),
        Option(
            "reference_models",
            "Reference models K for lira.offline, lira.online and rmia.",
            16,
            "int",
            check=between(2, 1024),
            lands="reference.n_models",
        ),
        Option(
            "reference_epochs",
            "Training epochs of MLP reference models (default: until as confident as the target).",
            None,
            "int",
            check=POSITIVE,
            lands="reference.epochs",
        ),
        Option(
            "reference_family",
            "Reference models of lira.* and rmia: auto, mlp, logreg, rf, gbm or clone (auto copies the target).",
            "auto",
            choices=FAMILIES,
            lands="reference.family",
        ),
        Option(
            "offline_models",
            "lira.offline's models: shared (OUT models of the lira.online/rmia pool) or population "
            "(its own, trained on population records only).",
            "shared",
            choices=OFFLINE_MODELS,
            lands="reference.offline_models",
        ),
    ),
    *_panel(
        "Gate",
        Option(
            "fail_on",
            "Exit 1 when the risk level reaches this: low/medium/high/critical.",
            choices=RISK_LEVELS,
            lands="gate.fail_on",
        ),
        Option(
            "max_auc",
            "Exit 1 when any attack's AUC exceeds this.",
            None,
            "float",
            check=between(0, 1),
            lands="gate.max_auc",
        ),
        Option(
            "max_tpr_at_fpr",
            "Exit 1 when any attack's TPR at an FPR exceeds a limit: FPR=LIMIT, e.g. 0.01=0.2 (repeatable).",
            {},
            "tpr_limits",
            lands="gate.max_tpr_at_fpr",
        ),
        Option(
            "max_epsilon",
            "Exit 1 when any attack's ε lower bound exceeds this.",
            None,
            "float",
            check=NOT_NEGATIVE,
            lands="gate.max_epsilon",
        ),
        Option(
            "allow_inconclusive",
            "Do not fail the gate on an inconclusive verdict; judge it by the level it shows at least.",
            False,
            "bool",
            lands="gate.allow_inconclusive",
        ),
        Option(
            "baseline",
            "An earlier report.json: exit 1 when the strongest attack got worse beyond the intervals.",
            kind="path",
            lands="audit.baseline",
        ),
    ),
    *_panel(
        "Output",
        Option("out", "Folder for report.json/html/pdf and records.csv.", Path("mia-audit-report"), "path"),
        Option(
            "formats",
            "Outputs to write: json,html,pdf,csv (default: these four) and markdown (summary.md, for a CI job "
            "summary or a merge-request comment).",
            FORMATS,
            "list",
            flag="--format",
        ),
        Option("json_out", "Also write the JSON to this path; '-' for stdout.", flag="--json"),
        Option("junit", "Also write the gate as JUnit XML to this file.", kind="path"),
        Option(
            "detail",
            "Report length: summary (the findings, then appendices; about a dozen pages) or full (every "
            "attack's assumptions and every class in full).",
            "summary",
            choices=DETAILS,
            lands="audit.detail",
        ),
        Option(
            "meta",
            "Who and what for, shown with the scope: key=value, e.g. auditor='J. Doe', model_owner=credit-team, "
            "model_version=3.2, ticket=DPIA-17 (repeat the flag; [tool.mia-audit.meta] in a file).",
            {},
            "meta",
            lands="audit.meta",
        ),
        Option(
            "mlflow_log",
            "Log the audit to the MLflow run of a models:/ or runs:/ model: the risk level, each attack's AUC and "
            "TPR at 1% FPR as metrics, the report folder as artifacts under mia-audit/.",
            False,
            "bool",
        ),
        Option(
            "include_records",
            "Show the feature values of the most exposed records in the report (off: indices only).",
            False,
            "bool",
            lands="audit.include_records",
        ),
    ),
    *_panel(
        "Run",
        Option("seed", "Seed for every random choice.", 0, "int", check=NOT_NEGATIVE, lands="audit.seed"),
        Option(
            "max_time",
            "Seconds the audit may take: once they have passed, the attacks not yet started that train models or "
            "query the target are dropped, with a note, and the verdict cannot be lower than inconclusive (an "
            "attack that has started runs to its end).",
            None,
            "float",
            check=Check(lambda v: v > 0, "must be positive"),
            lands="audit.max_time",
        ),
        Option("batch_size", "Records per query batch.", 4096, "int", check=POSITIVE, lands="audit.batch_size"),
        Option("device", "Device for attack models that train: cpu or cuda.", "cpu", lands="shadow.device"),
        Option(
            "backend",
            "Where the shadow and reference pools train: local (this process) or dask (a dask.distributed "
            "cluster; pip install 'mia-audit[dask]'). Same seed, same numbers.",
            "local",
            choices=BACKENDS,
            lands="audit.backend",
        ),
        Option(
            "scheduler",
            "Dask scheduler address for --backend dask, e.g. tcp://10.0.0.5:8786 (default: dask's "
            "scheduler-address setting, else a cluster of one worker process per core started for the run).",
            lands="audit.scheduler",
        ),
        Option(
            "threads",
            "OpenMP/BLAS threads for numpy, scipy and scikit-learn (default: the cores available).",
            None,
            "int",
            check=POSITIVE,
            lands="audit.threads",
        ),
        Option(
            "config",
            "TOML file with settings (default: [tool.mia-audit] of the nearest pyproject.toml).",
            kind="path",
            cli_only=True,
        ),
        Option("quiet", "Only errors and the verdict.", False, "bool", short="-q", cli_only=True),
        Option(
            "verbose",
            "Also each attack's assumptions and notes, and the gate's sources.",
            False,
            "bool",
            short="-v",
            cli_only=True,
        ),
        Option("debug", "Show tracebacks of internal errors.", False, "bool", cli_only=True),
    ),
)

BY_KEY = {option.key: option for option in OPTIONS}
# What each profile changes from the options' defaults (its attacks: attacks.registry.QUICK); an option
# given on the command line or in the config file keeps its value.
PROFILE_DEFAULTS: dict[str, dict[str, Any]] = {
    # A per-commit gate: no PDF (rendering it takes longer than the quick attacks on the bundled sample).
    "quick": {
        "reference_models": 4,
        "shadow_models": 4,
        "shadow_epochs": 20,
        "formats": ("json", "html"),
        "defences": "none",
    },
    "standard": {},
    "thorough": {"reference_models": 64, "boundary_queries": 200, "defences": "all"},
}
FILE_KEYS = tuple(option.key for option in OPTIONS if not option.cli_only)


@dataclass(frozen=True)
class AuditConfig:
    """Everything that shapes an audit besides the model and the data files (built from :data:`OPTIONS`)."""

    attacks: tuple[str, ...] | None = None
    seed: int = 0
    task: str = "classification"
    profile: str = "standard"
    threshold_fpr: float = 0.1
    trust_model: bool = False
    batch_size: int = 4096
    output: str | None = None  # the model output to audit (--output)
    output_kind: str = "auto"  # what it holds: auto, probabilities, logits or labels (--output-kind)
    gate: GateConfig = field(default_factory=GateConfig)
    shadow: ShadowConfig = field(default_factory=ShadowConfig)
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    risk_include: frozenset[str] = frozenset()
    boundary_queries: int = 100
    boundary_records: int = 4000
    # Seconds after which the expensive attacks not yet started are dropped (None: no limit).
    max_time: float | None = None
    # The defences measured after the attacks (--defences): "output", "training", "all" or "none".
    defences: str = "output"
    transfer_data: Path | None = None
    transfer_label_col: str | None = None
    # Show the feature values of the most exposed records in the report (off: indices only).
    include_records: bool = False
    # The report's length: "summary" or "full" (read by the renderers from run.config).
    detail: str = "summary"
    # Who and what for (--meta): auditor, model owner, model version, ticket; shown with the scope.
    meta: dict[str, str] = field(default_factory=dict)
    # An earlier report the gate compares with (--baseline).
    baseline: Baseline | None = None
    # Where each setting came from (command line, file, default) and the file, for run.config.
    config_source: dict[str, object] | None = None
    # OpenMP/BLAS threads (None: the cores available).
    threads: int | None = None
    # Where the pools train (--backend): "local" or "dask", and the Dask scheduler's address (--scheduler).
    backend: str = "local"
    scheduler: str | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold_fpr < 0.5:
            raise invalid_option("threshold_fpr", "must lie in (0, 0.5)", self.threshold_fpr)
        unknown = sorted(self.risk_include - auditor_only_ids())
        if unknown:
            allowed = ", ".join(sorted(auditor_only_ids()))
            raise invalid_option("risk_from", f"takes auditor-only attacks ({allowed})", ", ".join(unknown))
        if not 1 <= self.boundary_queries <= 100_000:
            raise invalid_option("boundary_queries", "must lie between 1 and 100000", self.boundary_queries)
        if self.threads is not None and self.threads < 1:
            raise invalid_option("threads", "must be positive", self.threads)
        if self.batch_size < 1:
            raise invalid_option("batch_size", "must be positive", self.batch_size)
        if self.task not in TASKS:
            raise invalid_option("task", f"must be one of {', '.join(TASKS)}", self.task)
        if self.profile not in PROFILES:
            raise invalid_option("profile", f"must be one of {', '.join(PROFILES)}", self.profile)
        if self.defences not in DEFENCE_SETS:
            raise invalid_option("defences", f"must be one of {', '.join(DEFENCE_SETS)}", self.defences)
        if self.backend not in BACKENDS:
            raise invalid_option("backend", f"must be one of {', '.join(BACKENDS)}", self.backend)
        if self.scheduler is not None and self.backend != "dask":
            raise ConfigError(
                f"scheduler names a Dask scheduler, read with --backend dask; add --backend dask, or drop "
                f"scheduler ({self.scheduler!r}).",
                option="scheduler",
            )


@dataclass(frozen=True)
class Settings:
    """Every option's resolved value, where it came from, and the config file read (if any)."""

    values: Mapping[str, Any]
    sources: Mapping[str, str]
    file: Path | None = None

    def __getitem__(self, key: str) -> Any:
        return self.values[key]

    def source_dict(self) -> dict[str, object]:
        return {"file": str(self.file) if self.file else None, "settings": dict(self.sources)}

    def build(self) -> tuple[AuditConfig, DataSpec]:
        """The audit configuration and the data spec these settings describe; an error names the option
        as the user gave it (its flag, or its key in the file)."""
        try:
            return self._build()
        except ConfigError as exc:
            if exc.option is None or not str(exc).startswith(exc.option):
                raise
            name = self.where(exc.option)
            raise ConfigError(name + str(exc)[len(exc.option) :]) from None

    def where(self, key: str) -> str:
        """How to name an option to the user: its flag, or its key in the config file it came from."""
        if self.sources.get(key) == FROM_FILE and self.file is not None:
            return f"{self.file} [tool.mia-audit]: {key}"
        return BY_KEY[key].display

    def _build(self) -> tuple[AuditConfig, DataSpec]:
        from mia_audit.data.records import DataSpec

        sections: dict[str, dict[str, Any]] = {"audit": {}, "shadow": {}, "reference": {}, "gate": {}, "data": {}}
        for option in OPTIONS:
            if option.lands:
                section, name = option.lands.split(".")
                sections[section][name] = _to_core(option.key, self.values[option.key])
        audit = sections["audit"]
        config = AuditConfig(
            **audit,
            shadow=ShadowConfig(**sections["shadow"]),
            reference=ReferenceConfig(**sections["reference"]),
            gate=GateConfig(**sections["gate"]),
            config_source=self.source_dict(),
        )
        return config, DataSpec(**sections["data"])


def _to_core(key: str, value: Any) -> Any:
    """An option's value as its configuration field holds it."""
    if key == "baseline":
        from mia_audit.judge.baseline import load_baseline

        return load_baseline(value) if value is not None else None
    if key == "risk_from":
        return frozenset(value)
    if key == "attacks":
        return tuple(value) if value and "all" not in value else None
    if key in ("drop_cols", "feature_cols") and value is not None:
        return tuple(value)
    if key == "max_tpr_at_fpr":
        return dict(value)
    return value


def describe(config: AuditConfig, data: DataSpec) -> dict[str, object]:
    """``run.config``: every option that shapes the audit, read back from the configuration, as JSON."""
    sections: dict[str, Any] = {
        "audit": config,
        "shadow": config.shadow,
        "reference": config.reference,
        "gate": config.gate,
        "data": data,
    }
    out: dict[str, object] = {}
    for option in OPTIONS:
        if option.lands:
            section, name = option.lands.split(".")
            out[option.key] = _as_json(getattr(sections[section], name))
    out["config_source"] = config.config_source
    return out


def _as_json(value: Any) -> Any:
    from mia_audit.judge.baseline import Baseline

    if isinstance(value, Baseline):
        return value.path
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (frozenset, set)):
        return sorted(value)
    if isinstance(value, (list, tuple)):
        return [_as_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _as_json(v) for k, v in value.items()}
    return value


# -- reading values from the command line and from a file ------------------------------------------


def split_list(values: Any) -> tuple[str, ...]:
    """``a,b`` or repeated (or a TOML list), or both, as one tuple."""
    items = [values] if isinstance(values, str) else list(values or [])
    return tuple(p.strip() for v in items for p in str(v).split(",") if p.strip())


def fpr_key(fpr: str, what: str) -> str:
    """``"0.01"`` and spellings of the same number (``"1e-2"``) as the key the reports use."""
    try:
        number = float(fpr)
    except ValueError:
        number = float("nan")
    for level in FPR_LEVELS:
        if number == float(level):
            return level
    raise ConfigError(f"{what}: FPR '{fpr}' is not one of {', '.join(FPR_LEVELS)}.")


def parse_tpr_limits(values: Any, where: str = "--max-tpr-at-fpr") -> dict[str, float]:
    """``0.01=0.2`` strings (command line) or a ``{"0.01" = 0.2}`` table (file) as ``{"0.01": 0.2}``."""
    if isinstance(values, dict):
        return _tpr_table(values, where)
    limits: dict[str, float] = {}
    for value in split_list(values):
        fpr, sep, limit = value.partition("=")
        try:
            if not sep:
                raise ValueError
            limits[fpr_key(fpr.strip(), where)] = _limit(float(limit), f"{where} {fpr.strip()}")
        except ValueError:
            raise ConfigError(
                f"{where} takes FPR=LIMIT with FPR one of {', '.join(FPR_LEVELS)}, e.g. 0.01=0.2; got '{value}'."
            ) from None
    return limits


_META_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")


def parse_meta(values: Any, where: str = "--meta") -> dict[str, str]:
    """``key=value`` strings (command line, repeated) or a table of strings (file) as ``{key: value}``."""
    pairs = list(values.items()) if isinstance(values, dict) else [v.partition("=")[::2] for v in values]
    meta: dict[str, str] = {}
    for key, value in pairs:
        key = str(key).strip()
        if not _META_KEY.fullmatch(key) or not isinstance(value, (str, int, float)) or not str(value).strip():
            raise ConfigError(
                f"{where} takes key=value with a name and a value, e.g. {where} auditor='J. Doe'; got '{key}={value}'."
            )
        meta[key] = str(value).strip()
    return meta


def _tpr_table(value: dict[str, Any], where: str) -> dict[str, float]:
    limits: dict[str, float] = {}
    for fpr, limit in value.items():
        if isinstance(limit, dict):
            # An unquoted key 0.01 is a dotted key in TOML: {"0": {"01": ...}}.
            raise ConfigError(f'{where}: quote the FPR keys, e.g. "0.01" = 0.2 (not 0.01 = 0.2).')
        if isinstance(limit, bool) or not isinstance(limit, (int, float)):
            raise ConfigError(f"{where}.{fpr} must be a number, got {limit!r}.")
        limits[fpr_key(fpr, where)] = _limit(float(limit), f'{where}."{fpr}"')
    return limits


def _limit(number: float, where: str) -> float:
    if not 0.0 <= number <= 1.0 or math.isnan(number):
        raise ConfigError(f"{where} must lie between 0 and 1, got {number}.")
    return number


def from_command_line(option: Option, value: Any) -> Any:
    """A value Typer parsed for ``option``, checked; the error names the flag."""
    where = option.display
    if option.kind == "tpr_limits":
        return parse_tpr_limits(value or (), where)
    if option.kind == "meta":
        return parse_meta(value or (), where)
    if option.kind == "list":
        value = split_list(value) or None
        if option.key == "formats" and value:
            _check_formats(value, where)
    return option.validate(value, where)


def from_file(option: Option, value: Any, where: str, base: Path) -> Any:
    """A TOML value for ``option``, checked and typed; relative paths are relative to the file's folder."""
    where = f"{where}: {option.key}"
    expected = _PYTHON_TYPES.get(option.kind)
    wrong_bool = option.kind != "bool" and isinstance(value, bool)
    if expected is not None and (not isinstance(value, expected) or wrong_bool):
        raise ConfigError(f"{where} must be {_kind_words(option.kind)}, got {value!r}.")
    if option.kind == "tpr_limits":
        if not isinstance(value, dict):
            raise ConfigError(f'{where} must be a table such as {{ "0.01" = 0.2 }}, got {value!r}.')
        return parse_tpr_limits(value, where)
    if option.kind == "meta":
        if not isinstance(value, dict):
            raise ConfigError(f'{where} must be a table such as {{ auditor = "J. Doe", ticket = "DPIA-17" }}.')
        return parse_meta(value, where)
    if option.kind == "list":
        if not isinstance(value, (str, list)) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f'{where} must be a list of strings, e.g. ["threshold", "shadow.shokri"].')
        value = split_list(value) or None
        if option.key == "formats" and value:
            _check_formats(value, where)
    if option.kind == "float":
        value = float(value)
    if option.kind == "path":
        value = base / Path(value)
    return option.validate(value, where)


_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "str": str,
    "int": int,
    "float": (int, float),
    "bool": bool,
    "path": str,
}


def _kind_words(kind: Kind) -> str:
    words = {"str": "a string", "int": "an integer", "float": "a number", "bool": "true or false", "path": "a path"}
    return words[kind]


def _check_formats(formats: tuple[str, ...], where: str) -> None:
    bad = [f for f in formats if f not in FORMAT_CHOICES]
    if bad:
        raise ConfigError(f"unknown {where} {', '.join(bad)}; choose from {', '.join(FORMAT_CHOICES)}.")


def resolve(
    command_line: Mapping[str, Any], given: set[str], file: Path | None, table: Mapping[str, Any], where: str = ""
) -> Settings:
    """Each option's value: from the command line when given there, else from the file, else its default."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    base = file.parent if file else Path.cwd()
    for option in sorted(OPTIONS, key=lambda o: o.key != "profile"):  # the profile first: it sets defaults
        key = option.key
        if key in given:
            values[key], sources[key] = from_command_line(option, command_line.get(key)), FROM_COMMAND_LINE
        if key in table:
            stored = from_file(option, table[key], where or str(file), base)
            if key not in given:
                values[key], sources[key] = stored, FROM_FILE
            elif option.kind == "tpr_limits" and set(stored) - set(values[key]):
                values[key], sources[key] = {**stored, **values[key]}, f"{FROM_FILE}, {FROM_COMMAND_LINE}"
        if key not in values and key in PROFILE_DEFAULTS.get(values.get("profile", ""), {}):
            values[key], sources[key] = PROFILE_DEFAULTS[values["profile"]][key], f"profile {values['profile']}"
        if key not in values:
            values[key], sources[key] = option.default, FROM_DEFAULT
    return Settings(values, {k: v for k, v in sources.items() if k in FILE_KEYS}, file)
