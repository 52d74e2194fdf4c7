"""The attacker's view of an audit, and the attacker-side work its attacks share.

``probs`` and ``labels`` cover every record (evaluation and population) and come from the one batched
query of the target. ``eval_idx`` are the records to score; ``population_idx`` are the attacker's own
records, known not to be training members. The evaluation membership is not here: only auditor-only
attacks receive it, as an argument.

Work that several attacks need (the feature encoding, shadow data, the shadow and reference pools) is
built on first use and kept for the run in ``shared``; the typed methods below are the only way in.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, TypeVar, cast

import numpy as np
import pandas as pd

from mia_audit.models.base import OutputKind, TargetModel
from mia_audit.streams import Stream, rng
from mia_audit.training.config import ShadowConfig
from mia_audit.training.reference_config import ReferenceConfig

if TYPE_CHECKING:
    from mia_audit.data.transfer import TransferTable
    from mia_audit.training.encoding import FeatureEncoder
    from mia_audit.training.families import FamilyChoice
    from mia_audit.training.mlp import MLPSpec
    from mia_audit.training.reference_pool import ReferencePool
    from mia_audit.training.shadow_data import ShadowData
    from mia_audit.training.shadow_pool import Matching, ShadowPool

T = TypeVar("T")
P = TypeVar("P")


@dataclass(frozen=True)
class AttackOptions:
    """The settings attacks read (declared for the user in ``mia_audit.options``)."""

    threshold_fpr: float = 0.1
    shadow: ShadowConfig = field(default_factory=ShadowConfig)
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    boundary_queries: int = 100
    boundary_records: int = 4000
    transfer: TransferTable | None = None
    # Behind an output defence, attacks choose their attack model again (thorough) or keep the choice
    # they made on the undefended outputs (a choice on the attacker's own models, so within its knowledge).
    reselect: bool = False


@dataclass(frozen=True)
class Release:
    """How an API with an output defence releases the model's outputs: ``transform`` of every probability
    row, by the defence's id."""

    id: str
    transform: Callable[[np.ndarray], np.ndarray]


class SharedWork:
    """Items built once per run and shared between attacks; never the membership of evaluation records."""

    def __init__(self, parent: SharedWork | None = None) -> None:
        """``parent``: work to read first; what is built here stays here (an output defence's released pools
        live as long as its context, not the run)."""
        self._items: dict[Hashable, object] = {}
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}
        self._parent = parent

    def values(self) -> list[object]:
        """Every item built so far (to read how long the pools took)."""
        with self._lock:
            return list(self._items.values())

    def _found(self, key: Hashable) -> tuple[bool, object]:
        with self._lock:
            if key in self._items:
                return True, self._items[key]
        return self._parent._found(key) if self._parent is not None else (False, None)

    def get(self, key: Hashable, build: Callable[[], T]) -> T:
        """The item under ``key``, built on first use; threads asking for one item at once build it once
        (the output defences run side by side on one run's shared work)."""
        found, item = self._found(key)
        if found:
            return cast(T, item)
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            if key not in self._items:
                self._items[key] = build()
        return cast(T, self._items[key])


