"""``mia-audit explain ATTACK_ID``: one attack in words, from what it declares and its own documentation.

The knowledge is the attack's ``AttackInfo.knows``; the method is the first paragraph of the attack's
class documentation and of its module's (where the papers are named); the settings are the options
it reads, as flags. Nothing here is written twice: an attack that changes changes its explanation.
"""

from __future__ import annotations

import difflib
import inspect
import sys
import textwrap
from collections.abc import Callable

from mia_audit.attacks.interface import KNOWLEDGE, AttackInfo
from mia_audit.attacks.registry import all_attacks, attack_ids
from mia_audit.errors import ConfigError

WIDTH = 88


def explain_attack(attack_id: str, flag: Callable[[str], str] = lambda key: "--" + key.replace("_", "-")) -> str:
    """The explanation of every attack registered under ``attack_id`` (a classification and a regression
    attack may share one id); a ``ConfigError`` that names the closest ids when there is none. ``flag``
    turns an option key into the flag a user types (the CLI knows the declared ones)."""
    found = [attack for attack in all_attacks() if attack.info.id == attack_id]
    if not found:
        close = difflib.get_close_matches(attack_id, attack_ids(), n=3, cutoff=0.5)
        hint = f"did you mean {' or '.join(close)}?" if close else "run `mia-audit attacks` for the list."
        raise ConfigError(f"unknown attack '{attack_id}'; {hint}")
    return "\n\n".join(_one(attack, flag) for attack in found)


def _one(attack: object, flag: Callable[[str], str]) -> str:
    info: AttackInfo = attack.info  # type: ignore[attr-defined]
    lines = [f"{info.id} — {info.title}", f"family: {info.family}; models: {', '.join(sorted(info.tasks))}"]
    lines += ["", "What the attacker is assumed to have:"]
    lines += [f"  - {item}" for item in KNOWLEDGE if item in info.knows]
    if info.auditor_only:
        lines.append("  Auditor only: no real attacker has this knowledge; it bounds what the outputs reveal.")
    lines += ["", "Method:"]
    lines.append("\n\n".join(textwrap.indent(_wrap(paragraph), "  ") for paragraph in _method(attack)))
    if info.options:
        lines += ["", _wrap("Settings it reads: " + ", ".join(flag(key) for key in info.options))]
    return "\n".join(lines)


def _method(attack: object) -> list[str]:
    """The first paragraph of the attack's class documentation, then of its module's."""
    paragraphs = []
    for doc in (inspect.getdoc(type(attack)), inspect.getdoc(sys.modules[type(attack).__module__])):
        first = (doc or "").strip().split("\n\n")[0].strip()
        if first and first not in paragraphs:
            paragraphs.append(first)
    return paragraphs or ["(not documented)"]


def _wrap(text: str) -> str:
    return textwrap.fill(" ".join(text.split()), WIDTH - 2)
