"""All scores of one swap: merged frames against the dst frames they replaced."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from app.quality.expression import mouth_opening, pearson
from app.quality.faces import FaceObs, observe, read_bgr
from app.quality.flicker import frame_change
from app.quality.gaze import gaze
from app.faceset.head_pose import head_pose
from app.quality.region import face_hull_mask, hull_erode_px
from app.quality.seam import seam_step
from app.quality.sharpness import laplacian_variance


@dataclass
class QualityReport:
    """Scores of a swap; nan where nothing could be measured (e.g. no face in any result)."""
    frames: int = 0            # result frames scored
    closer_to_src: int = 0     # result faces nearer the src centroid than the dst centroid
    no_face: int = 0           # result frames where no face was found (identity failures)
    identity_ratio: float = math.nan   # mean d_dst / (d_src + d_dst): 1 = src, 0 = dst
    yaw_error: float = math.nan        # mean |yaw result - yaw dst|, degrees
    pitch_error: float = math.nan      # mean |pitch result - pitch dst|, degrees
    mouth_corr: float = math.nan       # correlation of the inner-mouth opening, result vs dst
    gaze_error: float = math.nan       # mean |gaze result - gaze dst|, eye widths (gaze.py)
    sharpness: float = math.nan        # mean over frames of var(Laplacian) result / dst
    seam_colour: float = math.nan      # mean |Lab step across the edge, result - dst|
    seam_gradient: float = math.nan    # mean edge gradient, result / dst
    flicker: float = math.nan          # summed frame-to-frame face change, result / dst
    per_frame: dict = field(default_factory=dict, repr=False)

    @property
    def share(self) -> float:
        """Identity share: result frames that look like src (no face counts as a failure)."""
        return self.closer_to_src / self.frames if self.frames else 0.0

    COLUMNS = (("id share", "share", "{:.2f}"), ("id ratio", "identity_ratio", "{:.2f}"),
               ("yaw err", "yaw_error", "{:.1f}"), ("pitch err", "pitch_error", "{:.1f}"),
               ("mouth r", "mouth_corr", "{:.2f}"), ("gaze", "gaze_error", "{:.3f}"),
               ("sharp", "sharpness", "{:.2f}"),
               ("seam dLab", "seam_colour", "{:.1f}"), ("seam grad", "seam_gradient", "{:.2f}"),
               ("flicker", "flicker", "{:.2f}"))

    @classmethod
    def table_header(cls) -> str:
        return " | ".join(["recipe", "frames"] + [c[0] for c in cls.COLUMNS])

    def table_row(self, recipe: str) -> str:
        cells = [recipe, str(self.frames)]
        cells += [fmt.format(getattr(self, attr)) for _, attr, fmt in self.COLUMNS]
        return " | ".join(cells)

    def lines(self) -> list[str]:
        """The report for people (the demo prints it)."""
        return [
            f"swap score: {self.closer_to_src}/{self.frames} merged frames look like the src "
            f"person ({self.share:.0%}; no face found in {self.no_face}); identity ratio "
            f"d_dst/(d_src+d_dst) {self.identity_ratio:.2f} (1 = src, 0 = dst)",
            f"pose error vs dst: yaw {self.yaw_error:.1f} deg, pitch {self.pitch_error:.1f} deg;"
            f" mouth-opening correlation {self.mouth_corr:.2f}; gaze off dst's by "
            f"{self.gaze_error:.3f} eye widths",
            f"sharpness vs dst {self.sharpness:.2f} (1 = as sharp); seam: colour step "
            f"{self.seam_colour:.1f} Lab, edge gradient x{self.seam_gradient:.2f}; "
            f"flicker x{self.flicker:.2f} of dst's own",
        ]


def centroid(paths: list[Path]) -> np.ndarray:
    """Mean dlib embedding of the faces found in `paths`; ValueError when there is none."""
    embs = [o.embedding for o in (observe(img) for img in map(read_bgr, paths) if img is not None)
            if o.embedding is not None]
    if not embs:
        raise ValueError("no face found in any reference image")
    return np.mean(embs, axis=0)


def _mean(xs: list[float]) -> float:
    xs = [x for x in xs if not math.isnan(x)]
    return float(np.mean(xs)) if xs else math.nan


def score_frames(result: list[Path], dst: list[Path], src_refs: list[Path],
                 dst_refs: list[Path] | None = None) -> QualityReport:
    """Score result frames against the dst frames at the same positions (same length lists).

    Identity: distances to the src and dst centroids (`dst_refs` defaults to `dst`). The region
    scores use the dst frame's landmark hull in both images, so result and dst are measured on
    the same pixels; frames where dlib finds no face in dst are left out of them.
    """
    if len(result) != len(dst):
        raise ValueError(f"{len(result)} result frames but {len(dst)} dst frames")
    c_src, c_dst = centroid(src_refs), centroid(dst_refs if dst_refs is not None else dst)
    return score_observations([(observe(read_bgr(r)), observe(read_bgr(d), embed=False))
                               for r, d in zip(result, dst)], c_src, c_dst)


def score_observations(pairs: list[tuple[FaceObs, FaceObs]], c_src: np.ndarray,
                       c_dst: np.ndarray) -> QualityReport:
    """The scores of (result, dst) observations in play order, given the two centroids."""
    rep = QualityReport(frames=len(pairs))
    ratios, yaw, pitch, m_res, m_dst, sharp, s_col, s_grad = ([] for _ in range(8))
    g_err, g_res, g_dst = [], [], []
    flick_r = flick_d = 0.0
    prev = None
    for res, dst in pairs:
        if res.embedding is None:
            rep.no_face += 1
        else:
            d_src = float(np.linalg.norm(res.embedding - c_src))
            d_dst = float(np.linalg.norm(res.embedding - c_dst))
            rep.closer_to_src += d_src < d_dst
            ratios.append(d_dst / (d_src + d_dst + 1e-12))
        if res.image.shape != dst.image.shape:
            raise ValueError(f"result frame {res.image.shape[:2]} is not the dst frame's size "
                             f"{dst.image.shape[:2]}")
        if not dst.found:
            prev = None
            continue
        if res.found:
            size = (dst.image.shape[1], dst.image.shape[0])
            (yr, pr), (yd, pd) = head_pose(res.landmarks, size), head_pose(dst.landmarks, size)
            yaw.append(abs(yr - yd))
            pitch.append(abs(pr - pd))
            m_res.append(mouth_opening(res.landmarks))
            m_dst.append(mouth_opening(dst.landmarks))
            if res.pupils is not None and dst.pupils is not None:
                gr, gd = gaze(res.landmarks, res.pupils), gaze(dst.landmarks, dst.pupils)
                g_err.append(float(np.linalg.norm(gr - gd)))   # eye widths apart
                g_res.append(gr.tolist())
                g_dst.append(gd.tolist())
        band = hull_erode_px(dst.landmarks)
        hull = face_hull_mask(dst.image.shape, dst.landmarks)
        inner = face_hull_mask(dst.image.shape, dst.landmarks, erode=band)
        lv_dst = laplacian_variance(dst.image, inner)
        if lv_dst > 0:
            sharp.append(laplacian_variance(res.image, inner) / lv_dst)
        st_r, st_d = seam_step(res.image, hull, band), seam_step(dst.image, hull, band)
        s_col.append(float(np.linalg.norm(st_r.colour - st_d.colour)))
        if st_d.gradient > 0:
            s_grad.append(st_r.gradient / st_d.gradient)
        if prev is not None and prev[1].image.shape == dst.image.shape:
            flick_r += frame_change(prev[0].image, res.image, hull)
            flick_d += frame_change(prev[1].image, dst.image, hull)
        prev = (res, dst)
    rep.identity_ratio, rep.yaw_error, rep.pitch_error = _mean(ratios), _mean(yaw), _mean(pitch)
    rep.mouth_corr = pearson(m_res, m_dst)
    rep.gaze_error = _mean(g_err)
    rep.sharpness, rep.seam_colour, rep.seam_gradient = _mean(sharp), _mean(s_col), _mean(s_grad)
    rep.flicker = flick_r / flick_d if flick_d > 0 else math.nan
    rep.per_frame = {"sharpness": sharp, "mouth_result": m_res, "mouth_dst": m_dst,
                     "yaw_error": yaw, "identity_ratio": ratios, "gaze_result": g_res,
                     "gaze_dst": g_dst}
    return rep
