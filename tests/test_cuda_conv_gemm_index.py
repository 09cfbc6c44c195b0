"""Runs tests/native/conv_gemm_ops_check.cu: the index arithmetic of the CUDA GEMM
convolutions' loaders, storers and padded-gradient fold, checked on the host against
a naive convolution (needs nvcc, not a GPU)."""

from __future__ import annotations

import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NVCC = shutil.which("nvcc")


@pytest.mark.skipif(NVCC is None, reason="needs nvcc")
def test_conv_gemm_index_math_on_host(tmp_path):
    exe = tmp_path / "conv_gemm_ops_check"
    subprocess.run(
        [NVCC, "-std=c++17", "-O1", f"-I{ROOT / 'csrc'}",
         str(ROOT / "tests" / "native" / "conv_gemm_ops_check.cu"), "-o", str(exe)],
        check=True, capture_output=True, timeout=600,
    )
    run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "ALL OK" in run.stdout
