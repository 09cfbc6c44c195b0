"""Optimizers and learning-rate schedulers for :mod:`convcore.nn` models, with
``torch.optim``'s names, defaults and update rules, plus Caffe's per-parameter
``lr_mult`` / ``decay_mult`` and :func:`caffe_groups`."""

from __future__ import annotations

from .adaptive import Adadelta, Adagrad, Adam, RMSprop
from .lr_scheduler import ReduceLROnPlateau, StepLR
from .optimizer import Optimizer, caffe_groups
from .sgd import SGD

__all__ = ["SGD", "Adadelta", "Adagrad", "Adam", "Optimizer", "RMSprop", "ReduceLROnPlateau",
           "StepLR", "caffe_groups"]
