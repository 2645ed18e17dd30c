"""Convert MTCNN's P/R/O-net weights from the facenet-pytorch wheel into one safetensors file.

    pip download --no-deps facenet-pytorch==2.6.0 -d /tmp/fnp      # download only: its pins
    python tools/convert_mtcnn_weights.py /tmp/fnp/facenet_pytorch-2.6.0-py3-none-any.whl

facenet-pytorch (MIT, (c) 2019 Timothy Esler) pins torch<2.3 and numpy<2, so it is not a
dependency; its three .pt files (state dicts, 2 MB together) are read straight from the wheel
with `torch.load(weights_only=True)` (no pickle code runs) and written to
app/extract/weights/mtcnn.safetensors with names `pnet.conv1.weight`, ... Layouts follow the
engine layer API (backends/layers.py): conv weights OIHW as in torch, dense weights transposed
to (fin, fout). Facts for the nets that use them (from facenet-pytorch's models/mtcnn.py):
convolutions are unpadded ('valid'); PReLU per channel; max pools 2x2/2 (P-net) and 3x3/2
(R-, O-net) in ceil mode, plus 2x2/2 before O-net's conv4; R-net and O-net flatten their last
feature map in (W, H, C) order (a permute(0, 3, 2, 1) before the dense layer); P-net and R-net
output a 2-way softmax and 4 box offsets, O-net also 10 point coordinates (5 x, then 5 y);
the nets take RGB NCHW input scaled as (pixel - 127.5) * 0.0078125.
The nets on these weights: app/extract/mtcnn_nets.py; the detector: app/extract/detector_mt.py.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "app" / "extract" / "weights" / "mtcnn.safetensors"
LICENSE = ("MIT License, Copyright (c) 2019 Timothy Esler (facenet-pytorch 2.6.0, "
           "facenet_pytorch/data/{p,r,o}net.pt); MTCNN: Zhang, Zhang, Li, Qiao (2016), IEEE SPL "
           "23(10):1499-1503")


def convert(wheel: Path, out: Path = OUT) -> dict[str, tuple[int, ...]]:
    import numpy as np
    import torch
    from safetensors.numpy import save_file

    tensors: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(wheel) as zf:
        for net in ("pnet", "rnet", "onet"):
            data = zf.read(f"facenet_pytorch/data/{net}.pt")
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
            for key, value in state.items():
                arr = value.detach().numpy().astype(np.float32)
                if key.startswith("dense") and key.endswith(".weight"):
                    arr = arr.T  # torch Linear (fout, fin) -> our Dense (fin, fout)
                tensors[f"{net}.{key}"] = np.ascontiguousarray(arr)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_file(tensors, str(out), metadata={"license": LICENSE, "source": wheel.name,
                                            "dense_layout": "fin,fout", "conv_layout": "OIHW"})
    return {k: v.shape for k, v in tensors.items()}


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    shapes = convert(Path(sys.argv[1]))
    print(f"wrote {OUT} ({len(shapes)} tensors, {OUT.stat().st_size / 1e6:.1f} MB)")
