"""Which GPU drives the desktop, where the system says so.

"best" prefers a GPU that does not drive the display: training on the desktop's GPU makes the
desktop stutter and loses the memory the compositor holds. Two sources, both read-only and
without extra dependencies:
- NVIDIA's `nvidia-smi` (ships with the driver on Linux and Windows) reports `display_active`
  per GPU with its PCI address;
- on Linux, `/sys/bus/pci/devices/*/boot_vga` marks the GPU the firmware put the console on,
  which is the one driving the display unless the user rewired it.
GPUs are matched by PCI address (domain:bus:device.function, as nvidia-smi prints it).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SYSFS_PCI = Path("/sys/bus/pci/devices")


def normalize_pci(addr: str) -> str:
    """'00000000:01:00.0' / '0000:01:00.0' / '01:00.0' -> '0000:01:00.0' (lower case)."""
    addr = addr.strip().lower()
    parts = addr.split(":")
    if len(parts) == 2:
        parts = ["0", *parts]
    if len(parts) != 3 or "." not in parts[2]:
        return ""
    dev, fn = parts[2].split(".", 1)
    try:
        return f"{int(parts[0], 16):04x}:{int(parts[1], 16):02x}:{int(dev, 16):02x}.{int(fn, 16):x}"
    except ValueError:
        return ""


def parse_nvidia_smi(csv_text: str) -> set[str]:
    """PCI addresses whose display is active, from
    `nvidia-smi --query-gpu=pci.bus_id,display_active --format=csv,noheader`."""
    out: set[str] = set()
    for line in csv_text.splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) >= 2 and cells[1].lower() == "enabled":
            pci = normalize_pci(cells[0])
            if pci:
                out.add(pci)
    return out


def nvidia_display_gpus(exe: str | None = None, timeout: float = 5.0) -> set[str]:
    """Ask nvidia-smi which GPUs drive a display; empty when it is missing or fails."""
    exe = exe or shutil.which("nvidia-smi")
    if not exe:
        return set()
    try:
        r = subprocess.run([exe, "--query-gpu=pci.bus_id,display_active", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return set()
    return parse_nvidia_smi(r.stdout) if r.returncode == 0 else set()


def boot_vga_gpus(root: Path = SYSFS_PCI) -> set[str]:
    """PCI addresses with boot_vga = 1 (Linux sysfs); empty elsewhere."""
    out: set[str] = set()
    try:
        entries = list(root.iterdir())
    except OSError:
        return out
    for dev in entries:
        try:
            if (dev / "boot_vga").read_text().strip() == "1":
                pci = normalize_pci(dev.name)
                if pci:
                    out.add(pci)
        except OSError:
            continue
    return out


def desktop_gpus() -> set[str]:
    """PCI addresses of GPUs that drive the desktop, as far as the system tells."""
    return nvidia_display_gpus() | boot_vga_gpus()
