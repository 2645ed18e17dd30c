"""Preview rendering: grid layout, loss graph, labelled PNG; the headless sink writes the file."""

import cv2
import numpy as np

from app import ALTERED_MEDIA_LABEL
from app.ui.preview import COLUMNS, encode_png, render_grid, render_loss_graph, render_preview
from app.ui.preview_window import PreviewSink


def faces(n=3, size=64, value=0.5):
    return np.full((n, 3, size, size), value, np.float32)


def test_grid_has_a_row_per_sample_and_a_column_per_view():
    cols = [faces(value=v) for v in (0.0, 0.25, 0.5, 0.75, 1.0)]
    grid = render_grid(cols)
    assert grid.shape == (3 * 128, 5 * 128, 3)          # 64 px cells enlarged to 128
    assert grid[10, 10, 0] == 0 and grid[10, 4 * 128 + 10, 0] == 255
    assert grid[300, 2 * 128 + 10, 0] == 128


def test_loss_graph_draws_each_curve():
    hist = [[1.0 / (i + 1), 0.5] for i in range(500)]
    g = render_loss_graph(hist, 300, 100)
    assert g.shape == (100, 300, 3)
    assert (g != 32).any(axis=2).sum() > 300            # two curves across the width
    assert render_loss_graph([], 50, 20).shape == (20, 50, 3)


def test_preview_png_is_labelled_and_decodes(tmp_path):
    img = render_preview(faces(), faces(), faces(), faces(), faces(), [[1, 2], [0.5, 1]], "iter 2")
    assert img.shape[1] == len(COLUMNS) * 128
    data = encode_png(img)
    assert ALTERED_MEDIA_LABEL.encode() in data
    back = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert np.array_equal(back, img)
    sink = PreviewSink("t", tmp_path / "SAE_preview.png", window=False)
    sink.show(img)
    assert sink.poll() is None and (tmp_path / "SAE_preview.png").read_bytes() == data


def test_no_display_writes_the_file_even_when_a_window_is_asked_for(tmp_path, monkeypatch):
    """OpenCV's Qt aborts the process without a display: the sink must not try a window."""
    for key in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(key, raising=False)
    img = render_preview(faces(), faces(), faces(), faces(), faces(), [], "iter 0")
    sink = PreviewSink("t", tmp_path / "p.png", window=True)
    assert not sink.window
    sink.show(img)
    assert (tmp_path / "p.png").is_file() and sink.poll() is None
    sink.close()
