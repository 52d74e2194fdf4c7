"""``python -m mia_audit``: the same command line as ``mia-audit``."""

from mia_audit.cli import app

if __name__ == "__main__":
    app(prog_name="mia-audit")
