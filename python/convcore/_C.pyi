"""Typed surface of the native extension (csrc/bindings)."""

from typing import Optional

import numpy as np

__version__: str

class ConvParams:
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pad: tuple[int, ...]
    pad_mode: str
    pad_value: float
    groups: int
    nhwc: bool
    spatial_dims: int
    op: str
    def __init__(self) -> None: ...

def check_conv(
    input: np.ndarray, weight: np.ndarray, bias: Optional[np.ndarray], params: ConvParams
) -> None: ...
def conv2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: Optional[np.ndarray],
    params: ConvParams,
    algorithm: Optional[str] = None,
    out: Optional[np.ndarray] = None,
) -> np.ndarray: ...
def conv2d_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    weight: np.ndarray,
    params: ConvParams,
    need_input: bool,
    need_weight: bool,
    need_bias: bool,
    algorithm: Optional[str] = None,
    out_input: Optional[np.ndarray] = None,
    out_weight: Optional[np.ndarray] = None,
    out_bias: Optional[np.ndarray] = None,
) -> tuple[Optional[np.ndarray], Optional[np.ndarray], Optional[np.ndarray]]: ...
def get_num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def detected_isa() -> str: ...
def active_isa() -> str: ...
def set_isa(isa: str) -> None: ...
def conv_output_size(n: int, kernel: int, stride: int, before: int, after: int, dilation: int) -> int: ...
def same_padding(n: int, kernel: int, stride: int, dilation: int) -> tuple[int, int]: ...
def explain(
    input_shape: tuple[int, ...],
    weight_shape: tuple[int, ...],
    has_bias: bool,
    params: ConvParams,
    dtype: str,
    pass_: str,
    algorithm: Optional[str] = None,
) -> dict: ...
def gemm(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    trans_a: bool = False,
    trans_b: bool = False,
    alpha: float = 1.0,
    beta: float = 0.0,
) -> None: ...

# --- adaptive_pool ---
from typing import Any, Sequence  # noqa: E402

# Arrays are 4-D (NCHW, or NHWC with nhwc=True); `op` names the caller in messages.
def adaptive_pool2d(
    op: str,
    input: np.ndarray,
    output_size: tuple[int, int],
    mode: str,
    nhwc: bool,
    return_indices: bool,
    out: Optional[np.ndarray] = None,
) -> Any: ...
def adaptive_pool2d_backward(
    op: str,
    grad_output: np.ndarray,
    input: np.ndarray,
    indices: Optional[np.ndarray],
    output_size: tuple[int, int],
    mode: str,
    nhwc: bool,
    out: Optional[np.ndarray] = None,
) -> np.ndarray: ...
def spatial_pyramid_pool2d(
    op: str,
    input: np.ndarray,
    levels: Sequence[int],
    mode: str,
    nhwc: bool,
    return_indices: bool,
    out: Optional[np.ndarray] = None,
) -> Any: ...
def spatial_pyramid_pool2d_backward(
    op: str,
    grad_output: np.ndarray,
    input: np.ndarray,
    levels: Sequence[int],
    mode: str,
    nhwc: bool,
    indices: Optional[np.ndarray],
    out: Optional[np.ndarray] = None,
) -> np.ndarray: ...
def roi_pool(
    op: str,
    input: np.ndarray,
    boxes: np.ndarray,
    output_size: tuple[int, int],
    spatial_scale: float,
    nhwc: bool,
    out: Optional[np.ndarray] = None,
) -> np.ndarray: ...
def roi_pool_backward(
    op: str,
    grad_output: np.ndarray,
    input: np.ndarray,
    boxes: np.ndarray,
    output_size: tuple[int, int],
    spatial_scale: float,
    nhwc: bool,
    out: Optional[np.ndarray] = None,
) -> np.ndarray: ...
def unpool_output_size(
    op: str,
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    h: int,
    w: int,
    output_size: Optional[Sequence[int]],
) -> list[int]: ...
def max_unpool2d(
    op: str,
    input: np.ndarray,
    indices: np.ndarray,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    output_size: Optional[Sequence[int]],
    nhwc: bool,
    out: Optional[np.ndarray] = None,
) -> np.ndarray: ...
def max_unpool2d_backward(
    op: str,
    grad_output: np.ndarray,
    input: np.ndarray,
    indices: np.ndarray,
    kernel_size: tuple[int, ...],
    stride: tuple[int, ...],
    padding: tuple[int, ...],
    output_size: Optional[Sequence[int]],
    nhwc: bool,
    out: Optional[np.ndarray] = None,
) -> np.ndarray: ...
