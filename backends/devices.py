"""Device detection and choice: torch devices (CUDA/ROCm, XPU, MPS), OpenCL devices (pyopencl)
and the CPU. `python -m app devices` prints what this finds and which it would pick, and why.

Choice: a device index, "best" (most memory, not the desktop's GPU where the system tells, see
backends.desktop_gpu), "all" (every GPU, one training process each), a list ("0,2"; "cpu,cpu"
for several CPU processes), or "cpu"; the environment
variable FACESTUDIO_DEVICE overrides the flag/question. Model files of a run on GPU idx N carry
the `N_` prefix (DeepFaceLab's convention), see `model_prefix`.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field

from backends.errors import BackendError
from backends.desktop_gpu import desktop_gpus, normalize_pci

ENV_DEVICE = "FACESTUDIO_DEVICE"


@dataclass
class Device:
    """One compute device. `engine`: torch|opencl; `index`: its idx in that engine's list."""

    engine: str
    index: int
    kind: str             # cuda, rocm, xpu, mps, cpu, opencl-gpu, opencl-cpu, ...
    name: str
    vendor: str = ""
    memory: int = 0       # bytes
    compute_units: int = 0
    version: str = ""
    platform: str = ""
    usable: bool = True
    problem: str = ""
    torch_device: str = ""
    extra: dict = field(default_factory=dict)

    def describe(self) -> str:
        mem = f"{self.memory / 2**30:.1f} GiB" if self.memory else "? GiB"
        s = f"[{self.index}] {self.name} ({self.kind}, {mem}"
        if self.compute_units:
            s += f", {self.compute_units} CUs"
        if self.version:
            s += f", {self.version}"
        s += ")"
        if not self.usable:
            s += f"  UNUSABLE: {self.problem}"
        return s


def model_prefix(gpu_idx: int | None) -> str:
    """DeepFaceLab's model-file prefix for a run on GPU idx N: "N_" ("" for the system choice)."""
    return "" if gpu_idx is None else f"{int(gpu_idx)}_"


def default_torch_device() -> str:
    """First CUDA/ROCm, XPU or MPS device torch sees, else the CPU."""
    import torch
    if torch.cuda.is_available():
        return "cuda:0"
    if hasattr(torch, "xpu") and torch.xpu.is_available():
        return "xpu:0"
    if torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def cpu_device() -> Device:
    import torch
    cores = os.cpu_count() or 1
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        mem = 0
    name = _cpu_name()
    from backends.torch_engine import cpu_has_bf16
    return Device("torch", -1, "cpu", name, memory=mem, compute_units=cores, torch_device="cpu",
                  version=f"torch {torch.__version__}, {'bf16' if cpu_has_bf16() else 'fp32'}")


def _cpu_name() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "CPU"


def list_torch_gpus() -> list[Device]:
    """CUDA (NVIDIA), ROCm (AMD, through torch.cuda), Intel XPU and Apple MPS devices."""
    import torch
    out: list[Device] = []
    if torch.cuda.is_available():
        kind = "rocm" if getattr(torch.version, "hip", None) else "cuda"
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            out.append(Device("torch", len(out), kind, p.name, memory=p.total_memory,
                              compute_units=p.multi_processor_count, torch_device=f"cuda:{i}",
                              version=f"cc {p.major}.{p.minor}", extra={"pci": _torch_pci(p)}))
    if hasattr(torch, "xpu") and torch.xpu.is_available():
        for i in range(torch.xpu.device_count()):
            p = torch.xpu.get_device_properties(i)
            out.append(Device("torch", len(out), "xpu", p.name, memory=getattr(p, "total_memory", 0),
                              torch_device=f"xpu:{i}"))
    if torch.backends.mps.is_available():
        out.append(Device("torch", len(out), "mps", "Apple GPU (MPS)", torch_device="mps"))
    return out


_PROBE = "__kernel void probe(__global float* a) { a[get_global_id(0)] *= 2.0f; }"
_opencl_cache: list[Device] | None = None


