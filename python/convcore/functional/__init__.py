"""Functional operators on NumPy arrays, named and ordered as
``torch.nn.functional``. Every call goes through the native dispatcher, which
validates the arguments, picks the algorithm and releases the GIL while it
computes.

Layouts: 2-D ops take ``(N, C, H, W)`` arrays (``data_format='NHWC'``:
``(N, H, W, C)``), 1-D ops ``(N, C, L)`` (``data_format='NLC'``: ``(N, L, C)``);
a missing batch axis (unbatched input) is accepted as in PyTorch. Outputs are
new C-contiguous arrays unless ``out=`` is given; inputs are never modified.
"""

from __future__ import annotations

from . import activation, adaptive_pooling, conv, loss, normalization, pooling
# dropout and linear are also function names: keep the modules under aliases
from . import dropout as _dropout_module, linear as _linear_module
from .activation import *  # noqa: F401,F403
from .adaptive_pooling import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .linear import *  # noqa: F401,F403
from .loss import *  # noqa: F401,F403
from .normalization import *  # noqa: F401,F403
from .pooling import *  # noqa: F401,F403

__all__ = sorted(
    conv.__all__ + pooling.__all__ + normalization.__all__ + activation.__all__
    + loss.__all__ + _dropout_module.__all__ + _linear_module.__all__ + adaptive_pooling.__all__
)
