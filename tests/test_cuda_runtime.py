"""The CUDA runtime surface: what works on every machine (no GPU needed) and,
with a GPU, device arrays, DLPack and the CUDA array interface."""

import os

import numpy as np
import pytest

import convcore
from convcore import cuda
from convcore._args import may_share_memory, operand

needs_gpu = pytest.mark.skipif(not cuda.is_available(), reason="needs a CUDA device")


def test_import_and_availability_without_a_gpu_are_safe():
    assert isinstance(cuda.is_available(), bool)
    assert cuda.device_count() >= 0
    assert cuda.is_available() == (cuda.device_count() > 0 and cuda.built_with_cuda())
    assert convcore.from_dlpack is cuda.from_dlpack


@pytest.mark.skipif(os.environ.get("CONVCORE_EXPECT_CUDA_BUILD") != "1",
                    reason="set by .ci/run when nvcc is present")
def test_ci_builds_the_cuda_backend():
    assert cuda.built_with_cuda(), "nvcc is on PATH but the installed convcore has no CUDA backend"


@pytest.mark.skipif(cuda.is_available(), reason="checks the no-GPU behaviour")
def test_gpu_calls_without_a_gpu_raise_clear_errors():
    with pytest.raises(RuntimeError, match="no CUDA device is available|built without CUDA"):
        cuda.asarray(np.zeros(3, np.float32))
    with pytest.raises(RuntimeError, match="no CUDA device is available|built without CUDA"):
        cuda.zeros((2, 2))
    with pytest.raises(RuntimeError, match="no CUDA device is available|built without CUDA"):
        cuda.synchronize()


def test_math_mode_round_trip_and_bad_values():
    assert cuda.get_math_mode() == "fp32"
    for mode in cuda.MATH_MODES:
        with cuda.math_mode(mode):
            assert cuda.get_math_mode() == mode
    assert cuda.get_math_mode() == "fp32"
    with pytest.raises(ValueError, match="mode must be one of .* got 'fp8'"):
        cuda.set_math_mode("fp8")


@pytest.mark.parametrize("device, index", [(None, 0), ("cuda", 0), ("cuda:1", 1), (2, 2)])
def test_device_index(device, index):
    assert cuda.device_index(device) == index


@pytest.mark.parametrize("device", ["gpu", "cuda:", "cuda:-1", -1, "cpu"])
def test_bad_device_strings(device):
    with pytest.raises(ValueError, match="device must be"):
        cuda.device_index(device)


def test_host_operands_are_unchanged_by_the_device_plumbing():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2]
    y = operand(x, "input", "op")
    assert y.flags.c_contiguous and np.array_equal(y, x) and not np.shares_memory(x, y)
    assert may_share_memory(x, x[1:]) and not may_share_memory(x, np.zeros(2))


@needs_gpu
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.bool_])
def test_round_trip_and_properties(dtype):
    host = (np.arange(24).reshape(2, 3, 4) % 5).astype(dtype)
    d = cuda.asarray(host)
    assert isinstance(d, cuda.DeviceArray)
    assert (d.shape, d.dtype, d.ndim, d.size, d.nbytes) == (host.shape, host.dtype, 3, 24, host.nbytes)
    assert d.strides == host.strides and d.device == "cuda:0" and d.flags.c_contiguous
    assert np.array_equal(d.numpy(), host)
    assert np.array_equal(d.reshape(6, -1).numpy(), host.reshape(6, 4))
    assert d.reshape((4, 6)).data_ptr == d.data_ptr
    c = d.copy()
    assert c.data_ptr != d.data_ptr and np.array_equal(c.numpy(), host)
    with pytest.raises(TypeError, match="call .numpy"):
        np.asarray(d)
    with pytest.raises(ValueError, match="cannot reshape an array of 24 elements"):
        d.reshape(5, 5)


@needs_gpu
def test_zeros_fill_and_memory_stats():
    z = cuda.zeros((3, 5), np.float64)
    assert np.array_equal(z.numpy(), np.zeros((3, 5)))
    assert np.array_equal(z.fill_(2.5).numpy(), np.full((3, 5), 2.5))
    stats = cuda.memory_stats()
    assert stats["allocated_bytes"] >= z.nbytes and stats["peak_allocated_bytes"] >= stats["allocated_bytes"]


@needs_gpu
def test_cuda_array_interface_and_dlpack_self_round_trip():
    d = cuda.asarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    cai = d.__cuda_array_interface__
    assert cai["shape"] == (2, 3) and cai["typestr"] == "<f4" and cai["data"][0] == d.data_ptr
    assert cai["version"] == 3 and cai["strides"] is None
    assert d.__dlpack_device__() == (2, 0)
    e = convcore.from_dlpack(d)
    assert e.data_ptr == d.data_ptr and np.array_equal(e.numpy(), d.numpy())


@needs_gpu
def test_torch_cuda_tensors_pass_without_copies():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch has no CUDA")
    t = torch.arange(12, dtype=torch.float32, device="cuda").reshape(3, 4)
    d = cuda.asarray(t)
    assert d.data_ptr == t.data_ptr() and d.shape == (3, 4)
    back = torch.from_dlpack(d)
    assert back.data_ptr() == t.data_ptr() and torch.equal(back, t)
    strided = t.t()  # a non-contiguous view comes in as a strided DeviceArray
    s = cuda.asarray(strided)
    assert not s.flags.c_contiguous and np.array_equal(s.numpy(), strided.cpu().numpy())
    assert np.array_equal(operand(strided, "x", "op").numpy(), strided.cpu().numpy())


@needs_gpu
def test_cupy_arrays_pass_without_copies():
    cupy = pytest.importorskip("cupy")
    a = cupy.arange(10, dtype=cupy.float64)
    d = cuda.asarray(a)
    assert d.data_ptr == a.data.ptr
    b = cupy.asarray(d)
    assert b.data.ptr == a.data.ptr