def list_opencl(probe: bool = True) -> list[Device]:
    """OpenCL devices over all platforms, each test-compiled (a device whose compiler fails,
    e.g. an old PoCL on a CPU its LLVM does not know, is listed as unusable with the reason)."""
    global _opencl_cache
    if _opencl_cache is not None:
        return _opencl_cache
    from backends.opencl_loader import setup_opencl
    try:
        setup_opencl()
        import pyopencl as cl
        platforms = cl.get_platforms()
    except Exception:
        _opencl_cache = []
        return []
    out: list[Device] = []
    for pi, plat in enumerate(platforms):
        try:
            devs = plat.get_devices()
        except Exception:
            continue
        for di, d in enumerate(devs):
            kind = "opencl-gpu" if d.type & cl.device_type.GPU else (
                "opencl-cpu" if d.type & cl.device_type.CPU else "opencl")
            dev = Device("opencl", len(out), kind, d.name.strip(), vendor=d.vendor.strip(),
                         memory=int(d.global_mem_size), compute_units=int(d.max_compute_units),
                         version=d.version.strip(), platform=plat.name.strip(),
                         extra={"platform_index": pi, "device_index": di,
                                "pci": _opencl_pci(d), "float_width": _float_width(d)})
            if probe:
                try:
                    cl.Program(cl.Context([d]), _PROBE).build()
                except Exception as e:  # noqa: BLE001  (any build failure makes it unusable)
                    log = str(e).strip().splitlines()
                    dev.usable, dev.problem = False, f"cannot compile kernels ({_short(log)})"
            out.append(dev)
    _opencl_cache = out
    return out


def _float_width(d) -> int:
    """Floats in one native vector register (PoCL on a CPU: 16 AVX-512, 8 AVX2, 4 SSE); 0 if
    the driver does not say."""
    try:
        return int(d.native_vector_width_float)
    except Exception:  # noqa: BLE001
        return 0


def _torch_pci(props) -> str:
    """PCI address of a CUDA/ROCm device ('' where torch does not report it)."""
    try:
        return normalize_pci(f"{props.pci_domain_id:x}:{props.pci_bus_id:x}:{props.pci_device_id:x}.0")
    except (AttributeError, TypeError, ValueError):
        return ""


def _opencl_pci(d) -> str:
    """PCI address from NVIDIA's or AMD's OpenCL extension ('' for other devices); formatted as
    clinfo does (NVIDIA's slot id packs device << 3 | function)."""
    try:
        if "cl_nv_device_attribute_query" in d.extensions:
            slot = int(d.pci_slot_id_nv)
            return normalize_pci(f"{int(d.pci_bus_id_nv):x}:{slot >> 3:x}.{slot & 7:x}")
        if "cl_amd_device_attribute_query" in d.extensions:
            t = d.topology_amd
            return normalize_pci(f"{int(t.bus):x}:{int(t.device):x}.{int(t.function):x}")
    except Exception:  # noqa: BLE001  (drivers differ in what they answer; no address is fine)
        pass
    return ""


def pick_best(devs: list[Device], desktop: set[str]) -> tuple[Device, str]:
    """The device with most memory, preferring GPUs first and, among those, one that does not
    drive the desktop (`desktop`: PCI addresses from backends.desktop_gpu)."""
    def drives_desktop(d: Device) -> bool:
        return bool(d.extra.get("pci")) and d.extra["pci"] in desktop

    best = max(devs, key=lambda d: (d.kind != "opencl-cpu", not drives_desktop(d), d.memory))
    gpus = [d for d in devs if d.kind != "opencl-cpu"]
    if any(drives_desktop(d) for d in gpus) and len(gpus) > 1:
        shown = [str(d.index) for d in gpus if drives_desktop(d)]
        why = f"most memory of the GPUs not driving the desktop (idx {', '.join(shown)} does)"
    else:
        why = "most memory"
    return best, why


def _short(lines: list[str]) -> str:
    for ln in lines:
        if "error" in ln.lower() and "clBuildProgram" not in ln:
            return ln.strip()[:120]
    return (lines[0] if lines else "build failed")[:120]


def opencl_tinygrad_device(index: int | None) -> tuple[str, Device]:
    """Make tinygrad's CL device list our usable OpenCL devices (tinygrad alone only sees the
    first platform) and return the tinygrad device name for `index` (None = best)."""
    devs = [d for d in list_opencl() if d.usable]
    if not devs:
        listing = "\n".join(d.describe() for d in list_opencl()) or "(no OpenCL devices)"
        raise BackendError("no usable OpenCL device. Found:\n" + listing + "\nInstall a GPU driver "
                        "with OpenCL, or PoCL (pip: pocl-binary-distribution; Debian/Ubuntu: "
                        "apt install pocl-opencl-icd), or use the torch engine")
    if index is None:
        chosen, _ = pick_best(devs, desktop_gpus())
    else:
        match = [d for d in list_opencl() if d.index == int(index)]
        if not match:
            raise BackendError(f"no OpenCL device with idx {index}. Found:\n"
                            + "\n".join(d.describe() for d in list_opencl()))
        chosen = match[0]
        if not chosen.usable:
            raise BackendError(f"OpenCL device {chosen.describe()} cannot be used: {chosen.problem}")
    import ctypes
    from tinygrad.runtime.autogen import opencl as tcl
    from tinygrad.runtime.ops_cl import CLDevice
    if CLDevice.device_ids is None:
        ids = []
        n = ctypes.c_uint32()
        tcl.clGetPlatformIDs(0, None, ctypes.byref(n))
        plats = (tcl.cl_platform_id * n.value)()
        tcl.clGetPlatformIDs(n.value, plats, None)
        for d in devs:
            pid = plats[d.extra["platform_index"]]
            nd = ctypes.c_uint32()
            tcl.clGetDeviceIDs(pid, tcl.CL_DEVICE_TYPE_ALL, 0, None, ctypes.byref(nd))
            arr = (tcl.cl_device_id * nd.value)()
            tcl.clGetDeviceIDs(pid, tcl.CL_DEVICE_TYPE_ALL, nd.value, arr, None)
            ids.append(arr[d.extra["device_index"]])
        CLDevice.device_ids = (tcl.cl_device_id * len(ids))(*ids)
    pos = [d.index for d in devs].index(chosen.index)
    return f"CL:{pos}", chosen


