"""The README's before/after picture: src frame, dst frame, and the merged dst frame of one or
more workspaces (e.g. the old and the new demo recipe), two rows of frames.

    python tools/before_after.py docs/demo_before_after.jpg WS_NEW [WS_OLD ...] [--frames 20 50]

Each workspace's column shows data_dst/merged/<frame> (its dst and src frames come from the
first). Merged columns carry a visible "altered" caption, and the JPEG carries the altered-media
label (app.merge.label), as every output showing a replaced face does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def frames(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in (".png", ".jpg"))


def caption(img: np.ndarray, text: str) -> np.ndarray:
    out = img.copy()
    cv2.putText(out, text, (6, out.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 3,
                cv2.LINE_AA)
    cv2.putText(out, text, (6, out.shape[0] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                (255, 255, 255), 1, cv2.LINE_AA)
    return out


def compose(workspaces: list[Path], names: list[str], picks: list[int]) -> np.ndarray:
    first = workspaces[0]
    dst, src = frames(first / "data_dst"), frames(first / "data_src")
    rows = []
    for k in picks:
        d = dst[k]
        s = src[round(k / max(1, len(dst) - 1) * (len(src) - 1))]
        cells = [caption(cv2.imread(str(s)), "src"), caption(cv2.imread(str(d)), "dst")]
        for ws, name in zip(workspaces, names):
            cells.append(caption(cv2.imread(str(ws / "data_dst" / "merged" / d.name)),
                                 f"{name} (altered)"))
        rows.append(np.hstack(cells))
    return np.vstack(rows)


def main() -> None:
    from app.merge.label import label_jpeg
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", type=Path)
    ap.add_argument("workspaces", type=Path, nargs="+")
    ap.add_argument("--names", nargs="+", help="column captions (default: folder names)")
    ap.add_argument("--frames", type=int, nargs="+", default=[20, 50])
    a = ap.parse_args()
    names = a.names or [ws.name for ws in a.workspaces]
    ok, buf = cv2.imencode(".jpg", compose(a.workspaces, names, a.frames),
                           [cv2.IMWRITE_JPEG_QUALITY, 92])
    a.out.write_bytes(label_jpeg(buf.tobytes()))
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
