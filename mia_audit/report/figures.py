"""Report figures as inline SVG strings (ROC curves, signal distributions).

Matplotlib is imported inside the functions, and figures are drawn with the object-oriented
``Figure`` API on a non-interactive canvas: no pyplot, no GUI backend, no global state touched
(rcParams only inside ``rc_context``), so this works headless and in a notebook alike.

Text is drawn as paths (``svg.fonttype='path'``): it renders identically in every browser and in
WeasyPrint, whatever fonts the reader has. ``svg.hashsalt`` is fixed and the date metadata is
dropped so the same result gives byte-identical SVG.
"""

from __future__ import annotations

import io
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from mia_audit.result import AttackReport, AuditResult

# Okabe–Ito: distinguishable with colour-vision deficiency; line style and marker carry the
# identity in greyscale.
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255")
_LINESTYLES: tuple[Any, ...] = ("-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (8, 2)))
_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")

_RC: dict[Any, Any] = {
    "svg.fonttype": "path",
    "svg.hashsalt": "mia-audit",
    "font.family": "DejaVu Sans",
    "font.size": 9.0,
    "axes.titlesize": 10.0,
    "axes.labelsize": 9.0,
    "legend.fontsize": 8.0,
    "xtick.labelsize": 8.0,
    "ytick.labelsize": 8.0,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "hatch.linewidth": 0.6,
    "path.simplify": True,
}


def roc_figure_svg(result: AuditResult) -> str:
    """Log-log ROC curves of the strongest attack of each family (``family_leaders``), with the chance
    diagonal, the 1% and 0.1% FPR lines and each AUC in the legend."""
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    from mia_audit.attacks.registry import auditor_only_ids

    with matplotlib.rc_context(_RC):
        # At most MAX_CURVES curves and the chance line: the legend fits the empty corner under the diagonal.
        curves = family_leaders(result)
        auditor = auditor_only_ids()  # marked in the legend: no real attacker has their knowledge
        fig = Figure(figsize=(5.8, 5.4))
        ax = fig.add_subplot()
        lo = _log_floor(result)
        ax.plot([lo, 1.0], [lo, 1.0], color="#777777", linestyle=(0, (2, 2)), linewidth=1.0, label="chance (AUC 0.500)")
        for i, report in enumerate(curves):
            fpr = [max(x, lo) for x in report.metrics.roc.fpr]
            tpr = [max(y, lo) for y in report.metrics.roc.tpr]
            ax.plot(
                fpr,
                tpr,
                color=_COLOURS[i % len(_COLOURS)],
                linestyle=_LINESTYLES[i % len(_LINESTYLES)],
                marker=_MARKERS[i % len(_MARKERS)],
                markevery=0.12,
                markersize=4.5,
                markerfacecolor="white",
                markeredgewidth=1.1,
                linewidth=1.5,
                label=f"{report.id} (AUC {report.metrics.auc:.3f}{', auditor only' if report.id in auditor else ''})",
            )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, 1.0)
        ax.set_ylim(lo, 1.05)
        ax.set_aspect("equal", adjustable="box")
        ax.set_xlabel("False-positive rate (non-members wrongly flagged)")
        ax.set_ylabel("True-positive rate (members found)")
        ax.grid(True, which="major", color="#dddddd", linewidth=0.6)
        ax.grid(True, which="minor", color="#f0f0f0", linewidth=0.4)
        for fpr_mark, text in ((0.01, "1% FPR"), (0.001, "0.1% FPR")):
            if fpr_mark > lo:
                ax.axvline(fpr_mark, color="#8a8a8a", linewidth=0.9, linestyle=(0, (4, 2)), zorder=1.5)
                ax.annotate(
                    text,
                    (fpr_mark, 1.0),
                    xytext=(3, -3),
                    textcoords="offset points",
                    ha="left",
                    va="top",
                    fontsize=7,
                    color="#555555",
                )
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        legend_style: dict[str, Any] = dict(frameon=True, framealpha=0.95, edgecolor="#cccccc", handlelength=3.2)
        # Fixed margins instead of tight_layout: same layout for every result, and faster.
        ax.legend(loc="lower right", **legend_style)
        fig.subplots_adjust(left=0.13, right=0.97, bottom=0.1, top=0.97)
        return _to_svg(fig, "roc", "ROC curves of the membership-inference attacks, log-log axes")


