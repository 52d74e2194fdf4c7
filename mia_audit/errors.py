"""Errors the CLI maps to exit codes: every ``MiaAuditError`` is a user-facing input problem (exit 2)."""

from __future__ import annotations


class MiaAuditError(Exception):
    """A problem with what the user gave us. The message is one line: what is wrong and how to fix it."""

    exit_code = 2


class InputFileError(MiaAuditError):
    """A data or model file is missing, unreadable or of an unknown format."""


class DataContractError(MiaAuditError):
    """The audit data do not follow the data contract (columns, membership, labels, NaNs)."""


class ModelLoadError(MiaAuditError):
    """The model file cannot be loaded (not a model, untrusted types, pickle without trust)."""


class ModelDataMismatchError(MiaAuditError):
    """The data do not fit the model (feature count, dtypes, unknown labels)."""


class ConfigError(MiaAuditError):
    """An option or configuration value is invalid."""
