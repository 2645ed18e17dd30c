"""Device detection and choice: listing, env override, clear errors, DFL model-file prefix."""

import subprocess
import sys

import pytest

from backends.errors import BackendError
from backends import devices


def fake_gpus(*memories_gib: int) -> list:
    return [devices.Device("torch", i, "cuda", f"GPU {i}", memory=m * 2**30,
                           torch_device=f"cuda:{i}") for i, m in enumerate(memories_gib)]


def test_cpu_is_always_listed_and_chosen_without_gpus(monkeypatch):
    monkeypatch.delenv(devices.ENV_DEVICE, raising=False)
    cpu = devices.cpu_device()
    assert cpu.compute_units >= 1 and cpu.memory > 0
    monkeypatch.setattr(devices, "list_torch_gpus", lambda: [])
    c = devices.choose(None, "torch")
    assert c.devices[0].kind == "cpu" and "no CUDA" in c.reason and c.prefix == ""
    c = devices.choose("all", "torch")            # all of no GPUs: one CPU process, said so
    assert [d.kind for d in c.devices] == ["cpu"] and "torch sees none" in c.reason


def test_best_all_and_lists_of_gpus(monkeypatch):
    monkeypatch.delenv(devices.ENV_DEVICE, raising=False)
    monkeypatch.setattr(devices, "list_torch_gpus", lambda: fake_gpus(8, 24, 12))
    monkeypatch.setattr(devices, "desktop_gpus", lambda: set())
    assert devices.choose(None).devices[0].index == 1            # most memory
    assert [d.torch_device for d in devices.choose("all").devices] == ["cuda:0", "cuda:1", "cuda:2"]
    c = devices.choose("2,0")
    assert [d.torch_device for d in c.devices] == ["cuda:2", "cuda:0"] and c.prefix == ""
    assert [d.kind for d in devices.choose("cpu,cpu").devices] == ["cpu", "cpu"]
    for bad, says in (("0,0", "twice"), ("0,cpu", "not understood"), ("0,7", "idx 7")):
        with pytest.raises(BackendError, match=says):
            devices.choose(bad)
    with pytest.raises(BackendError, match="one device"):
        devices.choose("0,1", "opencl")


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
