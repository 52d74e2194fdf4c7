"""Mitigations tied to this audit's findings, each with the effect the literature reports.

A pure function of numbers already measured (risk level, generalisation gap, output kind, model
family, ε bound, label-only attacks); the report renders the list as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

from mia_audit.models.family import NEURAL
from mia_audit.result import RISK_LEVELS, AttackReport, EpsilonEstimate, Mitigation, Utility

# Train-minus-test accuracy from which memorisation is the first thing to fix.
LARGE_GAP = 0.05
RECOMMENDED, CONSIDER, NOT_INDICATED = "recommended", "consider", "not indicated"


def _at_least(level: str, floor: str) -> bool:
    return RISK_LEVELS.index(level) >= RISK_LEVELS.index(floor)


def _regularisation(level: str, utility: Utility, family: str) -> Mitigation:
    gap = utility.generalization_gap
    finding = (
        f"training accuracy {utility.train_accuracy:.1%} vs held-out {utility.test_accuracy:.1%} "
        f"(gap {gap:+.1%}); mean loss {utility.train_loss:.3f} vs {utility.test_loss:.3f}"
    )
    if utility.measure != "accuracy":  # a regressor: R² and squared error
        finding = (
            f"training {utility.measure} {utility.train_accuracy:.3f} vs held-out {utility.test_accuracy:.3f} "
            f"(gap {gap:+.3f}); mean {utility.loss} {utility.train_loss:.4g} vs {utility.test_loss:.4g}"
        )
    priority = RECOMMENDED if gap >= LARGE_GAP else CONSIDER if _at_least(level, "medium") else NOT_INDICATED
    if family in NEURAL:
        action = "Add L2 weight decay and dropout, and stop training when the held-out loss stops falling."
    elif family in ("forest", "boosting", "tree"):
        action = "Limit tree depth, raise the minimum leaf size, and stop boosting early on a held-out set."
    else:
        action = "Regularise more strongly (L2, dropout for networks, depth and leaf limits for trees) and stop early."
    return Mitigation(
        id="regularisation",
        title="Regularisation and early stopping",
        priority=priority,
        finding=finding,
        action=action,
        expected_effect=(
            "Leakage follows the generalisation gap (Yeom et al. 2018). ML-Leaks (Salem et al. 2019) "
            "measured dropout at 0.5 cutting adversary 1 from 0.95 to 0.61 precision on CIFAR-100; "
            "Shokri et al. (2017) found L2 regularisation lowers attack precision at little accuracy cost."
        ),
        caveat="Reduces the average leak; outliers and small classes can stay exposed.",
    )


def _dropout_note(family: str) -> str:
    """Whether dropout, the regularisation advice's alternative to stacking, applies to this family."""
    if family in NEURAL:
        return " (neural: dropout applies instead)"
    if family in ("forest", "boosting", "tree", "linear"):
        return " (not a network: dropout does not apply)"
    return " (if it is a neural network, dropout applies instead)"


def _stacking(level: str, family: str) -> Mitigation:
    neural = family in NEURAL
    return Mitigation(
        id="model_stacking",
        title="Model stacking (ML-Leaks)",
        priority=NOT_INDICATED if neural or not _at_least(level, "medium") else CONSIDER,
        finding=f"model family: {family}" + _dropout_note(family),
        action=(
            "Train two first-layer models on disjoint parts of the training data and a second-layer "
            "model on their posteriors for a third part, so no single model sees a record twice."
        ),
        expected_effect=(
            "Salem et al. (2019): attack precision and recall dropped by more than 30% on CIFAR-100 "
            "while the target's accuracy stayed almost the same."
        ),
        caveat="Each part of the model sees less data, which can cost accuracy on small datasets.",
    )


def _output_hardening(level: str, output_kind: str, label_only: AttackReport | None) -> Mitigation:
    if output_kind == "values":
        return _round_predictions(level)
    probabilities = output_kind != "labels"
    if label_only is not None:
        remains = f"label-only attacks remain: {label_only.id} reached AUC {label_only.metrics.auc:.3f} here"
    else:
        remains = "label-only attacks remain (they were not run here)"
    priority = NOT_INDICATED
    if probabilities and _at_least(level, "medium"):
        priority = RECOMMENDED if _at_least(level, "high") else CONSIDER
    return Mitigation(
        id="output_hardening",
        title="Output hardening (top-k, rounding, labels only)",
        priority=priority,
        finding=f"the model returns {output_kind}",
        action="Return only the top-k classes, round scores to one or two decimals, or return the label alone.",
        expected_effect=(
            "Removes the confidence signal that threshold, shadow and reference attacks read; Shokri et "
            "al. (2017) found top-1 output alone not enough, since members and non-members are "
            "misclassified differently."
        ),
        caveat=f"Hardening the outputs does not remove memorisation; {remains}.",
    )


def _round_predictions(level: str) -> Mitigation:
    """A regressor's output hardening: coarser predictions (there are no classes to hide)."""
    return Mitigation(
        id="output_hardening",
        title="Output hardening (coarser predictions)",
        priority=RECOMMENDED if _at_least(level, "high") else CONSIDER if _at_least(level, "medium") else NOT_INDICATED,
        finding="the model returns predicted values",
        action="Round the predicted value to the precision its users need, or return a range instead of a number.",
        expected_effect=(
            "Removes the fine detail of the residual that the loss and reference attacks read; how much it "
            "helps depends on how far the rounding step exceeds the typical residual of a training record."
        ),
        caveat="Rounding does not remove memorisation: a member's prediction still lands nearer its true value.",
    )


def _differential_privacy(level: str, epsilon: EpsilonEstimate | None) -> Mitigation:
    if epsilon is not None and epsilon.epsilon > 0:
        finding = (
            f"measured ε lower bound {epsilon.epsilon:.2f}: no guarantee with a smaller ε can hold for this training"
        )
    else:
        finding = "no attack here contradicts a differential-privacy guarantee, but none is claimed either"
    return Mitigation(
        id="differential_privacy",
        title="Differentially private training (DP-SGD or DP ensembles)",
        priority=RECOMMENDED if _at_least(level, "high") else CONSIDER,
        finding=finding,
        action="Train with DP-SGD (e.g. Opacus for PyTorch) at a documented ε, then run this audit again.",
        expected_effect=(
            "The only formal bound: with (ε, δ)-DP no attack can exceed TPR ≤ e^ε · FPR + δ on any record; "
            "audits of DP-SGD (Jagielski et al. 2020) find the measured ε well below the proven one."
        ),
        caveat="Costs accuracy, most on small classes; the ε must be small (single digits) to mean much.",
    )


def recommend(
    level: str,
    utility: Utility,
    output_kind: str,
    family: str,
    epsilon: EpsilonEstimate | None,
    attacks: Sequence[AttackReport],
) -> tuple[Mitigation, ...]:
    """The mitigations in report order; each says whether this audit's findings call for it."""
    label_only = max((a for a in attacks if a.family == "label_only"), key=lambda a: a.metrics.auc, default=None)
    return (
        _regularisation(level, utility, family),
        _stacking(level, family),
        _output_hardening(level, output_kind, label_only),
        _differential_privacy(level, epsilon),
    )
