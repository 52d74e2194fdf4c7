"""FusedAdam is torch.optim.Adam(fused=True), bit for bit, and keeps the moments of the rows it selects."""

from __future__ import annotations

import pytest
import torch

from mia_audit.training.adam import FusedAdam


def _params(seed: int) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(4, 6, 3, generator=g).requires_grad_(), torch.randn(4, 1, 3, generator=g).requires_grad_()]


def _loss(params: list[torch.Tensor], step: int) -> torch.Tensor:
    w, b = params
    x = torch.linspace(-1, 1, 6 * 5).reshape(5, 6) * (1 + step)
    return ((x @ w + b) ** 2).sin().sum()


@pytest.mark.parametrize("weight_decay", [0.0, 1e-3])
def test_fused_adam_equals_torch_optim_adam_bit_for_bit(weight_decay: float) -> None:
    ours, theirs = _params(0), _params(0)
    mine = FusedAdam(ours, lr=1e-2, weight_decay=weight_decay)
    torchs = torch.optim.Adam(theirs, lr=1e-2, weight_decay=weight_decay, fused=True)
    for step in range(7):
        for params, opt in ((ours, mine), (theirs, torchs)):
            opt.zero_grad()
            _loss(params, step).backward()
            opt.step()
    for a, b, start in zip(ours, theirs, _params(0), strict=True):
        assert torch.equal(a, b)
        assert not torch.equal(a, start)


def test_select_keeps_the_chosen_models_moments_and_continues_like_the_whole_pool() -> None:
    whole, part = _params(1), _params(1)
    opt_whole, opt_part = FusedAdam(whole, lr=1e-2), FusedAdam(part, lr=1e-2)
    keep = torch.tensor([0, 2])
    for step in range(6):
        if step == 3:
            opt_part = opt_part.select(keep)
            part = opt_part.params
        for params, opt in ((whole, opt_whole), (part, opt_part)):
            opt.zero_grad()
            _loss(params, step).backward()
            opt.step()
    # Models are independent rows, so the kept rows train exactly as they would in the whole pool.
    for a, b in zip(whole, part, strict=True):
        assert torch.allclose(a.detach().index_select(0, keep), b.detach(), atol=0, rtol=1e-6)


def test_a_missing_gradient_is_refused() -> None:
    params = _params(2)
    opt = FusedAdam(params, lr=1e-2)
    with pytest.raises(ValueError, match="gradient"):
        opt.step()
