"""Colour transfer between the predicted face and the dst face (all float32 BGR in 0..1).

The predicted face has the src person's lighting; these functions move its colour statistics
towards the dst face's so the pasted face matches the scene. Masks (HxW or HxWx1, 0..1) weight
which pixels count, so background around the face does not skew the statistics.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.registry import FunctionRegistry

_EPS = 1e-6

#: every colour transfer by name (plus "none"): `@TRANSFERS.register(name, help=...)` on a
#: function `(face, target, face_mask=None, target_mask=None) -> face` adds one to merge.
TRANSFERS = FunctionRegistry()


def _weights(mask: np.ndarray | None, shape: tuple) -> np.ndarray:
    if mask is None:
        return np.ones(shape[:2], np.float32)
    w = np.asarray(mask, np.float32).reshape(shape[:2])
    return w if w.sum() > _EPS else np.ones(shape[:2], np.float32)


def _stats(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted per-channel mean and std of an HxWxC image."""
    flat = x.reshape(-1, x.shape[-1])
    wf = w.reshape(-1, 1)
    total = wf.sum()
    mean = (flat * wf).sum(0) / total
    std = np.sqrt(((flat - mean) ** 2 * wf).sum(0) / total)
    return mean, std


@TRANSFERS.register("rct", help="Reinhard transfer in Lab (mean/std)")
def rct(face: np.ndarray, target: np.ndarray, face_mask: np.ndarray | None = None,
        target_mask: np.ndarray | None = None) -> np.ndarray:
    """Reinhard colour transfer in Lab: match per-channel mean and std to `target`'s."""
    src_lab = cv2.cvtColor(np.clip(face, 0, 1).astype(np.float32), cv2.COLOR_BGR2LAB)
    tgt_lab = cv2.cvtColor(np.clip(target, 0, 1).astype(np.float32), cv2.COLOR_BGR2LAB)
    s_mean, s_std = _stats(src_lab, _weights(face_mask, face.shape))
    t_mean, t_std = _stats(tgt_lab, _weights(target_mask, target.shape))
    out = (src_lab - s_mean) * (t_std / np.maximum(s_std, _EPS)) + t_mean
    out[..., 0] = np.clip(out[..., 0], 0, 100)
    out[..., 1:] = np.clip(out[..., 1:], -127, 127)
    return np.clip(cv2.cvtColor(out.astype(np.float32), cv2.COLOR_LAB2BGR), 0, 1)