def distribution_figure_svg(result: AuditResult) -> str | None:
    """Member vs non-member histograms of the strongest attack's signal; None without one."""
    dist = result.signal_distribution
    if dist is None or not dist.bin_edges or len(dist.bin_edges) != len(dist.members) + 1:
        return None
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    n_members = sum(dist.members) or 1
    n_nonmembers = sum(dist.nonmembers) or 1
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.4, 3.2))
        ax = fig.add_subplot()
        groups: tuple[tuple[str, tuple[int, ...], int, str, Any, str], ...] = (
            ("non-members", dist.nonmembers, n_nonmembers, "#D55E00", "--", "\\\\\\"),
            ("members", dist.members, n_members, "#0072B2", "-", "///"),
        )
        handles = []
        for name, counts, total, colour, style, hatch in groups:
            shares = [c / total for c in counts]
            ax.stairs(
                shares,
                dist.bin_edges,
                fill=True,
                facecolor="none",
                edgecolor=colour,
                hatch=hatch,
                linewidth=0.0,
                alpha=0.7,
            )
            ax.stairs(shares, dist.bin_edges, color=colour, linestyle=style, linewidth=1.6)
            handles.append(
                Patch(
                    facecolor="white",
                    edgecolor=colour,
                    hatch=hatch,
                    linestyle=style,
                    linewidth=1.4,
                    label=f"{name} (n = {sum(counts):,})",
                )
            )
        ax.set_xlim(dist.bin_edges[0], dist.bin_edges[-1])
        ax.set_ylim(0, None)
        ax.set_xlabel(_signal_label(dist.signal, dist.attack_id))
        ax.set_ylabel("Share of records")
        ax.set_title(f"Signal used by {dist.attack_id}", loc="left")
        ax.grid(True, axis="y", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        ax.legend(
            handles=handles[::-1],
            loc="upper right",
            frameon=True,
            framealpha=0.95,
            edgecolor="#cccccc",
            handlelength=2.4,
            handleheight=1.4,
        )
        fig.subplots_adjust(left=0.1, right=0.98, bottom=0.15, top=0.9)
        return _to_svg(fig, "dist", f"Histogram of the {dist.signal} signal for members and non-members")


def exposure_figure_svg(result: AuditResult) -> str | None:
    """The strongest attack's AUC with its interval per class and per sensitive group, against the overall AUC.

    Flagged subsets (clearly above overall) are filled markers; subsets too small to measure are left out.
    """
    vuln = result.vulnerability
    if vuln is None:
        return None
    breakdowns = [b for b in (vuln.by_class, vuln.by_group) if b is not None]
    rows = [
        (f"{b.column} = {row.name}", row)
        for b in breakdowns
        for row in b.rows
        if row.auc is not None and row.auc_ci is not None
    ]
    if not rows:
        return None
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        height = 0.9 + 0.24 * len(rows)
        fig = Figure(figsize=(6.4, height))
        ax = fig.add_subplot(1, 1, 1)
        ys = list(range(len(rows)))[::-1]
        for y, (_, row) in zip(ys, rows, strict=True):
            lo, hi = row.auc_ci  # type: ignore[misc]
            colour = _COLOURS[1] if row.flagged else _COLOURS[0]
            ax.plot([lo, hi], [y, y], color=colour, linewidth=1.4)
            ax.plot(
                [float(row.auc or 0.0)],
                [y],
                marker="D" if row.flagged else "o",
                markersize=5,
                color=colour,
                markerfacecolor=colour if row.flagged else "white",
            )
        ax.axvline(vuln.auc, color="#333333", linestyle="--", linewidth=1.0)
        ax.axvline(0.5, color="#999999", linestyle=":", linewidth=1.0)
        ax.set_yticks(ys, [_short(label) for label, _ in rows])
        lows = [r.auc_ci[0] for _, r in rows if r.auc_ci] + [0.5]
        ax.set_xlim(max(0.0, min(lows) - 0.02), 1.0)
        ax.set_ylim(-0.7, len(rows) - 0.3)
        ax.set_xlabel(f"AUC of {vuln.attack_id} within the subset (95% interval)")
        ax.set_title(f"Overall AUC {vuln.auc:.3f} (dashed); guessing 0.5 (dotted); ◆ = flagged", loc="left")
        ax.grid(True, axis="x", color="#e5e5e5", linewidth=0.6)
        ax.set_axisbelow(True)
        fig.subplots_adjust(left=0.3, right=0.97, bottom=0.6 / height + 0.05, top=1 - 0.35 / height)
        return _to_svg(fig, "expo", f"AUC of {vuln.attack_id} per class and per group with 95% intervals")


# Risk levels: the marker's shape carries the level in greyscale too.
_LEVEL_STYLE = {
    "low": ("#009E73", "o"),
    "medium": ("#E69F00", "s"),
    "high": ("#D55E00", "^"),
    "critical": ("#882255", "D"),
    "inconclusive": ("#777777", "X"),
}


def defence_figure_svg(result: AuditResult) -> str | None:
    """Each measured defence as a point: its cost in log-loss (x) against the members its best attack still
    finds at 1% FPR (y), coloured by its residual risk level; the model as released is the point at 0."""
    rows = _defence_points(result)
    if len(rows) < 2:
        return None
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(6.4, 3.3))
        ax = fig.add_subplot(1, 1, 1)
        for rule in result.risk.rules:
            ax.axhline(100 * rule.min_tpr_at_1pct_fpr, color="#bbbbbb", linestyle=":", linewidth=0.9)
            where = (1.0, 100 * rule.min_tpr_at_1pct_fpr)
            ax.annotate(
                rule.level, where, xycoords=("axes fraction", "data"), xytext=(-2, 2), textcoords="offset points",
                ha="right", fontsize=7, color="#777777",
            )  # fmt: skip
        placed: list[tuple[float, float]] = []
        span_x = max(max(x for _, x, _, _ in rows) - min(x for _, x, _, _ in rows), 0.5)
        for name, x, y, level in rows:
            colour, marker = _LEVEL_STYLE.get(level, _LEVEL_STYLE["inconclusive"])
            filled = name == "as released"
            ax.plot([x], [100 * y], marker=marker, markersize=7, color=colour,
                    markerfacecolor=colour if filled else "white", linestyle="none")  # fmt: skip
            # A label near an earlier one goes below its point (the model as released always does).
            crowded = filled or any(abs(x - px) < 0.12 * span_x and abs(100 * (y - py)) < 2.5 for px, py in placed)
            placed.append((x, y))
            offset = (5, -11) if crowded else (5, 3)
            ax.annotate(name, (x, 100 * y), xytext=offset, textcoords="offset points", fontsize=7.5)
        ax.set_xlabel("change in log-loss on holdout records (cost to what the outputs say; 0 = none)")
        ax.set_ylabel("members found at 1% FPR (%)")
        ax.set_ylim(0, max(25.0, 105 * max(y for _, _, y, _ in rows)))
        xs = [x for _, x, _, _ in rows]
        span = max(max(xs) - min(xs), 0.5)
        ax.set_xlim(min(xs) - 0.08 * span, max(xs) + 0.22 * span)  # room for the labels on the right
        ax.set_title("Lower is safer; right costs more. Filled: the model as released.", loc="left")
        ax.grid(True, color="#eeeeee", linewidth=0.6)
        ax.set_axisbelow(True)
        fig.subplots_adjust(left=0.1, right=0.97, bottom=0.16, top=0.9)
        return _to_svg(fig, "defences", "Residual leakage against the cost of each measured defence")


