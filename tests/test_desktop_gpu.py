"""'best' avoids the GPU that drives the desktop: nvidia-smi's and sysfs's answers, and the pick."""

import stat

from backends.desktop_gpu import (boot_vga_gpus, normalize_pci, nvidia_display_gpus,
                                  parse_nvidia_smi)
from backends.devices import Device, pick_best

# What `nvidia-smi --query-gpu=pci.bus_id,display_active --format=csv,noheader` prints.
SMI = "00000000:01:00.0, Enabled\n00000000:02:00.0, Disabled\n"


def test_normalize_pci_forms():
    assert normalize_pci("00000000:01:00.0") == "0000:01:00.0"
    assert normalize_pci("0000:0A:1f.3") == "0000:0a:1f.3"
    assert normalize_pci("2b:00.0") == "0000:2b:00.0"
    assert normalize_pci("garbage") == ""


def test_parse_nvidia_smi_marks_only_active_display():
    assert parse_nvidia_smi(SMI) == {"0000:01:00.0"}
    assert parse_nvidia_smi("No devices were found\n") == set()


def test_nvidia_smi_is_run_and_failures_are_quiet(tmp_path):
    fake = tmp_path / "nvidia-smi"
    fake.write_text("#!/bin/sh\ncat <<'END'\n" + SMI + "END\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    assert nvidia_display_gpus(str(fake)) == {"0000:01:00.0"}
    broken = tmp_path / "broken-smi"
    broken.write_text("#!/bin/sh\necho 'NVIDIA-SMI has failed' >&2\nexit 9\n")
    broken.chmod(broken.stat().st_mode | stat.S_IEXEC)
    assert nvidia_display_gpus(str(broken)) == set()
    assert nvidia_display_gpus(str(tmp_path / "missing")) == set()


def test_boot_vga_from_sysfs_layout(tmp_path):
    for name, flag in (("0000:01:00.0", "0"), ("0000:02:00.0", "1"), ("0000:00:1f.3", None)):
        d = tmp_path / name
        d.mkdir()
        if flag is not None:
            (d / "boot_vga").write_text(flag + "\n")
    assert boot_vga_gpus(tmp_path) == {"0000:02:00.0"}
    assert boot_vga_gpus(tmp_path / "nope") == set()


def _gpu(idx, mem_gib, pci, kind="cuda"):
    return Device("torch", idx, kind, f"GPU{idx}", memory=mem_gib << 30, extra={"pci": pci})


def test_best_skips_the_desktop_gpu_even_with_more_memory():
    gpus = [_gpu(0, 24, "0000:01:00.0"), _gpu(1, 12, "0000:02:00.0")]
    best, why = pick_best(gpus, {"0000:01:00.0"})
    assert best.index == 1 and "desktop" in why and "idx 0" in why
    best, why = pick_best(gpus, set())
    assert best.index == 0 and why == "most memory"


def test_single_desktop_gpu_is_still_used():
    gpus = [_gpu(0, 8, "0000:01:00.0")]
    assert pick_best(gpus, {"0000:01:00.0"})[0].index == 0


def test_opencl_gpu_beats_cpu_even_when_it_drives_the_desktop():
    devs = [Device("opencl", 0, "opencl-cpu", "pthread", memory=64 << 30, extra={"pci": ""}),
            _gpu(1, 4, "0000:03:00.0", kind="opencl-gpu")]
    assert pick_best(devs, {"0000:03:00.0"})[0].index == 1


def test_builds_without_the_opencl_engine_say_so(monkeypatch):
    import backends.devices as devices
    monkeypatch.setattr(devices, "opencl_engine_present", lambda: False)
    text = devices.report()
    assert "opencl engine: not in this build" in text
    assert "OpenCL engine can use" not in text
