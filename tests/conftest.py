"""Shared fixtures: test media lives in tests/media (copied from ../shared/data, see ATTRIBUTION.md)."""

from pathlib import Path

import pytest

MEDIA = Path(__file__).parent / "media"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def media() -> Path:
    return MEDIA


def opencl_usable() -> bool:
    from backends.devices import list_opencl
    return any(d.usable for d in list_opencl())


def engine_params(slow_opencl: bool = False) -> list:
    """The `engine_case` params; `slow_opencl` marks the OpenCL one slow (where its first run
    compiles kernels for minutes), for `@pytest.mark.parametrize("engine_case", ...,
    indirect=True)`."""
    return [pytest.param(("torch", "cpu"), id="torch"),
            pytest.param(("opencl", None), id="opencl",
                         marks=[pytest.mark.slow] if slow_opencl else [])]


@pytest.fixture(params=engine_params())
def engine_case(request) -> tuple[str, str | None]:
    """(engine, device) for code written on the engine layer API: torch on the CPU, and the
    OpenCL engine on the first usable device (PoCL here; skipped where there is none)."""
    engine, device = request.param
    if engine == "opencl" and not opencl_usable():
        pytest.skip("no usable OpenCL device (install pocl-opencl-icd)")
    return engine, device


@pytest.fixture
def fp32_engine(engine_case):
    """An engine of `engine_case` computing in fp32 (op tests compare with torch's fp32)."""
    from backends import get_engine

    engine, device = engine_case
    return get_engine(engine, device, precision="fp32") if engine == "torch" \
        else get_engine(engine)