def _defence_points(result: AuditResult) -> list[tuple[str, float, float, str]]:
    """(name, log-loss change, TPR at 1% FPR, risk level): the model as released, then each defence."""
    from mia_audit.report.templates import realistic_best, short_defence

    undefended = realistic_best(result)
    if undefended is None:
        return []
    rows = [("as released", 0.0, undefended.metrics.tpr_at_fpr.get("0.01") or 0.0, result.risk.level)]
    for d in result.defences:
        best, cost = d.best, d.utility.log_loss_change
        if best is not None and cost is not None:
            name = short_defence(d.id)
            rows.append((name, cost, best.tpr_at_fpr.get("0.01") or 0.0, d.risk_level))
    return rows


def _short(label: str, width: int = 34) -> str:
    return label if len(label) <= width else label[: width - 1] + "…"


# --------------------------------------------------------------------------- helpers


MAX_CURVES = 6  # more curves in one plot hide each other


def family_leaders(result: AuditResult) -> list[AttackReport]:
    """The strongest attack of each family, strongest first, at most ``MAX_CURVES``."""
    leaders: dict[str, AttackReport] = {}
    for report in _ordered(result):
        leaders.setdefault(report.family, report)
    return list(leaders.values())[:MAX_CURVES]


def _ordered(result: AuditResult) -> list[AttackReport]:
    from mia_audit.report.templates import attacks_by_strength

    return attacks_by_strength(result)


