"""Adam as one call of PyTorch's fused kernel, without ``torch.optim``'s machinery.

``torch.optim.Adam(fused=True)`` ends in the same ``torch._fused_adam_`` call with the same state, so
the trained weights are bit-for-bit those of ``torch.optim.Adam`` (a test checks it). Calling the kernel
directly skips the first ``Optimizer`` construction's import of ``torch._dynamo`` (about 1.3 s of a
CI audit on 2 cores) and the per-step hooks and wrappers around it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


class FusedAdam:
    """Adam with classic (coupled) L2 ``weight_decay`` over float32 tensors on one device."""

    def __init__(self, params: Sequence[torch.Tensor], *, lr: float, weight_decay: float = 0.0) -> None:
        import torch

        self.params = list(params)
        self.lr, self.weight_decay = lr, weight_decay
        self.exp_avgs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        self.exp_avg_sqs = [torch.zeros_like(p, memory_format=torch.preserve_format) for p in self.params]
        # torch.optim keeps fused steps as float32 scalars on the parameters' device.
        self.steps = [torch.zeros((), dtype=torch.float32, device=p.device) for p in self.params]

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        import torch

        grads = [p.grad for p in self.params if p.grad is not None]
        if len(grads) != len(self.params):
            raise ValueError("every parameter needs a gradient before an Adam step")
        with torch.no_grad():
            torch._foreach_add_(self.steps, 1)
            torch._fused_adam_(
                self.params, grads, self.exp_avgs, self.exp_avg_sqs, [], self.steps,
                lr=self.lr, beta1=0.9, beta2=0.999, weight_decay=self.weight_decay, eps=1e-8,
                amsgrad=False, maximize=False, grad_scale=None, found_inf=None,
            )  # fmt: skip

    def select(self, index: torch.Tensor) -> FusedAdam:
        """An optimizer over rows ``index`` of every parameter (models of a batched pool), with their moments."""
        new = [p.detach().index_select(0, index).requires_grad_() for p in self.params]
        out = FusedAdam(new, lr=self.lr, weight_decay=self.weight_decay)
        out.exp_avgs = [m.index_select(0, index) for m in self.exp_avgs]
        out.exp_avg_sqs = [v.index_select(0, index) for v in self.exp_avg_sqs]
        out.steps = [s.clone() for s in self.steps]
        return out