@dataclass(frozen=True)
class AttackContext:
    task: ClassVar[str] = "classification"
    probs: np.ndarray
    labels: np.ndarray
    eval_idx: np.ndarray
    population_idx: np.ndarray
    features: pd.DataFrame
    target: TargetModel
    seed: int = 0
    train_size: int = 0
    options: AttackOptions = field(default_factory=AttackOptions)
    shared: SharedWork = field(default_factory=SharedWork, repr=False, compare=False)
    # Behind an output defence: how outputs are released, and the model's own outputs, which only the
    # attacker's training length is matched to (an attacker who knows the model's true confidence: a
    # conservative view of the defence). The pools are trained once and their outputs released alike.
    release: Release | None = None
    undefended_probs: np.ndarray | None = field(default=None, repr=False, compare=False)

    @property
    def n_classes(self) -> int:
        return int(self.probs.shape[1])

    @property
    def output_kind(self) -> OutputKind:
        return self.target.output_kind

    @property
    def eval_probs(self) -> np.ndarray:
        return self.probs[self.eval_idx]

    @property
    def eval_labels(self) -> np.ndarray:
        return self.labels[self.eval_idx]

    @property
    def population_probs(self) -> np.ndarray:
        return self.probs[self.population_idx]

    @property
    def population_labels(self) -> np.ndarray:
        return self.labels[self.population_idx]

    def released(self, release: Release, target: TargetModel) -> AttackContext:
        """This audit behind an API that releases ``release.transform`` of the outputs (``target`` queries
        it), sharing the trained pools: only their outputs are transformed."""
        from dataclasses import replace

        return replace(
            self,
            probs=release.transform(self.probs),
            target=target,
            release=release,
            undefended_probs=self._own_probs,
            shared=SharedWork(parent=self.shared),
        )

    @property
    def _own_probs(self) -> np.ndarray:
        return self.probs if self.undefended_probs is None else self.undefended_probs

    def _release(self, key: Hashable, pool: P, released: Callable[[P], P]) -> P:
        if self.release is None:
            return pool
        return self.shared.get((key, "released", self.release.id), lambda: released(pool))

    def selection(self, attack_id: str, choose: Callable[[], T]) -> T:
        """An attack's choice among its attack models, made on the attacker's own models: behind an output
        defence, the undefended run's choice unless ``options.reselect``."""
        again = self.release is not None and self.options.reselect
        return self.shared.get(("selection", attack_id, self.release.id if again and self.release else None), choose)

    # -- shared attacker-side work ---------------------------------------------------------------

    def encoder(self) -> FeatureEncoder:
        """The feature encoding, fitted on the attacker's population records."""
        from mia_audit.training.encoding import FeatureEncoder

        return self.shared.get("encoder", lambda: FeatureEncoder.fit(self.features.iloc[self.population_idx]))

    def family(self, requested: str, mlp: MLPSpec) -> FamilyChoice:
        """``--shadow-family``/``--reference-family`` resolved against the target (auto reads its architecture)."""
        from mia_audit.training.families import choose_family

        return choose_family(requested, self.target, mlp)

    def shadow_data(self) -> ShadowData:
        """The shadow models' training records (``--shadow-data``), made once per run."""
        return self.shared.get("shadow_data", self._make_shadow_data)

    def shadow_pool(
        self, choice: FamilyChoice, n_models: int, max_train: int | None = None, *, released: bool = True
    ) -> ShadowPool:
        """``n_models`` shadows of one family, each on a random subset of the shadow data of the target's
        training size (at most half the records, and at most ``max_train``); behind this context's output
        defence unless ``released`` is false."""
        size = self._shadow_train_size() if max_train is None else min(self._shadow_train_size(), max_train)
        key = ("shadow_pool", choice.family, choice.describe(), n_models, size)
        pool = self.shared.get(key, lambda: self._build_shadow_pool(choice, n_models, size))
        return self._release(key, pool, lambda p: p.released(self._transform)) if released else pool

    def shadow_mlp(self) -> MLPSpec:
        """MLP settings for shadows of the target's training size (at most half the shadow records)."""
        n_train = self._shadow_train_size()
        return self.options.shadow.mlp_for(max(n_train, 1))

    def _shadow_train_size(self) -> int:
        """The target's training-set size, at most half the shadow records (all of that half when unknown)."""
        half = len(self.shadow_data().features) // 2
        return min(self.train_size, half) if self.train_size else half

    def main_shadow_pool(self, *, released: bool = True) -> ShadowPool:
        """The K shadows of ``--shadow-family`` that shadow.shokri, shadow.one and the calibrated attacks
        share (and lira.offline, with its own population-trained models, where the settings agree)."""
        cfg = self.options.shadow
        return self.shadow_pool(self.family(cfg.family, self.shadow_mlp()), cfg.n_models, released=released)

    def reference_pool(self, *, offline: bool = False) -> ReferencePool:
        """The reference models of lira.* and rmia; ``offline``: lira.offline's population-only pool."""
        key = ("reference_pool", offline)
        pool = self.shared.get(key, lambda: self._build_reference_pool(offline))
        return self._release(key, pool, lambda p: p.released(self._transform))

    @property
    def _transform(self) -> Callable[[np.ndarray], np.ndarray]:
        assert self.release is not None
        return self.release.transform

    def _make_shadow_data(self) -> ShadowData:
        from mia_audit.training.shadow_data import make_shadow_data

        cfg = self.options.shadow
        population = self.features.iloc[self.population_idx].reset_index(drop=True)
        n_records = len(population) if cfg.data in ("population", "noisy") else 2 * max(self.train_size, 1)
        return make_shadow_data(
            cfg.data,
            population,
            self.population_labels,
            self.target,
            n_records,
            rng(self.seed, Stream.SHADOW_DATA),
            noise=cfg.noise,
            query_budget=cfg.synthesis_budget,
        )

    def _build_shadow_pool(self, choice: FamilyChoice, n_models: int, train_size: int) -> ShadowPool:
        from mia_audit.training.shadow_pool import build_shadow_pool

        return build_shadow_pool(
            self.shadow_data(),
            choice,
            n_models,
            train_size,
            rng(self.seed, Stream.SHADOW_SPLITS, n_models),
            self.target.classes,
            self.encoder(),
            seed=self.seed,
            device=self.options.shadow.device,
            matching=self._shadow_matching(),
        )

    def _shadow_matching(self) -> Matching | None:
        """Population shadows train on the references' engine; made-up records have no target outputs to match."""
        from mia_audit.training.reference_pool import MatchedBudget
        from mia_audit.training.shadow_pool import Matching

        data, epochs = self.shadow_data(), self.options.shadow.epochs
        if data.population_rows is None or epochs is not None:
            return None
        budget = MatchedBudget(self.options.reference.lr, max_epochs=self.options.reference.max_epochs)
        return Matching(self._own_probs[self.population_idx][data.population_rows], budget)

    def _shares_population_pool(self) -> bool:
        """lira.offline's population-trained models are the main shadows when both are built alike."""
        shadow, reference = self.options.shadow, self.options.reference
        same_budget = reference.epochs is None and shadow.epochs is None
        if shadow.data != "population" or not same_budget or shadow.n_models != reference.n_models:
            return False
        mine = self.family(reference.family, reference.mlp())
        theirs = self.family(shadow.family, self.shadow_mlp())
        if mine.family != theirs.family:
            return False
        if mine.family == "mlp":
            return (mine.mlp.hidden, mine.mlp.activation) == (theirs.mlp.hidden, theirs.mlp.activation)
        return mine.describe() == theirs.describe()

    def _build_reference_pool(self, offline: bool) -> ReferencePool:
        from mia_audit.training.reference_pool import build_reference_pool, pool_split

        cfg = self.options.reference
        if offline and self._shares_population_pool():
            from mia_audit.training.reference_pool import from_shadows

            shadows = self.main_shadow_pool(released=False)  # released below, with the pool
            return from_shadows(shadows, self.features, self.labels, self.population_idx, cfg.temperatures())
        choice = self.family(cfg.family, cfg.mlp())
        train_size = self.train_size or len(self.eval_idx) // 2
        split = pool_split(
            len(self.features), self.eval_idx, self.population_idx, train_size, cfg.n_models, self.seed, offline=offline
        )
        return build_reference_pool(
            self.features,
            self.labels,
            self._own_probs,
            split,
            choice,
            cfg,
            self.target.classes,
            self.encoder(),
            seed=self.seed + 1 if offline else self.seed,
            device=self.options.shadow.device,
        )
