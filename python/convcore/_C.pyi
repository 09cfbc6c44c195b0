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

# --- norm ---

class BatchNormParams:
    training: bool
    momentum: float
    eps: float
    channels_last: bool
    op: str
    def __init__(self) -> None: ...

class LrnParams:
    size: int
    alpha: float
    beta: float
    k: float
    channels_last: bool
    op: str
    def __init__(self) -> None: ...

def batch_norm(
    input: np.ndarray,
    running_mean: Optional[np.ndarray],
    running_var: Optional[np.ndarray],
    weight: Optional[np.ndarray],
    bias: Optional[np.ndarray],
    params: BatchNormParams,
    return_stats: bool = False,
    out: Optional[np.ndarray] = None,
) -> np.ndarray | tuple[np.ndarray, np.ndarray, np.ndarray]: ...
def batch_norm_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    running_mean: Optional[np.ndarray],
    running_var: Optional[np.ndarray],
    weight: Optional[np.ndarray],
    params: BatchNormParams,
    save_mean: Optional[np.ndarray],
    save_invstd: Optional[np.ndarray],
    need_input: bool,
    need_weight: bool,
    need_bias: bool,
    out_input: Optional[np.ndarray] = None,
) -> tuple[Optional[np.ndarray], Optional[np.ndarray], Optional[np.ndarray]]: ...
def local_response_norm(
    input: np.ndarray, params: LrnParams, out: Optional[np.ndarray] = None
) -> np.ndarray: ...
def local_response_norm_backward(
    grad_output: np.ndarray, input: np.ndarray, params: LrnParams, out: Optional[np.ndarray] = None
) -> np.ndarray: ...
