"""Typed surface of the native extension (csrc/bindings)."""

from typing import Optional

import numpy as np

__version__: str

class ConvParams:
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pad: tuple[int, ...]
    output_padding: tuple[int, ...]
    pad_mode: str
    pad_value: float
    groups: int
    nhwc: bool
    spatial_dims: int
    op: str
    def __init__(self) -> None: ...

def check_conv2d(
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
def check_conv_transpose2d(
    input: np.ndarray, weight: np.ndarray, bias: Optional[np.ndarray], params: ConvParams
) -> None: ...
def conv_transpose2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: Optional[np.ndarray],
    params: ConvParams,
    algorithm: Optional[str] = None,
    out: Optional[np.ndarray] = None,
) -> np.ndarray: ...
def conv_transpose2d_backward(
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
    transposed: bool = False,
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

# --- pool ---
class PoolParams:
    kind: str  # 'max' | 'avg' | 'lp'
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    ceil_mode: bool
    count_include_pad: bool
    divisor_override: int  # 0: none
    norm_type: float
    nhwc: bool
    spatial_dims: int
    op: str
    def __init__(self) -> None: ...

def pool2d(
    input: np.ndarray,
    params: PoolParams,
    return_indices: bool = False,
    out: Optional[np.ndarray] = None,
) -> tuple[np.ndarray, Optional[np.ndarray]]: ...
def pool2d_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    indices: Optional[np.ndarray],
    params: PoolParams,
    out: Optional[np.ndarray] = None,
) -> np.ndarray: ...
def pool2d_output_shape(input: np.ndarray, params: PoolParams) -> list[int]: ...
