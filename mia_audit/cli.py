"""The `mia-audit` command line: parse, build the config, call the library, map outcomes to exit codes."""

from __future__ import annotations

import shlex
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from mia_audit import __version__
from mia_audit.errors import ConfigError, InputFileError, MiaAuditError

if TYPE_CHECKING:
    from mia_audit.result import AuditResult
    from mia_audit.training.config import ShadowConfig
    from mia_audit.training.reference_config import ReferenceConfig

EXIT_OK, EXIT_GATE_FAILED, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
FORMATS = ("json", "html", "pdf", "csv")
REPORT_FORMATS = ("html", "pdf", "json")

app = typer.Typer(
    name="mia-audit",
    help="Audit a trained classifier for membership-inference leakage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _split(values: list[str] | None) -> tuple[str, ...]:
    """Options given as `a,b` or repeated, or both."""
    return tuple(p.strip() for v in values or [] for p in v.split(",") if p.strip())


def _run_guarded(debug: bool, err: Console, body: Callable[[], int]) -> None:
    """Run a command body; user errors → one line and exit 2, bugs → exit 3."""
    try:
        code = body()
    except MiaAuditError as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        err.print("interrupted")
        raise typer.Exit(130) from None
    except Exception as exc:
        if debug:
            err.print(traceback.format_exc(), highlight=False, markup=False)
        err.print(
            f"[bold red]internal error:[/] {type(exc).__name__}: {exc}. This is a bug in mia-audit; "
            "re-run with --debug for the traceback and report it.",
            highlight=False,
            soft_wrap=True,
        )
        raise typer.Exit(EXIT_INTERNAL) from None
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


@app.command()
def scan(
    model: Annotated[Path, typer.Argument(help="Model file: .onnx, .skops, or .pkl/.joblib (with --trust-model).")],
    data: Annotated[
        Path | None, typer.Option("--data", help="Audit records with a membership column (CSV or Parquet).")
    ] = None,
    members: Annotated[Path | None, typer.Option("--members", help="Training members (use with --holdout).")] = None,
    holdout: Annotated[Path | None, typer.Option("--holdout", help="Held-out records, not used for training.")] = None,
    population: Annotated[
        Path | None, typer.Option("--population", help="Extra non-member records for the attacker.")
    ] = None,
    member_col: Annotated[
        str, typer.Option("--member-col", help="Membership column in --data (1 = member).")
    ] = "member",
    label_col: Annotated[
        str | None, typer.Option("--label-col", help="Label column (default: label/target/y/class).")
    ] = None,
    drop_cols: Annotated[
        list[str] | None, typer.Option("--drop-cols", help="Columns to leave out, comma-separated.")
    ] = None,
    feature_cols: Annotated[
        list[str] | None, typer.Option("--feature-cols", help="Feature columns in model order, comma-separated.")
    ] = None,
    sensitive_col: Annotated[
        str | None,
        typer.Option(
            "--sensitive-col",
            help="Column of a sensitive attribute (e.g. sex) for fairness and per-group exposure; a model feature, or a column left out with --drop-cols.",
        ),
    ] = None,
    population_share: Annotated[
        float,
        typer.Option("--population-share", help="Share of the holdout given to the attacker when no --population."),
    ] = 0.5,
    no_balance: Annotated[
        bool, typer.Option("--no-balance", help="Evaluate on all members and non-members, unbalanced.")
    ] = False,
    attacks: Annotated[
        list[str] | None, typer.Option("--attacks", help="Attack ids or families, comma-separated (default: all).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option("--seed", help="Seed for every random choice (default: the config file's, else 0).")
    ] = None,
    threshold_fpr: Annotated[
        float,
        typer.Option(
            "--threshold-fpr", help="False-positive rate the threshold attacks aim for on population records."
        ),
    ] = 0.1,
    trust_model: Annotated[
        bool,
        typer.Option("--trust-model", help="Allow pickle/joblib and untrusted skops types (runs code from the file)."),
    ] = False,
    out: Annotated[Path, typer.Option("--out", help="Folder for report.json/html/pdf and records.csv.")] = Path(
        "mia-audit-report"
    ),
    formats: Annotated[
        list[str] | None, typer.Option("--format", help="Outputs to write: json,html,pdf,csv (default: all).")
    ] = None,
    json_out: Annotated[
        str | None, typer.Option("--json", help="Also write the JSON to this path; '-' for stdout.")
    ] = None,
    fail_on: Annotated[
        str | None, typer.Option("--fail-on", help="Exit 1 when the risk level reaches this: low/medium/high/critical.")
    ] = None,
    max_auc: Annotated[
        float | None, typer.Option("--max-auc", help="Exit 1 when any attack's AUC exceeds this.")
    ] = None,
    max_tpr_at_fpr: Annotated[
        list[str] | None,
        typer.Option(
            "--max-tpr-at-fpr",
            help="Exit 1 when any attack's TPR at an FPR exceeds a limit: FPR=LIMIT, e.g. 0.01=0.2 (repeatable).",
        ),
    ] = None,
    max_epsilon: Annotated[
        float | None, typer.Option("--max-epsilon", help="Exit 1 when any attack's ε lower bound exceeds this.")
    ] = None,
    baseline: Annotated[
        Path | None,
        typer.Option(
            "--baseline",
            help="An earlier report.json: exit 1 when the strongest attack got worse beyond the intervals.",
        ),
    ] = None,
    config_path: Annotated[
        Path | None,
        typer.Option(
            "--config", help="TOML file with gate settings (default: [tool.mia-audit] of the nearest pyproject.toml)."
        ),
    ] = None,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Also write the gate as JUnit XML to this file.")
    ] = None,
    shadow_family: Annotated[
        str,
        typer.Option(
            "--shadow-family",
            help="Shadow models: auto, mlp, logreg, rf, gbm or clone (auto copies the target where it can).",
        ),
    ] = "auto",
    shadow_data: Annotated[
        str,
        typer.Option(
            "--shadow-data",
            help="Shadow training data: population, noisy, marginal or model (hill-climbing synthesis).",
        ),
    ] = "population",
    shadow_models: Annotated[int, typer.Option("--shadow-models", help="Number of shadow models k.")] = 16,
    shadow_noise: Annotated[
        float, typer.Option("--shadow-noise", help="Share of features redrawn for --shadow-data noisy.")
    ] = 0.1,
    shadow_epochs: Annotated[
        int | None, typer.Option("--shadow-epochs", help="Training epochs of MLP shadows.")
    ] = None,
    synthesis_budget: Annotated[
        int | None, typer.Option("--synthesis-budget", help="Target queries allowed for --shadow-data model.")
    ] = None,
    reference_models: Annotated[
        int, typer.Option("--reference-models", help="Reference models K for lira.offline, lira.online and rmia.")
    ] = 16,
    reference_epochs: Annotated[
        int | None,
        typer.Option(
            "--reference-epochs",
            help="Training epochs of MLP reference models (default: until as confident as the target).",
        ),
    ] = None,
    reference_family: Annotated[
        str,
        typer.Option(
            "--reference-family",
            help="Reference models of lira.* and rmia: auto, mlp, logreg, rf, gbm or clone (auto copies the target).",
        ),
    ] = "auto",
    offline_models: Annotated[
        str,
        typer.Option(
            "--offline-models",
            help="lira.offline's models: shared (OUT models of the lira.online/rmia pool) or population "
            "(its own, trained on population records only).",
        ),
    ] = "shared",
    risk_from: Annotated[
        list[str] | None,
        typer.Option("--risk-from", help="Also base the risk level on these auditor-only attacks (e.g. supervised)."),
    ] = None,
    boundary_queries: Annotated[
        int, typer.Option("--boundary-queries", help="Target queries per record for label_only.boundary.")
    ] = 100,
    include_records: Annotated[
        bool,
        typer.Option(
            "--include-records",
            help="Show the feature values of the most exposed records in the report (off: indices only).",
        ),
    ] = False,
    transfer_data: Annotated[
        Path | None,
        typer.Option(
            "--transfer-data", help="Another dataset for the data-transfer attack (default: built-in corpus)."
        ),
    ] = None,
    transfer_label_col: Annotated[
        str | None, typer.Option("--transfer-label-col", help="Label column of --transfer-data.")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Records per query batch.")] = 4096,
    device: Annotated[str, typer.Option("--device", help="Device for attack models that train: cpu or cuda.")] = "cpu",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and the verdict.")] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Also each attack's assumptions and notes, and the gate's sources.")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Run the attack suite against MODEL and write the risk report."""
    stdout_json = json_out == "-"
    err = Console(stderr=True)
    console = err if stdout_json else Console()

    def body() -> int:
        from mia_audit.audit import AuditConfig, audit
        from mia_audit.config_file import Settings, parse_tpr_limits, resolve
        from mia_audit.data.records import DataSpec
        from mia_audit.judge.baseline import load_baseline
        from mia_audit.report.console import progress
        from mia_audit.report.writer import planned_outputs, write_reports

        chosen = _split(formats) or FORMATS
        bad = [f for f in chosen if f not in FORMATS]
        if bad:
            raise ConfigError(f"unknown --format {', '.join(bad)}; choose from {', '.join(FORMATS)}.")
        _check_device(device)
        if quiet and verbose:
            raise ConfigError("--quiet and --verbose exclude each other; give one.")
        cli = Settings(
            fail_on=fail_on,
            max_auc=max_auc,
            max_tpr_at_fpr=parse_tpr_limits(_split(max_tpr_at_fpr)),
            max_epsilon=max_epsilon,
            attacks=_split(attacks) or None,
            seed=seed,
        )
        settings = resolve(cli, config_path)
        spec = DataSpec(
            data=data,
            members=members,
            holdout=holdout,
            population=population,
            member_col=member_col,
            label_col=label_col,
            drop_cols=_split(drop_cols),
            feature_cols=_split(feature_cols) or None,
            sensitive_col=sensitive_col,
            population_share=population_share,
            balance=not no_balance,
        )
        given = (model, data, members, holdout, population, transfer_data, baseline, config_path)
        inputs = [p for p in (*given, settings.file and Path(settings.file)) if p]
        extra = _extra_outputs(junit, json_out, inputs, planned_outputs(out, chosen, inputs))
        config = AuditConfig(
            attacks=settings.settings.attacks,
            seed=settings.settings.seed or 0,
            threshold_fpr=threshold_fpr,
            trust_model=trust_model,
            batch_size=batch_size,
            gate=settings.gate(),
            baseline=load_baseline(baseline) if baseline else None,
            config_source=settings.source_dict(),
            risk_include=frozenset(_split(risk_from)),
            boundary_queries=boundary_queries,
            include_records=include_records,
            transfer_data=transfer_data,
            transfer_label_col=transfer_label_col,
            shadow=_shadow_config(
                shadow_family, shadow_data, shadow_models, shadow_noise, shadow_epochs, synthesis_budget, device
            ),
            reference=_reference_config(reference_models, reference_epochs, reference_family, offline_models),
        )
        command = shlex.join(["mia-audit", *sys.argv[1:]]) if sys.argv else "mia-audit"
        with progress(err, quiet=quiet) as step:
            result = audit(model, spec, config, command=command, step=step)
        written = write_reports(result, out, chosen, protected=inputs) + _write_extra(result, extra, stdout_json)
        _print_outcome(console, result, written, quiet, verbose)
        return EXIT_GATE_FAILED if result.gate.configured and not result.gate.passed else EXIT_OK

    _run_guarded(debug, err, body)


def _reference_config(n_models: int, epochs: int | None, family: str, offline_models: str) -> ReferenceConfig:
    from mia_audit.training.reference_config import ReferenceConfig

    return ReferenceConfig(n_models=n_models, epochs=epochs, family=family, offline_models=offline_models)


def _shadow_config(
    family: str, data: str, n_models: int, noise: float, epochs: int | None, budget: int | None, device: str
) -> ShadowConfig:
    from mia_audit.training.config import ShadowConfig

    return ShadowConfig(
        family=family,
        data=data,
        n_models=n_models,
        noise=noise,
        epochs=epochs,
        synthesis_budget=budget,
        device=device,
    )


def _check_device(device: str) -> None:
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ConfigError(f"--device must be cpu or cuda, got '{device}'.")
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was given but no CUDA GPU is available here; use --device cpu.")


def _extra_outputs(
    junit: Path | None, json_out: str | None, inputs: list[Path], planned: list[Path]
) -> dict[str, Path]:
    """``--junit`` and ``--json`` files, checked before the audit runs: never an input, never a report."""
    from mia_audit.report.writer import check_output_file

    extra: dict[str, Path] = {}
    if junit is not None:
        extra["junit"] = check_output_file(junit, "--junit", inputs, planned)
    if json_out and json_out != "-":
        extra["json"] = check_output_file(Path(json_out), "--json", inputs, [*planned, *extra.values()])
    return extra


def _write_extra(result: AuditResult, extra: dict[str, Path], stdout_json: bool) -> list[Path]:
    from mia_audit.report.json_report import write_json
    from mia_audit.report.junit import write_junit

    if stdout_json:
        write_json(result, sys.stdout)
    for option, path in extra.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            (write_json if option == "json" else write_junit)(result, path)
        except OSError as exc:
            raise InputFileError(f"cannot write --{option} {path}: {exc.strerror or exc}.") from None
    return list(extra.values())


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


@app.command("report")
def report_command(
    report_json: Annotated[Path, typer.Argument(help="A report.json written by `mia-audit scan`.")],
    formats: Annotated[
        list[str] | None, typer.Option("--format", help="Files to write: html,pdf,json (default: html,pdf).")
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder for the files (default: the folder of REPORT_JSON).")
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Re-render the report from REPORT_JSON without re-running the audit (exit 0 whatever its verdict)."""
    err = Console(stderr=True)

    def body() -> int:
        from mia_audit.report.writer import planned_outputs, write_reports
        from mia_audit.result.codec import read_json

        chosen = _split(formats) or ("html", "pdf")
        if "csv" in chosen:
            raise ConfigError("--format csv needs per-record scores, which report.json does not hold; re-run the scan.")
        bad = [f for f in chosen if f not in REPORT_FORMATS]
        if bad:
            raise ConfigError(f"unknown --format {', '.join(bad)}; choose from {', '.join(REPORT_FORMATS)}.")
        folder = out if out is not None else report_json.parent
        result = read_json(report_json)
        planned_outputs(folder, chosen, [report_json])
        for path in write_reports(result, folder, chosen, protected=[report_json]):
            if not quiet:
                typer.echo(f"wrote {path}")
        return EXIT_OK

    _run_guarded(debug, err, body)


@app.command()
def inspect(
    model: Annotated[Path, typer.Argument(help="Model file to describe.")],
    trust_model: Annotated[bool, typer.Option("--trust-model", help="Allow loading pickle/joblib files.")] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of internal errors.")] = False,
) -> None:
    """Print a model's format, inputs, outputs, classes and sha256."""
    err = Console(stderr=True)

    def body() -> int:
        from mia_audit.models.loader import format_model_info, load_model

        typer.echo(format_model_info(load_model(model, trust_model=trust_model).info))
        return EXIT_OK

    _run_guarded(debug, err, body)


@app.command("attacks")
def list_attacks() -> None:
    """List the attacks this version can run, with their ids and families."""
    from mia_audit.attacks.registry import infos

    for info in infos():
        needs = "probabilities" if info.needs_probabilities else "labels only"
        auditor = "  (auditor only: uses the membership of other records)" if info.auditor_only else ""
        typer.echo(f"{info.id:<28} family={info.family:<12} needs {needs}{auditor}")


def main() -> None:
    app()