def _cov(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    flat = x.reshape(-1, 3).astype(np.float64)
    wf = w.reshape(-1, 1).astype(np.float64)
    total = wf.sum()
    mean = (flat * wf).sum(0) / total
    d = flat - mean
    cov = (d * wf).T @ d / total + np.eye(3) * 1e-5
    return mean, cov


def _sqrtm(cov: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eigh(cov)
    return vecs @ np.diag(np.sqrt(np.maximum(vals, 1e-10))) @ vecs.T


@TRANSFERS.register("lct", help="linear (covariance) transfer")
def lct(face: np.ndarray, target: np.ndarray, face_mask: np.ndarray | None = None,
        target_mask: np.ndarray | None = None) -> np.ndarray:
    """Linear colour transfer (PCA form): map mean and full 3x3 covariance onto `target`'s."""
    mu_s, cov_s = _cov(face, _weights(face_mask, face.shape))
    mu_t, cov_t = _cov(target, _weights(target_mask, target.shape))
    a = _sqrtm(cov_t) @ np.linalg.inv(_sqrtm(cov_s))
    return _apply_linear(face, a, mu_s, mu_t)


@TRANSFERS.register("mkl", help="Monge-Kantorovich linear")
def mkl(face: np.ndarray, target: np.ndarray, face_mask: np.ndarray | None = None,
        target_mask: np.ndarray | None = None) -> np.ndarray:
    """Monge-Kantorovich linear transfer: the optimal-transport linear map between Gaussians."""
    mu_s, cov_s = _cov(face, _weights(face_mask, face.shape))
    mu_t, cov_t = _cov(target, _weights(target_mask, target.shape))
    s_half = _sqrtm(cov_s)
    s_inv_half = np.linalg.inv(s_half)
    a = s_inv_half @ _sqrtm(s_half @ cov_t @ s_half) @ s_inv_half
    return _apply_linear(face, a, mu_s, mu_t)


def _apply_linear(face: np.ndarray, a: np.ndarray, mu_s: np.ndarray, mu_t: np.ndarray) -> np.ndarray:
    flat = face.reshape(-1, 3).astype(np.float64)
    out = (flat - mu_s) @ a.T + mu_t
    return np.clip(out.reshape(face.shape), 0, 1).astype(np.float32)


def _weighted_quantile_map(values: np.ndarray, w_src: np.ndarray, target: np.ndarray,
                           w_tgt: np.ndarray) -> np.ndarray:
    """1-D optimal transport: send each source value to the target value at the same quantile."""
    order_s = np.argsort(values)
    cdf_s = np.cumsum(w_src[order_s])
    cdf_s /= cdf_s[-1]
    order_t = np.argsort(target)
    cdf_t = np.cumsum(w_tgt[order_t])
    cdf_t /= cdf_t[-1]
    mapped = np.interp(cdf_s, cdf_t, target[order_t])
    out = np.empty_like(values)
    out[order_s] = mapped
    return out


def _random_rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    return q * np.sign(np.diag(r))


@TRANSFERS.register("idt", help="iterative distribution transfer")
def idt(face: np.ndarray, target: np.ndarray, face_mask: np.ndarray | None = None,
        target_mask: np.ndarray | None = None, iterations: int = 10, step: float = 1.0,
        seed: int = 0) -> np.ndarray:
    """Iterative distribution transfer (Pitie et al.): 1-D transport along random rotations."""
    rng = np.random.default_rng(seed)
    x = face.reshape(-1, 3).astype(np.float64)
    y = target.reshape(-1, 3).astype(np.float64)
    ws = _weights(face_mask, face.shape).reshape(-1).astype(np.float64)
    wt = _weights(target_mask, target.shape).reshape(-1).astype(np.float64)
    for _ in range(iterations):
        rot = _random_rotation(rng)
        xr, yr = x @ rot, y @ rot
        for c in range(3):
            xr[:, c] += step * (_weighted_quantile_map(xr[:, c], ws, yr[:, c], wt) - xr[:, c])
        x = xr @ rot.T
    return np.clip(x.reshape(face.shape), 0, 1).astype(np.float32)


@TRANSFERS.register("sot", help="sliced optimal transport")
def sot(face: np.ndarray, target: np.ndarray, face_mask: np.ndarray | None = None,
        target_mask: np.ndarray | None = None, iterations: int = 10, seed: int = 0) -> np.ndarray:
    """Sliced optimal transport: like idt with a relaxed step, averaged over random slices."""
    return idt(face, target, face_mask, target_mask, iterations=iterations * 2, step=0.5,
               seed=seed)


def transfer_names() -> tuple[str, ...]:
    """The colour transfer choices of merge: "none" first, then every registered one."""
    return ("none", *TRANSFERS)


def color_transfer(kind: str, face: np.ndarray, target: np.ndarray,
                   face_mask: np.ndarray | None = None,
                   target_mask: np.ndarray | None = None) -> np.ndarray:
    """Dispatch by name ("none" returns `face` unchanged)."""
    if kind == "none":
        return face
    return TRANSFERS[kind].fn(face, target, face_mask, target_mask)


def hist_match(face: np.ndarray, target: np.ndarray, threshold: int = 255,
               mask: np.ndarray | None = None) -> np.ndarray:
    """Per-channel histogram matching of `face` onto `target` (DeepFaceLab's color_hist_match).

    `threshold` (0..255) compresses the source's cumulative histogram to 0..threshold/255, so
    lower values keep the face from taking the brightest tones of dst. `mask` weights both
    histograms (the masked hist match option); the mapping is applied to every pixel.
    """
    w = _weights(mask, face.shape).reshape(-1)
    src8 = np.clip(face * 255 + 0.5, 0, 255).astype(np.uint8)
    tgt8 = np.clip(target * 255 + 0.5, 0, 255).astype(np.uint8)
    out = np.empty(face.shape, np.float32)
    for c in range(3):
        s = src8[..., c].reshape(-1)
        t = tgt8[..., c].reshape(-1)
        s_cdf = np.cumsum(np.bincount(s, weights=w, minlength=256))
        t_cdf = np.cumsum(np.bincount(t, weights=w, minlength=256))
        if s_cdf[-1] <= _EPS or t_cdf[-1] <= _EPS:
            out[..., c] = face[..., c]
            continue
        s_q = s_cdf / s_cdf[-1] * (threshold / 255.0)
        t_q = t_cdf / t_cdf[-1]
        lut = np.interp(s_q, t_q, np.arange(256, dtype=np.float64))
        out[..., c] = (lut[src8[..., c]] / 255.0).astype(np.float32)
    return out


def reduce_colors(image: np.ndarray, n_colors: int = 256, seed: int = 0) -> np.ndarray:
    """Quantise to an adaptive palette of `n_colors` (k-means on a pixel sample)."""
    from scipy.spatial import cKDTree

    flat = image.reshape(-1, 3).astype(np.float32)
    rng = np.random.default_rng(seed)
    sample = flat[rng.choice(len(flat), size=min(len(flat), 8192), replace=False)]
    k = min(n_colors, len(np.unique(sample, axis=0)))
    cv2.setRNGSeed(seed)
    _, _, centers = cv2.kmeans(sample, k, None,
                               (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_MAX_ITER, 8, 1e-3),
                               1, cv2.KMEANS_PP_CENTERS)
    _, idx = cKDTree(centers).query(flat, k=1)
    return centers[idx].reshape(image.shape).astype(np.float32)
