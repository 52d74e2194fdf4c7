"""What a model's chosen output holds, checked on the first batch: class probabilities, logits or labels.

An audit of something that is not a classifier's output is worse than none: a 16-wide ReLU embedding
read as 16 class logits, or a regression value read as a binary logit, gives a verdict about nothing.
So a float output is taken (``--output-kind auto``) as

* **probabilities** when the rows of the first batch are non-negative and sum to one (within
  :data:`PROBABILITY_ATOL`); a single column when its values lie in [0, 1] and it comes from a
  ``Sigmoid`` (or a classifier node, or its name says probabilities), or when the graph could not be
  read at all;
* **logits** when the graph shows raw class scores (``OnnxGraph.raw_score_outputs``: a final dense
  layer without softmax, a ``LogSoftmax``, a linear classifier node's decision scores) or the
  output's name says logits;
* and is refused otherwise: an embedding (non-negative rows that do not sum to one), a regression
  value (one number per record, or an ai.onnx.ml ``*Regressor``: :class:`~mia_audit.models.base.RegressorFound`,
  whose message ends with the hint to pass ``--task regression``), signed values without a final
  linear layer. The error says what was found (name, dtype, shape, value range on the first batch)
  and how to point at the right output (``--output NAME`` with the candidates, ``--output-kind
  logits`` when the values could be logits).

``--output-kind probabilities`` still requires probability rows; ``--output-kind logits`` takes any
float output as logits. Once settled as probabilities, every later batch is checked the same way.

An integer or string output is taken as labels when it holds one value per record and comes from an
``ArgMax``/``TopK``, a label lookup (``ArrayFeatureExtractor``, ``Gather``) or a classifier node, or
its name says labels, or the graph could not be read, or ``--output-kind labels`` says so; an integer
output of anything else (a count, a rounded regression) is refused.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mia_audit.errors import ModelDataMismatchError, ModelLoadError
from mia_audit.models.base import REGRESSION_HINT, OutputKind, RegressorFound, looks_like_probabilities

OUTPUT_KINDS = ("auto", "probabilities", "logits", "labels")
PROBABILITY_ATOL = 1e-3
_ML_DOMAIN = "ai.onnx.ml"
_SQUASH_OPS = {"Softmax", "Sigmoid", "ZipMap", "Normalizer"}
_LABEL_OPS = {"ArgMax", "ArgMin", "TopK", "ArrayFeatureExtractor", "Gather"}  # an index, or a lookup by one
_LABEL_WORDS = ("label", "class", "pred", "argmax")


@dataclass(frozen=True)
class OutputFacts:
    """What is known of the chosen output before any query: for the checks and their messages."""

    file: str  # the model file's name
    name: str
    dtype: str  # "float", "int64", ...
    shape: str  # as declared: "[?, 16]"
    producer: str  # the op that made it ("domain.Op" outside the default domain), "" when unknown
    raw_scores: str  # what shows that it holds raw class scores, "" when nothing does
    requested: str  # one of OUTPUT_KINDS
    outputs: str  # every output of the model, "name dtype shape, ..."
    graph_known: bool  # whether the graph could be read (so that producer and raw_scores mean something)

    @property
    def op(self) -> str:
        return self.producer.rsplit(".", 1)[-1]

    @property
    def classifier_node(self) -> bool:
        return self.producer.startswith(_ML_DOMAIN) and self.op.endswith("Classifier")

    @property
    def regressor(self) -> bool:
        return self.producer.startswith(_ML_DOMAIN) and self.op.endswith("Regressor")

    @property
    def says_probabilities(self) -> bool:
        return self.op in _SQUASH_OPS or self.classifier_node or "prob" in self.name.lower()

    @property
    def says_logits(self) -> bool:
        return bool(self.raw_scores) or "logit" in self.name.lower()

    @property
    def says_labels(self) -> bool:
        named = any(word in self.name.lower() for word in _LABEL_WORDS)
        return named or self.op in _LABEL_OPS or self.classifier_node

    @property
    def says_class_scores(self) -> bool:
        """Whether the graph marks this float output as class scores (to prefer it among several)."""
        return not self.regressor and (self.says_probabilities or self.says_logits)

    def describe(self) -> str:
        return f"output {self.name!r} ({self.dtype}, shape {self.shape})"

    def initial_kind(self) -> OutputKind:
        """The kind of a float output before any query (settled by the first batch)."""
        auto_logits = self.requested == "auto" and self.says_logits and self.op not in _SQUASH_OPS
        if self.requested == "logits" or auto_logits:
            return OutputKind.LOGITS
        return OutputKind.PROBABILITIES


def settle_scores(facts: OutputFacts, scores: np.ndarray) -> tuple[OutputKind, str] | None:
    """The kind of a float output from its first batch (``[n, C]``), and why; ``None`` without a finite row.

    Raises :class:`ModelLoadError` for an output that holds neither probabilities nor logits.
    """
    finite = scores[np.all(np.isfinite(scores), axis=1)]
    if len(finite) == 0:
        return None  # NaN outputs are the data's problem: the audit names them after the query
    if facts.requested == "logits":
        return OutputKind.LOGITS, "--output-kind logits"
    single = finite.shape[1] == 1
    probabilities = _are_probabilities(finite)
    if facts.requested == "probabilities":
        if probabilities:
            return OutputKind.PROBABILITIES, "--output-kind probabilities, and the rows are probabilities"
        raise ModelLoadError(_not_probabilities(facts, finite, "--output-kind probabilities"))
    if facts.regressor:
        raise RegressorFound(_regression(facts, finite))
    if probabilities and (not single or facts.says_probabilities or not facts.graph_known):
        what = "values in [0, 1]" if single else "non-negative rows that sum to 1"
        return OutputKind.PROBABILITIES, f"{what} on the first batch"
    if facts.raw_scores:
        return OutputKind.LOGITS, facts.raw_scores
    if facts.says_logits:
        return OutputKind.LOGITS, "the output's name says logits"
    if finite.shape[1] == 1:  # one number per record: what a regressor returns
        raise RegressorFound(_not_class_scores(facts, finite, probabilities))
    raise ModelLoadError(_not_class_scores(facts, finite, probabilities))


def check_probabilities(facts: OutputFacts, scores: np.ndarray) -> None:
    """A later batch of an output settled as probabilities must hold probabilities too."""
    finite = scores[np.all(np.isfinite(scores), axis=1)]
    if len(finite) and not _are_probabilities(finite):
        raise ModelDataMismatchError(_not_probabilities(facts, finite, "it was read as probabilities"))


def check_labels(facts: OutputFacts, raw: np.ndarray, first: bool) -> None:
    """A label output holds one label per record; on the first batch, an integer output must be labels."""
    if raw.ndim > 1 and int(np.prod(raw.shape[1:])) != 1:
        raise ModelLoadError(
            f"{facts.file}: {facts.describe()} returned shape {list(raw.shape)}, not one label per record; "
            f"point at the class output with --output NAME (outputs: {facts.outputs})"
        )
    if not first or facts.requested == "labels" or not facts.graph_known or facts.says_labels:
        return
    values = np.ravel(raw)
    if values.dtype.kind not in "iu" or len(values) == 0:
        return
    origin = f"comes from {_a(facts.producer)}" if facts.producer else "is a graph input or constant"
    raise ModelLoadError(
        f"{facts.file}: {facts.describe()} holds integers in [{values.min()}, {values.max()}] on the first "
        f"{len(values)} rows but {origin}, not an ArgMax, a label lookup or a classifier node: not class "
        f"labels; point at the class output with --output NAME (outputs: {facts.outputs}), or pass "
        "--output-kind labels if these are class labels"
    )


# -- messages ----------------------------------------------------------------------------------


def _are_probabilities(values: np.ndarray) -> bool:
    if values.shape[1] == 1:
        return bool(np.all((values >= 0.0) & (values <= 1.0)))
    return looks_like_probabilities(values, atol=PROBABILITY_ATOL)


def _found(facts: OutputFacts, values: np.ndarray) -> str:
    """``output 'x' (float, shape [?, 16]): on the first 300 rows, values in [0, 5.2], row sums 0.4–31``."""
    low, high = _num(values.min()), _num(values.max())
    text = f"{facts.describe()}: on the first {len(values)} rows, values in [{low}, {high}]"
    if values.shape[1] > 1:
        sums = values.sum(axis=1)
        text += f", row sums {_num(sums.min())}–{_num(sums.max())}"
    return text


def _origin(facts: OutputFacts) -> str:
    if facts.producer:
        return f"it comes from {_a(facts.producer)}"
    return "the graph could not be read" if not facts.graph_known else "it is a graph input or constant"


def _pick_another(facts: OutputFacts) -> str:
    return f"point at the class output with --output NAME (outputs: {facts.outputs})"


def _not_class_scores(facts: OutputFacts, values: np.ndarray, in_unit_range: bool) -> str:
    single = values.shape[1] == 1
    if single:
        what = "one number per record: a regression value or a score, not a class probability (no Sigmoid) or logit"
    elif facts.op == "Sigmoid":
        what = "rows of independent sigmoids that do not sum to 1: multi-label scores, not class probabilities"
    elif values.min() >= 0.0:
        what = "non-negative rows that do not sum to 1: an embedding or features, not class probabilities"
    else:
        what = "signed values that are not probabilities"
    fixes = [_pick_another(facts)]
    if values.min() < 0.0:
        fixes.append("pass --output-kind logits if these are logits")
    elif single and in_unit_range:
        fixes.append("pass --output-kind probabilities if this is the probability of the second class")
    hint = f"; {REGRESSION_HINT}" if single else ""
    return (
        f"{facts.file}: {_found(facts, values)}; {what}, and {_origin(facts)} with no final linear layer that "
        f"would make them logits; {', or '.join(fixes)}{hint}"
    )


def _regression(facts: OutputFacts, values: np.ndarray) -> str:
    return (
        f"{facts.file}: {_found(facts, values)}; it comes from {_a(facts.producer)}: a regression value, not "
        f"class scores, and mia-audit audits classifiers; {_pick_another(facts)}, or export a classifier; "
        f"{REGRESSION_HINT}"
    )


def _not_probabilities(facts: OutputFacts, values: np.ndarray, because: str) -> str:
    rows = "values outside [0, 1]" if values.shape[1] == 1 else "rows that are negative or do not sum to 1"
    return (
        f"{facts.file}: {_found(facts, values)}; {because}, but it has {rows}; pass --output-kind logits if "
        f"these are logits, or {_pick_another(facts)}"
    )


def _a(word: str) -> str:
    return f"an {word}" if word[:1].lower() in "aeiou" else f"a {word}"


def _num(value: float) -> str:
    return f"{float(value):.4g}"
