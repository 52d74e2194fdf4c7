"""The exit codes of the CI contract, and the errors the CLI maps to them.

Every ``MiaAuditError`` is a user-facing input problem (exit 2), raised before expensive work where
the input can be checked up front.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """The CI contract (README, "Exit codes"); the one table of exit codes."""

    OK = 0  # the audit ran; the gate passed, or no gate was set
    GATE_FAILED = 1  # the audit ran; the gate failed
    USAGE = 2  # usage or input error: one clear line, no traceback
    INTERNAL = 3  # a bug; traceback with --debug
    INTERRUPTED = 130  # Ctrl-C


class MiaAuditError(Exception):
    """A problem with what the user gave us. The message is one line: what is wrong and how to fix it."""

    exit_code = ExitCode.USAGE


class InputFileError(MiaAuditError):
    """A data or model file is missing, unreadable or of an unknown format."""


class DataContractError(MiaAuditError):
    """The audit data do not follow the data contract (columns, membership, labels, NaNs)."""


class ModelLoadError(MiaAuditError):
    """The model file cannot be loaded (not a model, untrusted types, pickle without trust)."""


class ModelDataMismatchError(MiaAuditError):
    """The data do not fit the model (feature count, dtypes, unknown labels)."""


class ClusterError(MiaAuditError):
    """The Dask cluster of ``--backend dask`` cannot be reached, has no workers, or was lost mid-run."""


class ConfigError(MiaAuditError):
    """An option or configuration value is invalid.

    ``option`` is the option's key (``shadow_models``) when the message starts with it: the layer that
    knows where the value came from renames it to the flag or the config file's key (``options``).
    """

    def __init__(self, message: str, *, option: str | None = None) -> None:
        super().__init__(message)
        self.option = option


def invalid_option(option: str, says: str, value: object) -> ConfigError:
    """``"shadow_models must lie between 1 and 1024, got 0."``: named by its key, for ``options`` to rename."""
    return ConfigError(f"{option} {says}, got {value!r}.", option=option)


def first_line(exc: BaseException, limit: int = 200) -> str:
    """Another library's error, shortened to its first line for ours (its type when it says nothing)."""
    return (str(exc).splitlines() or [type(exc).__name__])[0][:limit]
