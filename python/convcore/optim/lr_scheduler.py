"""Learning-rate schedulers with ``torch.optim.lr_scheduler``'s semantics:
``StepLR`` (stepped once per epoch) and ``ReduceLROnPlateau`` (stepped with
a metric such as the validation loss). Both change each group's ``lr``."""

from __future__ import annotations

from typing import Any, Sequence, Union

from .optimizer import Optimizer, _check_range

__all__ = ["ReduceLROnPlateau", "StepLR"]


def _check_optimizer(optimizer: Any) -> None:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"expected a convcore.optim Optimizer, got {type(optimizer).__name__}")


class StepLR:
    """Multiplies every group's lr by ``gamma`` every ``step_size`` calls of
    :meth:`step` (``lr = initial_lr * gamma ** (epoch // step_size)``)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        _check_optimizer(optimizer)
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be a positive int, got {step_size!r}")
        _check_range("gamma", gamma, 0.0)
        self.optimizer, self.step_size, self.gamma = optimizer, step_size, float(gamma)
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self) -> None:
        """Ends an epoch: decays the lr when the epoch count reaches a multiple of step_size."""
        self.last_epoch += 1
        if self.last_epoch % self.step_size == 0:
            for group in self.optimizer.param_groups:
                group["lr"] *= self.gamma
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


class ReduceLROnPlateau:
    """Multiplies the lr by ``factor`` (not below ``min_lr``) once the metric
    passed to :meth:`step` has not improved for more than ``patience`` calls;
    then waits ``cooldown`` calls before counting again. ``mode`` 'min' or
    'max'; an improvement beats the best by ``threshold`` relatively
    (``threshold_mode='rel'``) or absolutely ('abs')."""

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: Union[float, Sequence[float]] = 0.0,
                 eps: float = 1e-8) -> None:
        _check_optimizer(optimizer)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        _check_range("factor", factor, 0.0, 1.0, low_open=True)
        for name, value in (("patience", patience), ("cooldown", cooldown)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        _check_range("threshold", threshold, 0.0)
        n = len(optimizer.param_groups)
        min_lrs: list[Any] = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        if len(min_lrs) != n:
            raise ValueError(f"expected {n} min_lr values (one per group), got {len(min_lrs)}")
        for value in min_lrs:
            _check_range("min_lr", value, 0.0)
        self.optimizer = optimizer
        self.mode, self.factor, self.patience = mode, float(factor), patience
        self.threshold, self.threshold_mode = float(threshold), threshold_mode
        self.cooldown, self.min_lrs, self.eps = cooldown, [float(v) for v in min_lrs], eps
        self.best = float("inf") if mode == "min" else float("-inf")
        self.num_bad_epochs = self.cooldown_counter = self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, current: float, best: float) -> bool:
        if self.threshold_mode == "rel":
            scale = 1 - self.threshold if self.mode == "min" else 1 + self.threshold
            return current < best * scale if self.mode == "min" else current > best * scale
        return current < best - self.threshold if self.mode == "min" else current > best + self.threshold

    def step(self, metrics: float) -> None:
        """Records one epoch's metric and reduces the lr after a plateau."""
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, floor in zip(self.optimizer.param_groups, self.min_lrs):
                new_lr = max(group["lr"] * self.factor, floor)
                if group["lr"] - new_lr > self.eps:
                    group["lr"] = new_lr
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
