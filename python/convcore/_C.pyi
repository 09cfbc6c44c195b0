"""Typed surface of the native extension (csrc/bindings)."""

from typing import Any, Optional, Sequence

import numpy as np

__version__: str

class _Flags:
    c_contiguous: bool
    writeable: bool

class DeviceArray:
    @property
    def shape(self) -> tuple[int, ...]: ...
    @property
    def dtype(self) -> np.dtype: ...
    @property
    def ndim(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def nbytes(self) -> int: ...
    @property
    def itemsize(self) -> int: ...
    @property
    def strides(self) -> tuple[int, ...]: ...
    @property
    def device(self) -> str: ...
    @property
    def device_index(self) -> int: ...
    @property
    def data_ptr(self) -> int: ...
    @property
    def flags(self) -> _Flags: ...
    @property
    def __cuda_array_interface__(self) -> dict[str, Any]: ...
    def __dlpack__(
        self,
        *,
        stream: Optional[int] = None,
        max_version: Optional[tuple[int, int]] = None,
        dl_device: Optional[tuple[int, int]] = None,
        copy: Optional[bool] = None,
    ) -> Any: ...
    def __dlpack_device__(self) -> tuple[int, int]: ...
    def numpy(self) -> np.ndarray: ...
    def copy(self) -> "DeviceArray": ...
    def reshape(self, *shape: Any) -> "DeviceArray": ...
    def fill_(self, value: float) -> "DeviceArray": ...
    def __len__(self) -> int: ...

class _CudaModule:
    @staticmethod
    def built_with_cuda() -> bool: ...
    @staticmethod
    def device_count() -> int: ...
    @staticmethod
    def is_available() -> bool: ...
    @staticmethod
    def synchronize(device: int = 0) -> None: ...
    @staticmethod
    def empty_cache() -> None: ...
    @staticmethod
    def memory_stats(device: int = 0) -> dict[str, int]: ...
    @staticmethod
    def device_name(device: int = 0) -> str: ...
    @staticmethod
    def compute_capability(device: int = 0) -> tuple[int, int]: ...
    @staticmethod
    def from_host(array: np.ndarray, device: int) -> DeviceArray: ...
    @staticmethod
    def empty(shape: Sequence[int], dtype: np.dtype, device: int) -> DeviceArray: ...
    @staticmethod
    def from_dlpack(obj: Any) -> DeviceArray: ...
    @staticmethod
    def from_cuda_array_interface(obj: Any) -> DeviceArray: ...
    @staticmethod
    def set_math_mode(mode: str) -> None: ...
    @staticmethod
    def math_mode() -> str: ...

cuda: _CudaModule

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
    gpu: bool = False,
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
    input: Any,
    running_mean: Any,
    running_var: Any,
    weight: Any,
    bias: Any,
    params: BatchNormParams,
    return_stats: bool = False,
    out: Any = None,
) -> Any: ...
def batch_norm_backward(
    grad_output: Any,
    input: Any,
    running_mean: Any,
    running_var: Any,
    weight: Any,
    params: BatchNormParams,
    save_mean: Any,
    save_invstd: Any,
    need_input: bool,
    need_weight: bool,
    need_bias: bool,
    out_input: Any = None,
) -> tuple[Any, Any, Any]: ...
def local_response_norm(
    input: Any, params: LrnParams, out: Any = None
) -> Any: ...
def local_response_norm_backward(
    grad_output: Any, input: Any, params: LrnParams, out: Any = None
) -> Any: ...