@dataclass
class Choice:
    """What a run will use, and why. `gpu_idx` gives the model-file prefix (None: system choice)."""

    engine: str
    devices: list[Device]
    reason: str
    gpu_idx: int | None = None

    @property
    def prefix(self) -> str:
        return model_prefix(self.gpu_idx)


def parse_spec(spec: str | int | None) -> str | int | tuple | None:
    """"best"/"all"/"cpu"/an index, or a comma list ("0,2": those GPUs, "cpu,cpu": two CPU
    processes) returned as a tuple; the env var FACESTUDIO_DEVICE wins over the flag."""
    env = os.environ.get(ENV_DEVICE, "").strip()
    raw = env if env else spec
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in ("", "best", "auto")):
        return None
    if isinstance(raw, int):
        return raw
    raw = raw.strip().lower()
    if "," in raw:
        return _parse_list(raw, env)
    if raw in ("all", "cpu"):
        return raw
    if raw.lstrip("-").isdigit():
        return int(raw)
    raise BackendError(f"device {raw!r} not understood: give a GPU idx, best, all or cpu"
                    + (f" (from ${ENV_DEVICE})" if env else ""))


def _parse_list(raw: str, env: str) -> tuple:
    """"0,2" -> (0, 2); "cpu,cpu" -> ("cpu", "cpu"). GPUs and CPU are not mixed (the CPU process
    would hold every GPU back), and a GPU is not named twice."""
    items = [x.strip() for x in raw.split(",")]
    where = f" (from ${ENV_DEVICE})" if env else ""
    if all(x == "cpu" for x in items):
        return tuple(items)
    if all(x.isdigit() for x in items):
        idx = tuple(int(x) for x in items)
        if len(set(idx)) != len(idx):
            raise BackendError(f"device list {raw!r} names a GPU twice{where}: one process per GPU")
        return idx
    raise BackendError(f"device list {raw!r} not understood{where}: give GPU indexes such as 0,2 "
                    "(or cpu,cpu for two CPU processes)")


def choose(spec: str | int | None = None, engine: str = "torch") -> Choice:
    """Pick the device(s) for a run: an idx, "best" (most memory, not the desktop's GPU where
    known), "all" or "cpu"."""
    sel = parse_spec(spec)
    from_env = f" (${ENV_DEVICE})" if os.environ.get(ENV_DEVICE, "").strip() else ""
    if engine == "opencl":
        return _choose_opencl(sel, from_env)
    gpus = list_torch_gpus()
    cpu = cpu_device()
    if sel == "cpu":
        return Choice("torch", [cpu], f"CPU requested{from_env}")
    if sel == "all":
        if not gpus:
            return Choice("torch", [cpu], f"all GPUs requested{from_env}, but torch sees none: CPU")
        return Choice("torch", gpus, f"all {len(gpus)} GPUs requested{from_env} (DDP, one "
                      "process each)")
    if isinstance(sel, tuple):
        return _choose_list(sel, gpus, cpu, from_env)
    if isinstance(sel, int):
        match = [g for g in gpus if g.index == sel]
        if not match:
            raise BackendError(f"no GPU with idx {sel}{from_env}. Found:\n" + _listing(gpus, cpu))
        return Choice("torch", match, f"GPU idx {sel} requested{from_env}", gpu_idx=sel)
    if gpus:
        best, why = pick_best(gpus, desktop_gpus())
        return Choice("torch", [best], f"best GPU: {why} of {len(gpus)}")
    hint = " (the OpenCL engine can use an OpenCL device instead)" if opencl_engine_present() else ""
    return Choice("torch", [cpu], "no CUDA/ROCm/XPU/MPS GPU found by torch: CPU" + hint)


