"""Models from an MLflow tracking server or registry: ``models:/NAME/VERSION`` (or ``@alias``, or a logged
model id) and ``runs:/RUN_ID/PATH``, resolved to a local model file that the usual loaders open.

* The **onnx** flavour gives its ``.onnx`` file; the **sklearn** flavour saved as skops gives its ``.skops``
  file, which loads with skops' type checks. The sklearn flavour pickled (pickle, cloudpickle) runs code
  when loaded, so it needs ``--trust-model`` as a pickle file does. Other flavours are refused with what
  to log instead.
* The MLmodel file names the run the model was logged in: ``--mlflow-log`` writes the audit back there.

``mlflow`` is imported only here, and only for such a URI: ``pip install 'mia-audit[mlflow]'``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mia_audit.errors import ConfigError, InputFileError, ModelLoadError, first_line

SCHEMES = ("models:/", "runs:/")
PICKLED = ("pickle", "cloudpickle")


@dataclass(frozen=True)
class MlflowModel:
    """A model resolved from MLflow: the local file to load, and where it came from."""

    uri: str
    path: Path
    flavour: str  # "onnx", "sklearn (skops)" or "sklearn (cloudpickle)"
    run_id: str | None
    tracking_uri: str

    def describe(self) -> str:
        run = f", logged in run {self.run_id}" if self.run_id else ""
        return f"{self.uri} from the MLflow tracking server at {shown(self.tracking_uri)} ({self.flavour} flavour{run})"


def is_mlflow_uri(model: str | Path) -> bool:
    """``models:/…`` or ``runs:/…`` (a ``Path`` keeps them as typed, folding only repeated slashes)."""
    return str(model).startswith(SCHEMES)


def shown(tracking_uri: str) -> str:
    """A tracking URI as reports and messages show it: without a user name or token in it."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(tracking_uri)
    if not parts.username and not parts.password:
        return tracking_uri
    host = parts.hostname or ""
    return urlunsplit(parts._replace(netloc=host + (f":{parts.port}" if parts.port else "")))


def resolve(uri: str, tracking_uri: str | None, folder: Path, *, trust_model: bool) -> MlflowModel:
    """Download the model at ``uri`` into ``folder`` and pick the file its flavour holds."""
    mlflow = _mlflow()
    tracking = tracking_uri or mlflow.get_tracking_uri()
    try:
        with _tracking(mlflow, tracking):
            local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(folder)))
    except mlflow.exceptions.MlflowException as exc:
        said = first_line(exc).replace(tracking, shown(tracking))  # MLflow's message may repeat the URI
        raise InputFileError(f"{uri}: not found at the MLflow tracking server {shown(tracking)} ({said}).") from None
    except OSError as exc:
        said = first_line(exc).replace(tracking, shown(tracking))
        raise InputFileError(f"{uri}: cannot reach the MLflow tracking server {shown(tracking)} ({said}).") from None
    spec = _mlmodel(local, uri)
    path, flavour = _flavour_file(local, spec, uri, trust_model)
    run_id = spec.get("run_id") or _run_of_version(mlflow, uri, tracking)
    return MlflowModel(uri, path, flavour, str(run_id) if run_id else None, tracking)


@contextmanager
def _tracking(mlflow: Any, tracking: str) -> Iterator[None]:
    """MLflow's tracking URI set for the download: ``runs:/`` URIs of MLflow 3's logged models resolve
    through the process-wide setting, whatever ``tracking_uri`` says."""
    before = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(tracking)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(before)


def _mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise ConfigError("a models:/ or runs:/ model needs MLflow: pip install 'mia-audit[mlflow]'.") from None
    return mlflow


def _mlmodel(local: Path, uri: str) -> dict[str, Any]:
    import yaml

    spec_file = local / "MLmodel" if local.is_dir() else None
    if spec_file is None or not spec_file.is_file():
        raise InputFileError(f"{uri} is not an MLflow model (no MLmodel file); give the model's folder in the run.")
    spec = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    return spec if isinstance(spec, dict) else {}


def _inside(local: Path, name: object, uri: str) -> Path:
    """The file an MLmodel names, refused unless it lies in the model's own downloaded folder."""
    path = (local / str(name)).resolve()
    if not path.is_relative_to(local.resolve()) or not path.is_file():
        raise ModelLoadError(f"{uri}: its MLmodel names {name!r}, which is not a file of the model's folder.")
    return path


def _flavour_file(local: Path, spec: dict[str, Any], uri: str, trust_model: bool) -> tuple[Path, str]:
    flavours = spec.get("flavors") or {}
    if "onnx" in flavours:
        return _inside(local, flavours["onnx"].get("data"), uri), "onnx"
    if "sklearn" in flavours:
        sklearn = flavours["sklearn"]
        form = str(sklearn.get("serialization_format") or "cloudpickle")
        path = _inside(local, sklearn.get("pickled_model"), uri)
        if form == "skops":
            return _with_suffix(path, ".skops"), "sklearn (skops)"
        if form in PICKLED and not trust_model:
            raise ModelLoadError(
                f"{uri} is a scikit-learn model saved with {form}: loading it runs code it holds. Pass "
                "--trust-model if you trust its source, or log it with mlflow.sklearn.log_model(..., "
                "serialization_format='skops')."
            )
        return _with_suffix(path, ".pkl"), f"sklearn ({form})"
    named = ", ".join(sorted(flavours)) or "none"
    raise ModelLoadError(
        f"{uri} has the MLflow flavour(s) {named}; mia-audit reads the onnx flavour and the sklearn flavour. "
        "Log the model with mlflow.onnx.log_model, or mlflow.sklearn.log_model(..., serialization_format='skops')."
    )


def _with_suffix(path: Path, suffix: str) -> Path:
    """The downloaded file under the suffix the loaders read its format from (it is our own copy)."""
    if path.suffix == suffix:
        return path
    return path.rename(path.with_suffix(suffix))


def _run_of_version(mlflow: Any, uri: str, tracking: str) -> str | None:
    """The run of a registered version whose MLmodel does not name it (``models:/NAME/VERSION`` only)."""
    parts = uri[len("models:/") :].split("/") if uri.startswith("models:/") else []
    if len(parts) != 2 or not parts[1].isdigit():
        return None
    try:
        version = mlflow.MlflowClient(tracking_uri=tracking).get_model_version(parts[0], parts[1])
    except mlflow.exceptions.MlflowException:
        return None
    return str(version.run_id) if version.run_id else None
