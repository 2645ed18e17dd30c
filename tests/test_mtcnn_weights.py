"""The committed MTCNN weights (converted from facenet-pytorch's wheel): safetensors, complete."""

from pathlib import Path

from safetensors import safe_open

WEIGHTS = Path(__file__).resolve().parent.parent / "app" / "extract" / "weights" / "mtcnn.safetensors"


def test_the_three_nets_are_there_in_the_engine_layouts_with_their_licence():
    with safe_open(str(WEIGHTS), "np") as f:
        meta = f.metadata()
        shapes = {k: f.get_slice(k).get_shape() for k in f.keys()}
    assert "MIT" in meta["license"] and meta["dense_layout"] == "fin,fout"
    assert shapes["pnet.conv1.weight"] == [10, 3, 3, 3]
    assert shapes["pnet.conv4_2.weight"] == [4, 32, 1, 1]
    assert shapes["rnet.dense4.weight"] == [576, 128]        # 3 x 3 x 64 -> 128
    assert shapes["onet.dense5.weight"] == [1152, 256]       # 3 x 3 x 128 -> 256
    assert shapes["onet.dense6_3.weight"] == [256, 10]       # five points
    assert sum(k.startswith(("pnet.", "rnet.", "onet.")) for k in shapes) == len(shapes) == 50