def _choose_list(sel: tuple, gpus: list[Device], cpu: Device, from_env: str) -> Choice:
    """Several processes: the listed GPUs, or N CPU processes (gloo; this is how the
    multi-process path is tested without GPUs, and one process using every core is usually
    faster on one machine)."""
    if sel[0] == "cpu":
        return Choice("torch", [cpu] * len(sel), f"{len(sel)} CPU processes requested{from_env} "
                      "(DDP over gloo)")
    missing = [i for i in sel if i not in {g.index for g in gpus}]
    if missing:
        raise BackendError(f"no GPU with idx {missing[0]}{from_env}. Found:\n" + _listing(gpus, cpu))
    chosen = [next(g for g in gpus if g.index == i) for i in sel]
    return Choice("torch", chosen, f"GPUs idx {', '.join(map(str, sel))} requested{from_env} "
                  "(DDP, one process each)")


def _choose_opencl(sel: str | int | None, from_env: str) -> Choice:
    devs = list_opencl()
    usable = [d for d in devs if d.usable]
    if sel == "all" or isinstance(sel, tuple):
        raise BackendError("the OpenCL engine trains on one device; choose an idx or best "
                        "(several GPUs train with the torch engine)")
    if sel == "cpu":
        cpus = [d for d in usable if d.kind == "opencl-cpu"]
        if not cpus:
            raise BackendError("no usable OpenCL CPU device (install PoCL). Found:\n" + _listing(devs))
        return Choice("opencl", cpus[:1], f"OpenCL CPU device requested{from_env}")
    if isinstance(sel, int):
        match = [d for d in devs if d.index == sel]
        if not match:
            raise BackendError(f"no OpenCL device with idx {sel}{from_env}. Found:\n" + _listing(devs))
        if not match[0].usable:
            raise BackendError(f"OpenCL device {match[0].describe()} cannot be used")
        return Choice("opencl", match, f"OpenCL idx {sel} requested{from_env}", gpu_idx=sel)
    if not usable:
        raise BackendError("no usable OpenCL device. Found:\n" + _listing(devs))
    best, why = pick_best(usable, desktop_gpus())
    return Choice("opencl", [best], f"best OpenCL device: GPUs first, then {why}")


def opencl_engine_present() -> bool:
    """Whether this install carries the OpenCL engine (tinygrad); the cpu and CUDA portable
    builds leave it out."""
    import importlib.util
    return importlib.util.find_spec("tinygrad") is not None


def _listing(devs: list[Device], cpu: Device | None = None) -> str:
    lines = [d.describe() for d in devs] or ["(no GPUs)"]
    if cpu is not None:
        lines.append(f"cpu: {cpu.name}")
    return "\n".join("  " + ln for ln in lines)


def report(spec: str | int | None = None) -> str:
    """The text `python -m app devices` prints: everything found, and the picks for each engine."""
    lines = ["torch GPUs (CUDA / ROCm / XPU / MPS):"]
    gpus = list_torch_gpus()
    lines += [f"  {g.describe()}" for g in gpus] or ["  none"]
    cpu = cpu_device()
    lines.append(f"CPU: {cpu.name}, {cpu.compute_units} threads, {cpu.memory / 2**30:.1f} GiB, {cpu.version}")
    lines.append("OpenCL devices:")
    try:
        from backends.opencl_loader import find_libopencl
        lib = find_libopencl()
    except Exception:
        lib = None
    lines.append(f"  loader: {lib or 'none found'}")
    cls = list_opencl()
    lines += [f"  {d.describe()}  [{d.platform}]" for d in cls] or ["  none"]
    from backends import ENGINES

    for engine in ENGINES:
        if engine == "opencl" and not opencl_engine_present():
            lines.append("opencl engine: not in this build (the opencl-sse build and a source "
                         "install have it)")
            continue
        try:
            c = choose(spec, engine)
            names = ", ".join(d.name for d in c.devices)
            lines.append(f"{engine} engine would use: {names} — {c.reason}"
                         + (f"; model files prefixed {c.prefix!r}" if c.prefix else ""))
        except BackendError as e:
            lines.append(f"{engine} engine: {str(e).splitlines()[0]}")
    return "\n".join(lines + graph_engine_lines())


def graph_engine_lines() -> list[str]:
    """ONNX Runtime's providers and OpenVINO's devices (the merge engines onnx / openvino)."""
    from backends import onnx_runtime, openvino_runtime

    lines = []
    for rt in (onnx_runtime, openvino_runtime):
        try:
            lines += rt.describe()
        except Exception as e:  # a broken install must not hide the rest of the report
            lines.append(f"{rt.__name__.split('.')[-1]}: failed to start ({onnx_runtime.first_line(e)})")
    return lines
