"""Layers, containers, losses and initializers for building and training
models (``convcore.nn``); every layer's forward and backward run on
:mod:`convcore.functional`."""

from __future__ import annotations

from . import activation, containers, conv, dropout, init, layer, linear, loss, normalization, pooling  # noqa: F401
from .activation import *  # noqa: F401,F403
from .containers import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .layer import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403

__all__ = sorted(
    layer.__all__ + containers.__all__ + conv.__all__ + pooling.__all__ + normalization.__all__
    + activation.__all__ + linear.__all__ + dropout.__all__ + loss.__all__
)