def _log_floor(result: AuditResult) -> float:
    """10^-3.5 (so that the 0.1% FPR line lies inside the plot), or 1e-4 when some ROC point lies below 1e-3
    (the evaluation set resolves it)."""
    smallest = 1.0
    for report in result.attacks:
        for values in (report.metrics.roc.fpr, report.metrics.roc.tpr):
            smallest = min([smallest, *(v for v in values if v > 0)])
    return 1e-4 if smallest < 1e-3 else 10**-3.5


_SIGNAL_LABELS = {
    "loss": "Cross-entropy loss",
    "confidence": "Confidence in the true class",
    "entropy": "Prediction entropy",
    "modified_entropy": "Modified entropy (Song & Mittal)",
    "logit_confidence": "Logit-scaled confidence log(p / (1 − p))",
    "margin": "Margin of the true class",
}


def _signal_label(signal: str, attack_id: str = "the attack") -> str:
    """An axis label in words: a named signal, else the attack's score (its formula is in the caption)."""
    if signal in _SIGNAL_LABELS:
        return _SIGNAL_LABELS[signal]
    plain = signal.replace("_", " ")
    if len(plain) <= 40 and "(" not in plain:
        return plain.capitalize()
    return f"Membership score of {attack_id} (higher: more likely a member)"


_ID_RE = re.compile(r'\bid="([^"]+)"')


def _to_svg(fig: Figure, prefix: str, title: str) -> str:
    """Serialise to an inline ``<svg>``: no prologue, no metadata, scalable, ids made unique."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.S)
    # Several figures share one HTML document: prefix every id and every reference to it.
    ids = set(_ID_RE.findall(svg))
    svg = _ID_RE.sub(lambda m: f'id="{prefix}-{m.group(1)}"', svg)
    svg = re.sub(
        r'(xlink:href="#|href="#|url\(#)([^")]+)',
        lambda m: m.group(1) + (f"{prefix}-{m.group(2)}" if m.group(2) in ids else m.group(2)),
        svg,
    )
    # Scale with the page: keep the viewBox, replace the fixed size. WeasyPrint and browsers
    # both derive the height from the viewBox ratio.
    svg = re.sub(
        r'<svg([^>]*?)\swidth="[^"]*"\sheight="[^"]*"',
        rf'<svg\1 width="100%" role="img" aria-label="{_attr(title)}" class="figure-svg"',
        svg,
        count=1,
    )
    return svg.strip()


def _attr(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")
