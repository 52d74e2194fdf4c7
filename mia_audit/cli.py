"""The `mia-audit` command line: parse, resolve the settings, call the library, write, map to exit codes.

``scan``'s options are not written out here: they are built from ``mia_audit.options.OPTIONS``, the one
place each option is declared.
"""

from __future__ import annotations

import inspect
import os
import shlex
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.text import Text
from typer.core import TyperOption

from mia_audit import __version__
from mia_audit.errors import ConfigError, ExitCode, MiaAuditError

if TYPE_CHECKING:
    from mia_audit.models.mlflow_source import MlflowModel
    from mia_audit.options import Option, Settings
    from mia_audit.result import AuditResult

REPORT_FORMATS = ("html", "pdf", "json", "markdown")

app = typer.Typer(
    name="mia-audit",
    help="Audit a trained classifier for membership-inference leakage.",
    epilog=(
        "Examples:\n\n"
        "  mia-audit scan model.onnx --data audit.csv\n\n"
        "  mia-audit scan model.skops --members train.parquet --holdout test.parquet --fail-on high\n\n"
        "  mia-audit scan model.onnx --data audit.csv --profile quick --format json,html\n\n"
        "  mia-audit report mia-audit-report/report.json --detail full\n\n"
        "  mia-audit explain lira.online"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _flag_type(self: TyperOption, ctx: Any) -> str | None:
    """A flag takes no value: its help line shows no type (Typer would print ``<bool>``)."""
    return None if self.is_flag else _option_type(self, ctx)


_option_type = TyperOption.display_type_rich
TyperOption.display_type_rich = _flag_type  # type: ignore[method-assign]


def _split(values: list[str] | None) -> tuple[str, ...]:
    """Options given as `a,b` or repeated, or both."""
    return tuple(p.strip() for v in values or [] for p in v.split(",") if p.strip())


def _run_guarded(debug: bool, err: Console, body: Callable[[], int]) -> None:
    """Run a command body; user errors → one line and exit 2, bugs → exit 3."""
    try:
        code = body()
    except MiaAuditError as exc:
        err.print(Text.assemble(("error:", "bold red"), f" {exc}"), highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted", markup=False)
        raise typer.Exit(ExitCode.INTERRUPTED) from None
    except Exception as exc:
        if debug:
            err.print(traceback.format_exc(), highlight=False, markup=False)
        message = (
            f" {type(exc).__name__}: {exc}. This is a bug in mia-audit; re-run with --debug for the traceback "
            "and report it."
        )
        err.print(Text.assemble(("internal error:", "bold red"), message), highlight=False, soft_wrap=True)
        raise typer.Exit(ExitCode.INTERNAL) from None
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"mia-audit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Audit a trained classifier for membership-inference leakage."""


# -- scan -------------------------------------------------------------------------------------------


def _scan(ctx: typer.Context, model: Path, **values: Any) -> None:
    """Run the attack suite against MODEL and write the risk report."""
    given = {k for k in values if _given(ctx, k)}
    err = Console(stderr=True)
    console = err if values["json_out"] == "-" else Console()
    _run_guarded(bool(values["debug"]), err, lambda: run_scan(model, values, given, console, err))


def _given(ctx: typer.Context, name: str) -> bool:
    """Whether the user typed this option (a value Typer filled in as the default is not given)."""
    source = ctx.get_parameter_source(name)
    return source is not None and source.name in ("COMMANDLINE", "ENVIRONMENT")


def run_scan(model: Path, values: dict[str, Any], given: set[str], console: Console, err: Console) -> int:
    """The scan: settings, checks on every output before any work, the audit, the reports, the exit code."""
    from mia_audit.config_file import settings as resolve_settings

    if values["quiet"] and values["verbose"]:
        raise ConfigError("--quiet and --verbose exclude each other; give one.")
    settings = resolve_settings(values, given, values["config"])
    command = shlex.join(["mia-audit", *sys.argv[1:]]) if sys.argv else "mia-audit"
    return scan_with(model, settings, command, bool(values["quiet"]), bool(values["verbose"]), console, err)


def scan_with(
    model: Path, settings: Settings, command: str, quiet: bool, verbose: bool, console: Console, err: Console
) -> int:
    """A scan of ``model`` with resolved settings: every output checked before any work, the audit, the
    reports, the summary, the exit code."""
    from mia_audit.audit import audit
    from mia_audit.report.console import progress

    _check_device(settings["device"])
    config, spec = settings.build()
    outputs = _Outputs.plan(model, settings)
    with tempfile.TemporaryDirectory(prefix="mia-audit-model-") as folder:
        source = _mlflow_source(model, settings, Path(folder))
        with progress(err, quiet=quiet) as step:
            result = audit(source.path if source else model, spec, config, command=command, step=step)
    if source is not None:
        notes = (*result.notes, f"The model is {source.describe()}.")
        result = replace(result, model=replace(result.model, path=source.uri), notes=notes)
    written = outputs.write(result)
    if source is not None and settings["mlflow_log"]:
        from mia_audit.report.mlflow_log import log_audit

        assert source.run_id is not None  # checked by _mlflow_source
        log_audit(result, [p for p in written if p.parent == outputs.out], source.tracking_uri, source.run_id)
        written.append(Path(f"runs:/{source.run_id}/mia-audit"))
    _print_outcome(console, result, written, quiet, verbose)
    return ExitCode.GATE_FAILED if result.gate.configured and not result.gate.passed else ExitCode.OK


def _mlflow_source(model: Path, settings: Settings, folder: Path) -> MlflowModel | None:
    """A models:/ or runs:/ model downloaded into ``folder`` (None for a file), and the run --mlflow-log
    writes to checked, before any attack."""
    from mia_audit.models.mlflow_source import is_mlflow_uri, resolve

    if not is_mlflow_uri(model):
        if settings["mlflow_log"]:
            raise ConfigError(
                "--mlflow-log logs the audit to the MLflow run the model came from; give the model as "
                "models:/NAME/VERSION or runs:/RUN_ID/PATH."
            )
        return None
    source = resolve(str(model), settings["mlflow_tracking_uri"], folder, trust_model=bool(settings["trust_model"]))
    if settings["mlflow_log"]:
        if source.run_id is None:
            raise ConfigError(f"--mlflow-log: {source.uri} names no run to log to; give runs:/RUN_ID/PATH.")
        from mia_audit.report.mlflow_log import check_run

        check_run(source.tracking_uri, source.run_id)
    return source


@dataclass(frozen=True)
class _Outputs:
    """The report files of a run, checked before the audit: never an input, never twice the same file."""

    out: Path
    formats: tuple[str, ...]
    extra: dict[str, Path]  # --junit and --json files, by format
    inputs: list[Path]
    stdout_json: bool

    @classmethod
    def plan(cls, model: Path, settings: Settings) -> _Outputs:
        from mia_audit.report.formats import check_output_file, check_writable, planned_outputs

        keys = ("data", "members", "holdout", "population", "transfer_data", "baseline")
        inputs = [p for p in (model, *(settings[k] for k in keys), settings.file) if p]
        formats = tuple(settings["formats"])
        planned = planned_outputs(settings["out"], formats, inputs)
        check_writable(settings["out"], "--out")
        extra: dict[str, Path] = {}
        if settings["junit"] is not None:
            extra["junit"] = check_output_file(settings["junit"], "--junit", inputs, planned)
        json_out = settings["json_out"]
        if json_out and json_out != "-":
            extra["json"] = check_output_file(Path(json_out), "--json", inputs, [*planned, *extra.values()])
        for option, path in extra.items():
            check_writable(path.parent, f"--{option}")
        return cls(settings["out"], formats, extra, inputs, json_out == "-")

    def write(self, result: AuditResult) -> list[Path]:
        from mia_audit.report.formats import write_file, write_reports
        from mia_audit.report.json_report import write_json

        written = write_reports(result, self.out, self.formats, protected=self.inputs)
        if self.stdout_json:
            write_json(result, sys.stdout)
        return written + [write_file(result, name, path) for name, path in self.extra.items()]


def _check_device(device: str) -> None:
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ConfigError(f"--device must be cpu or cuda, got '{device}'.")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was given but no CUDA GPU is available here; use --device cpu.")


def _print_outcome(console: Console, result: AuditResult, written: list[Path], quiet: bool, verbose: bool) -> None:
    from mia_audit.report.console import print_details, print_summary, verdict_line

    if quiet:
        console.print(verdict_line(result), highlight=False, markup=False)
        return
    if verbose:
        print_details(result, console)
    print_summary(result, console)
    for path in written:
        console.print(f"wrote {path}", highlight=False, markup=False)


_METAVARS = {
    "int": "N",
    "float": "X",
    "path": "PATH",
    "list": "A,B",
    "tpr_limits": "FPR=LIMIT",
    "meta": "KEY=VALUE",
    "str": "TEXT",
}


def _typer_parameter(option: Option) -> inspect.Parameter:
    """One ``scan`` parameter from its declaration: type, flags, help, panel and default."""
    python_type: Any = {"int": int, "float": float, "bool": bool, "path": Path}.get(option.kind, str)
    if option.kind in ("list", "tpr_limits", "meta"):
        python_type, default = list[str] | None, None
    elif option.default is None:
        python_type, default = python_type | None, None
    else:
        default = option.default
    shown = ", ".join(option.default) if option.kind == "list" and option.default else None
    info = typer.Option(
        *option.flags,
        metavar=_METAVARS.get(option.kind),
        help=escape(option.help),  # help is shown through rich markup, which would swallow "[tool.mia-audit]"
        rich_help_panel=option.panel,
        show_default=shown if shown else option.kind not in ("list", "tpr_limits", "meta") and default is not None,
    )
    annotation = Annotated[python_type, info]
    return inspect.Parameter(option.key, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def _scan_command() -> Callable[..., None]:
    from mia_audit.options import OPTIONS

    model = Annotated[
        Path,
        typer.Argument(
            help="Model file: .onnx, .skops, TorchScript .pt, torch.export .pt2, or .pkl/.joblib (with --trust-model)."
        ),
    ]
    parameters = [
        inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context),
        inspect.Parameter("model", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=model),
        *(_typer_parameter(option) for option in OPTIONS),
    ]

    def scan(ctx: typer.Context, model: Path, **values: Any) -> None:
        _scan(ctx, model, **values)

    scan.__doc__ = _scan.__doc__
    scan.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    scan.__annotations__ = {p.name: p.annotation for p in parameters}
    return scan


# -- the other commands ---------------------------------------------------------------------------


@app.command("report")
def report_command(
    report_json: Annotated[Path, typer.Argument(help="A report.json written by `mia-audit scan`.")],
    formats: Annotated[
        list[str] | None, typer.Option("--format", help="Files to write: html,pdf,json,markdown (default: html,pdf).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the files (default: the folder of REPORT_JSON).")
    ] = None,
    detail: Annotated[
        str | None, typer.Option("--detail", help="Report length: summary or full (default: as the scan chose).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Re-render the report from REPORT_JSON without re-running the audit (exit 0 whatever its verdict)."""
    err = Console(stderr=True)

    def body() -> int:
        from mia_audit.report.formats import planned_outputs, write_reports
        from mia_audit.result.codec import read_json

        chosen = _split(formats) or ("html", "pdf")
        if "csv" in chosen:
            raise ConfigError("--format csv needs per-record scores, which report.json does not hold; re-run the scan.")
        bad = [f for f in chosen if f not in REPORT_FORMATS]
        if bad:
            raise ConfigError(f"unknown --format {', '.join(bad)}; choose from {', '.join(REPORT_FORMATS)}.")
        folder = out if out is not None else report_json.parent
        if detail is not None:
            from mia_audit.options import BY_KEY

            BY_KEY["detail"].validate(detail, "--detail")
        result = read_json(report_json)
        if detail is not None:
            from mia_audit.report.html import with_detail

            result = with_detail(result, detail)
        planned_outputs(folder, chosen, [report_json])
        for path in write_reports(result, folder, chosen, protected=[report_json]):
            if not quiet:
                typer.echo(f"wrote {path}")
        return ExitCode.OK

    _run_guarded(debug, err, body)


@app.command("inspect")
def inspect_model(
    model: Annotated[Path, typer.Argument(help="Model file to describe.")],
    trust_model: Annotated[
        bool, typer.Option("--trust-model", help="Allow loading pickle/joblib and torch.save files.")
    ] = False,
    task: Annotated[
        str,
        typer.Option(
            "--task",
            help="auto (a regressor where the file shows one), classification or regression (a network's "
            "single output is otherwise read as a binary logit).",
        ),
    ] = "auto",
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Print a model's format, inputs, outputs, classes and sha256."""
    err = Console(stderr=True)

    def body() -> int:
        from mia_audit.models.loader import describe_model, format_model_info, load_model, load_regressor

        if task not in ("auto", "classification", "regression"):
            raise ConfigError(f"--task must be auto, classification or regression, got {task!r}.")
        if task == "regression":
            info = load_regressor(model, trust_model=trust_model).info
        elif task == "classification":
            info = load_model(model, trust_model=trust_model).info
        else:
            info = describe_model(model, trust_model=trust_model)
        typer.echo(format_model_info(info))
        return ExitCode.OK

    _run_guarded(debug, err, body)


@app.command("attacks")
def list_attacks() -> None:
    """List the attacks this version can run, with their ids and families."""
    from mia_audit.attacks.registry import infos

    for info in infos():
        if "regression" in info.tasks:
            needs = "predicted values"
        else:
            needs = "probabilities" if info.needs_probabilities else "labels only"
        auditor = "  (auditor only: uses the membership of other records)" if info.auditor_only else ""
        task = "/".join(sorted(info.tasks))
        typer.echo(f"{info.id:<28} family={info.family:<12} task={task:<15} needs {needs}{auditor}")


@app.command("explain")
def explain(
    attack_id: Annotated[str, typer.Argument(help="An attack id, as `mia-audit attacks` lists them.")],
) -> None:
    """Print one attack's assumed knowledge, method, settings and references."""
    err = Console(stderr=True)

    def body() -> int:
        from mia_audit.attacks.explain import explain_attack
        from mia_audit.options import BY_KEY

        typer.echo(explain_attack(attack_id, lambda key: BY_KEY[key].display if key in BY_KEY else key))
        return ExitCode.OK

    _run_guarded(False, err, body)


@app.command("hook")
def hook_command(
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="Changed files (pre-commit passes them): audit only the models they concern."),
    ] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="TOML file (default: the nearest pyproject.toml).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and each verdict.")] = False,
) -> None:
    """Audit the models of [[tool.mia-audit.hook]] with --profile quick (a pre-commit or nox hook).

    Each entry names a model and its data, and may set any scan key (its own gate, profile or --out;
    the reports go to .mia-audit/MODEL-NAME/ unless it says otherwise). Given changed files, only the
    entries whose model or data files are among them run (all of them when the config file changed).
    Exit 1 when a gate failed, 2 when an entry could not run."""
    err = Console(stderr=True)
    _run_guarded(False, err, lambda: run_hook(files or [], config, quiet, Console(), err))


def run_hook(files: list[Path], config: Path | None, quiet: bool, console: Console, err: Console) -> int:
    from mia_audit.config_file import hook_settings, load_table

    table = load_table(config)
    if not table.hook:
        where = table.path or "pyproject.toml"
        raise ConfigError(f'{where}: no [[tool.mia-audit.hook]] entries; add one with model = "..." and its data.')
    codes = []
    for model, settings in hook_settings(table, files):
        shown = os.path.relpath(model)
        console.print(f"mia-audit hook: {shown}", highlight=False, markup=False)
        try:
            codes.append(scan_with(model, settings, f"mia-audit hook ({model})", quiet, False, console, err))
        except MiaAuditError as exc:
            err.print(Text.assemble(("error:", "bold red"), f" {shown}: {exc}"), highlight=False, soft_wrap=True)
            codes.append(int(exc.exit_code))
        except Exception as exc:
            said = f" {shown}: {type(exc).__name__}: {exc}. This is a bug in mia-audit; scan this model with --debug."
            err.print(Text.assemble(("internal error:", "bold red"), said), highlight=False, soft_wrap=True)
            codes.append(int(ExitCode.INTERNAL))
    return max(codes, default=ExitCode.OK, key=lambda c: (c == ExitCode.USAGE, c))


def main() -> None:
    app()


app.command("scan")(_scan_command())
