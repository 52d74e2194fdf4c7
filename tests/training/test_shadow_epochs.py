"""How long MLP shadows train, worked out by hand: at least 100 epochs and 2,000 steps, at most 4,000 steps."""

from __future__ import annotations

import pytest

from mia_audit.training.config import ShadowConfig


@pytest.mark.parametrize(
    ("n_train", "epochs"),
    [
        (600, 400),  # 5 steps an epoch: 2,000 steps need 400 epochs
        (2_500, 100),  # 20 steps an epoch: 100 epochs are 2,000 steps
        (5_120, 100),  # 40 steps an epoch: 100 epochs are exactly 4,000 steps
        (25_000, 20),  # 196 steps an epoch: 4,000 steps allow 20 epochs
        (1_000_000, 1),  # 7,813 steps an epoch: one epoch, never zero
    ],
)
def test_the_epochs_of_a_shadow(n_train: int, epochs: int) -> None:
    assert ShadowConfig().mlp_for(n_train).epochs == epochs


def test_given_epochs_are_kept() -> None:
    assert ShadowConfig(epochs=300).mlp_for(25_000).epochs == 300
