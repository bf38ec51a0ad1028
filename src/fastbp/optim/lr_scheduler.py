"""Learning-rate schedules: torch.optim.lr_scheduler's, writing ``optimizer.lr``.

Each scheduler follows torch's chainable (recursive) formulas, so the sequence of
``optimizer.lr`` values is torch's ``param_groups[0]['lr']`` sequence float for float.
"""

from __future__ import annotations

import copy
import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

from fastbp import _validate as v

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "LinearLR", "ReduceLROnPlateau"]


class LRScheduler:
    """Base class: construction records the base lr and applies the initial factor.

    Like torch's param group ``"initial_lr"``, the optimizer's ``initial_lr`` is set by the
    first scheduler attached to it and shared by later ones (chained schedulers).

    PyTorch equivalent: ``torch.optim.lr_scheduler.LRScheduler``.
    """

    def __init__(self, optimizer) -> None:
        self.optimizer = v.scheduled_optimizer(optimizer)
        if getattr(optimizer, "initial_lr", None) is None:
            optimizer.initial_lr = optimizer.lr
        self.base_lrs = [optimizer.initial_lr]
        self.last_epoch = -1
        self._step_count = 0
        self.step()

    def get_lr(self) -> list[float]:
        """The next lr (torch's chainable formula), from the current ``optimizer.lr``."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and write the new ``optimizer.lr``; call it after ``optimizer.step()``."""
        self._step_count += 1
        self.last_epoch += 1
        self.optimizer.lr = self.get_lr()[0]
        self._last_lr = [self.optimizer.lr]

    def get_last_lr(self) -> list[float]:
        """The lr the last ``step()`` (or the construction) wrote, as a one-element list."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """Every attribute but the optimizer (as torch's), as copies."""
        return {key: copy.deepcopy(value) for key, value in self.__dict__.items()
                if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore the attributes saved by ``state_dict()`` (copied; ValueError naming an unknown key)."""
        state = v.scheduler_state(state_dict, self.state_dict())
        self.__dict__.update(copy.deepcopy(state))


class StepLR(LRScheduler):
    """Multiply the lr by gamma every ``step_size`` epochs.

    PyTorch equivalent: ``torch.optim.lr_scheduler.StepLR``.
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1) -> None:
        self.step_size = v.positive_int(step_size, "step_size")
        self.gamma = v.real_number(gamma, "gamma")
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [self.optimizer.lr]
        return [self.optimizer.lr * self.gamma]


class MultiStepLR(LRScheduler):
    """Multiply the lr by gamma at each milestone (by gamma**k for a milestone given k times).

    PyTorch equivalent: ``torch.optim.lr_scheduler.MultiStepLR``.
    """

    def __init__(self, optimizer, milestones: Iterable[int], gamma: float = 0.1) -> None:
        self.milestones = Counter(v.int_list(milestones, "milestones"))
        self.gamma = v.real_number(gamma, "gamma")
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        if self.last_epoch not in self.milestones:
            return [self.optimizer.lr]
        return [self.optimizer.lr * self.gamma ** self.milestones[self.last_epoch]]


class ExponentialLR(LRScheduler):
    """Multiply the lr by gamma every epoch.

    PyTorch equivalent: ``torch.optim.lr_scheduler.ExponentialLR``.
    """

    def __init__(self, optimizer, gamma: float) -> None:
        self.gamma = v.real_number(gamma, "gamma")
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        if self.last_epoch == 0:
            return [self.optimizer.lr]
        return [self.optimizer.lr * self.gamma]


class CosineAnnealingLR(LRScheduler):
    """Cosine annealing from the base lr to ``eta_min`` over ``T_max`` epochs (and back).

    PyTorch equivalent: ``torch.optim.lr_scheduler.CosineAnnealingLR`` (its recursive form).
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0) -> None:
        self.T_max = v.positive_int(T_max, "T_max")
        self.eta_min = v.real_number(eta_min, "eta_min")
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        lr, base, eta_min, T = self.optimizer.lr, self.base_lrs[0], self.eta_min, self.T_max
        if self.last_epoch == 0:
            return [lr]
        if (self.last_epoch - 1 - T) % (2 * T) == 0:
            return [lr + (base - eta_min) * (1 - math.cos(math.pi / T)) / 2]
        return [(1 + math.cos(math.pi * self.last_epoch / T))
                / (1 + math.cos(math.pi * (self.last_epoch - 1) / T))
                * (lr - eta_min) + eta_min]


class LinearLR(LRScheduler):
    """Scale the lr by a factor going linearly from start_factor to end_factor in total_iters epochs.

    PyTorch equivalent: ``torch.optim.lr_scheduler.LinearLR``.
    """

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5) -> None:
        self.start_factor, self.end_factor = v.linear_lr_factors(start_factor, end_factor)
        self.total_iters = v.non_negative_int(total_iters, "total_iters")
        super().__init__(optimizer)

    def get_lr(self) -> list[float]:
        lr = self.optimizer.lr
        if self.last_epoch == 0:
            return [lr * self.start_factor]
        if self.last_epoch > self.total_iters:
            return [lr]
        change = self.end_factor - self.start_factor
        return [lr * (1.0 + change / (self.total_iters * self.start_factor
                                      + (self.last_epoch - 1) * change))]


class ReduceLROnPlateau(LRScheduler):
    """Multiply the lr by ``factor`` when a metric stops improving for ``patience`` epochs.

    ``step(metric)`` takes the metric (a loss in mode 'min', an accuracy in mode 'max').

    PyTorch equivalent: ``torch.optim.lr_scheduler.ReduceLROnPlateau``.
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8) -> None:
        self.optimizer = v.scheduled_optimizer(optimizer)
        self.factor = v.plateau_factor(factor)
        self.mode = v.choice(mode, "mode", ("min", "max"))
        self.threshold_mode = v.choice(threshold_mode, "threshold_mode", ("rel", "abs"))
        self.threshold = v.real_number(threshold, "threshold")
        self.patience = v.non_negative_int(patience, "patience")
        self.cooldown = v.non_negative_int(cooldown, "cooldown")
        self.min_lrs = [v.real_number(min_lr, "min_lr")]
        self.eps = v.real_number(eps, "eps")
        self.last_epoch = 0
        self._last_lr = [optimizer.lr]
        self.best = math.inf if self.mode == "min" else -math.inf
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    def get_lr(self) -> list[float]:
        return [self.optimizer.lr]

    def step(self, metrics: float) -> None:  # type: ignore[override]
        """Record one epoch's metric; reduce the lr after ``patience`` epochs without improvement."""
        current = float(metrics)
        self.last_epoch += 1
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            old_lr = float(self.optimizer.lr)
            new_lr = max(old_lr * self.factor, self.min_lrs[0])
            if old_lr - new_lr > self.eps:
                self.optimizer.lr = new_lr
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [self.optimizer.lr]

    def _is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            return a < (best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                        else best - self.threshold)
        return a > (best * (self.threshold + 1.0) if self.threshold_mode == "rel"
                    else best + self.threshold)