# --- layers ---
# Activations, softmax and losses take host arrays or DeviceArrays (one
# device) and return results on that device.
_LayerArray = np.ndarray | DeviceArray
# Activations (relu, leaky_relu, elu, sigmoid, tanh): param is the negative
# slope or alpha; the backward passes take the forward's output= to skip
# recomputing sigmoid / tanh.
def relu(input: _LayerArray, param: float = 0.0, inplace: bool = False, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def leaky_relu(input: _LayerArray, param: float = 0.0, inplace: bool = False, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def elu(input: _LayerArray, param: float = 0.0, inplace: bool = False, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def sigmoid(input: _LayerArray, param: float = 0.0, inplace: bool = False, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def tanh(input: _LayerArray, param: float = 0.0, inplace: bool = False, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def relu_backward(grad_output: _LayerArray, input: _LayerArray, param: float = 0.0, output: Optional[_LayerArray] = None, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def leaky_relu_backward(grad_output: _LayerArray, input: _LayerArray, param: float = 0.0, output: Optional[_LayerArray] = None, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def elu_backward(grad_output: _LayerArray, input: _LayerArray, param: float = 0.0, output: Optional[_LayerArray] = None, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def sigmoid_backward(grad_output: _LayerArray, input: _LayerArray, param: float = 0.0, output: Optional[_LayerArray] = None, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def tanh_backward(grad_output: _LayerArray, input: _LayerArray, param: float = 0.0, output: Optional[_LayerArray] = None, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def softmax(input: _LayerArray, dim: int, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def log_softmax(input: _LayerArray, dim: int, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def softmax_backward(grad_output: _LayerArray, input: _LayerArray, dim: int, output: Optional[_LayerArray] = None, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def log_softmax_backward(grad_output: _LayerArray, input: _LayerArray, dim: int, output: Optional[_LayerArray] = None, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def cross_entropy(input: _LayerArray, target: _LayerArray, weight: Optional[_LayerArray], ignore_index: int, reduction: str, label_smoothing: float, channels_last: bool = False) -> _LayerArray: ...
def cross_entropy_backward(grad_output: _LayerArray, input: _LayerArray, target: _LayerArray, weight: Optional[_LayerArray], ignore_index: int, reduction: str, label_smoothing: float, channels_last: bool = False, out: Optional[_LayerArray] = None) -> _LayerArray: ...
def mse_loss(input: _LayerArray, target: _LayerArray, reduction: str) -> _LayerArray: ...
def mse_loss_backward(grad_output: _LayerArray, input: _LayerArray, target: _LayerArray, reduction: str, out: Optional[_LayerArray] = None) -> _LayerArray: ...
# Returns the output, or (output, bool mask) with return_mask.
def dropout(input: Any, p: float, seed: int, training: bool, inplace: bool, return_mask: bool, out: Any = None) -> Any: ...
def dropout_backward(grad_output: Any, p: float, seed: int, mask: Any = None, out: Any = None) -> Any: ...
def linear(input: Any, weight: Any, bias: Any = None, out: Any = None) -> Any: ...
def linear_backward(grad_output: Any, input: Any, weight: Any, bias: Any, need_input: bool, need_weight: bool, need_bias: bool) -> tuple[Any, Any, Any]: ...

# --- adaptive_pool ---

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

# ---------------------------------------------------------------- model code on GPUs
# Device-array kernels of convcore._ops (csrc/bindings/tensor_ops.cpp): device
# arrays only; outputs allocated by the caller.
def device_axpy_(y: Any, x: Any, alpha: float = 1.0) -> None: ...
def device_add(a: Any, b: Any, out: Any) -> None: ...
def device_cast(dst: Any, src: Any) -> None: ...
def device_copy_2d(
    dst: Any, dst_offset: int, dst_ld: int, src: Any, src_offset: int, src_ld: int, rows: int, cols: int
) -> None: ...
def accumulate_metrics(acc: Any, loss: Optional[Any], scale: float, prediction: Any, labels: Optional[Any]) -> None: ...

# The fused optimizer step (csrc/bindings/optim.cpp).
def optim_step(
    kind: str,
    params: Sequence[Any],
    grads: Sequence[Any],
    states: Sequence[Sequence[Optional[Any]]],
    lrs: Sequence[float],
    weight_decays: Sequence[float],
    aux: Sequence[float],
    hyper: dict[str, float],
) -> None: ...
