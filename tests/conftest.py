"""Shared fixtures for the convcore test suite."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))  # `import reference` from every test module

from convcore import _C  # noqa: E402

ISA_ORDER = ("generic", "avx2", "avx512")


def available_isas() -> list[str]:
    """Every ISA the CPU (and the build) supports, lowest first."""
    best = _C.detected_isa()
    return list(ISA_ORDER[: ISA_ORDER.index(best) + 1])


@pytest.fixture(params=available_isas())
def isa(request):
    """Runs the test once per ISA <= the detected one, restoring the active ISA after."""
    before = _C.active_isa()
    _C.set_isa(request.param)
    assert _C.active_isa() == request.param
    try:
        yield request.param
    finally:
        _C.set_isa(before)


@pytest.fixture
def rng(request):
    """A NumPy generator seeded from the test's node id, so every test has its own
    reproducible stream whatever order or subset of tests runs."""
    seed = sum(ord(c) * (i + 1) for i, c in enumerate(request.node.nodeid)) % (2**32)
    return np.random.default_rng(seed)


CHILD_ENV = "CONVCORE_TEST_CHILD"


def run_isolated(request) -> bool:
    """Runs the calling test again in a child pytest process and returns True (the
    caller then returns); inside the child returns False and the test runs for real.

    Used by the tests that change the thread count: a crash in the native thread pool
    (a segfault) then fails that test with the child's output instead of killing the
    whole session."""
    if os.environ.get(CHILD_ENV):
        return False
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", request.node.nodeid],
        cwd=str(request.config.rootpath), env={**os.environ, CHILD_ENV: "1"},
        capture_output=True, text=True, timeout=600,
    )
    if r.returncode != 0:
        how = f"killed by signal {-r.returncode}" if r.returncode < 0 else f"exit status {r.returncode}"
        pytest.fail(f"child pytest for {request.node.nodeid} failed ({how}):\n"
                    f"{r.stdout[-6000:]}\n{r.stderr[:3000]}", pytrace=False)
    return True


def import_torch():
    """torch, or a clean skip when it is not installed."""
    return pytest.importorskip("torch")


@pytest.fixture(scope="session")
def torch():
    torch = import_torch()
    torch.use_deterministic_algorithms(True)
    return torch
