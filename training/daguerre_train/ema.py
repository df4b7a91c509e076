"""EMA of weights, fused with torch._foreach ops (one kernel launch per op for all tensors; no host sync)."""
from __future__ import annotations

import torch


class EMA:
    def __init__(self, model: torch.nn.Module, decay: float = 0.999, warmup: bool = True):
        self.decay = decay
        self.warmup = warmup
        self.params = [p for p in model.parameters()]
        self.shadow = [p.detach().clone().float() for p in self.params]
        self.buffers = [b for b in model.buffers()]
        self.num_updates = 0

    def current_decay(self) -> float:
        if not self.warmup:
            return self.decay
        n = self.num_updates
        return min(self.decay, (1 + n) / (10 + n))

    @torch.no_grad()
    def update(self):
        d = self.current_decay()
        self.num_updates += 1
        src = [p.detach().float() if p.dtype != torch.float32 else p.detach() for p in self.params]
        torch._foreach_mul_(self.shadow, d)
        torch._foreach_add_(self.shadow, src, alpha=1.0 - d)

    @torch.no_grad()
    def update_naive(self):
        """Reference (slow) version: one op per tensor; used by bench_throughput.py and the tests."""
        d = self.current_decay()
        self.num_updates += 1
        for s, p in zip(self.shadow, self.params):
            s.mul_(d).add_(p.detach().float(), alpha=1.0 - d)

    def state_dict_for(self, model: torch.nn.Module, dtype=torch.float16):
        """The model's state dict with EMA weights (cast to dtype)."""
        names = [n for n, _ in model.named_parameters()]
        sd = {n: s.to(dtype).cpu() for n, s in zip(names, self.shadow)}
        for n, b in model.named_buffers():
            sd[n] = b.detach().cpu()
        return sd

    def load_shadow(self, model: torch.nn.Module, sd: dict):
        names = [n for n, _ in model.named_parameters()]
        for s, n in zip(self.shadow, names):
            s.copy_(sd[n].float())

    @torch.no_grad()
    def copy_to(self, model: torch.nn.Module):
        for p, s in zip(model.parameters(), self.shadow):
            p.copy_(s.to(p.dtype))
