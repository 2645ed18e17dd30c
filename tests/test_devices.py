"""Device detection and choice: listing, env override, clear errors, DFL model-file prefix."""

import subprocess
import sys

import pytest

from backends.errors import BackendError
from backends import devices


def test_cpu_is_always_listed_and_chosen_without_gpus(monkeypatch):
    monkeypatch.delenv(devices.ENV_DEVICE, raising=False)
    cpu = devices.cpu_device()
    assert cpu.compute_units >= 1 and cpu.memory > 0
    c = devices.choose(None, "torch")
    if not devices.list_torch_gpus():
        assert c.devices[0].kind == "cpu" and "no CUDA" in c.reason and c.prefix == ""


def test_env_overrides_flag(monkeypatch):
    monkeypatch.setenv(devices.ENV_DEVICE, "cpu")
    c = devices.choose(0, "torch")
    assert c.devices[0].kind == "cpu" and "FACESTUDIO_DEVICE" in c.reason


def test_missing_gpu_lists_what_exists(monkeypatch):
    monkeypatch.delenv(devices.ENV_DEVICE, raising=False)
    with pytest.raises(BackendError, match="no GPU with idx 42") as e:
        devices.choose(42, "torch")
    assert "cpu:" in str(e.value)


def test_bad_spec_is_user_error(monkeypatch):
    monkeypatch.setenv(devices.ENV_DEVICE, "fastest")
    with pytest.raises(BackendError, match="FACESTUDIO_DEVICE"):
        devices.choose(None)


def test_model_prefix_follows_deepfacelab():
    assert devices.model_prefix(None) == ""
    assert devices.model_prefix(1) == "1_"


def test_opencl_listing_has_real_properties():
    found = devices.list_opencl()
    for d in found:
        assert d.name and d.memory > 0 and d.compute_units > 0 and d.version.startswith("OpenCL")
        assert d.usable or d.problem
    usable = [d for d in found if d.usable]
    if usable:
        c = devices.choose(None, "opencl")
        assert c.devices[0].usable


def test_devices_command_prints_findings_and_choice():
    r = subprocess.run([sys.executable, "-m", "app", "devices"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "CPU:" in r.stdout and "torch engine would use" in r.stdout and "OpenCL devices" in r.stdout
    r = subprocess.run([sys.executable, "-m", "app", "devices", "--device", "nope"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "not understood" in r.stderr
