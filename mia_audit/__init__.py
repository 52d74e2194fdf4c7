"""mia-audit: audit a trained classifier for membership-inference leakage."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from mia_audit.audit import audit as audit


def __getattr__(name: str) -> Any:
    # Keep `import mia_audit` light: the pipeline (and its heavy imports) loads on first use.
    if name == "audit":
        from mia_audit.audit import audit

        return audit
    raise AttributeError(name)
