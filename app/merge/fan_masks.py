"""DeepFaceLab 1.0's FAN mask modes: the obstruction-aware mask network run on the predicted
face (FAN-prd), on the dst face (FAN-dst), or both, optionally times the model's learned mask.

The network may have been trained for another face type or size than the face model; faces are
then warped into its frame (through the landmarks both crops come from) and its masks back.
"""

from __future__ import annotations

import cv2
import numpy as np

from app.extract.align import face_matrix, transform_points
from app.masknet.net import MaskNet
from app.merge import masks
from app.merge.options import FAN_MASK_MODES

NEEDS_PRD = ("FAN-prd", "FAN-prd*FAN-dst", "learned*FAN-prd*FAN-dst")
NEEDS_DST = ("FAN-dst", "FAN-prd*FAN-dst", "learned*FAN-prd*FAN-dst")


class FanMasker:
    """Turns a batch's (dst crops, predicted faces, learned masks) into the mask mode's masks."""

    def __init__(self, net: MaskNet, mode: str, resolution: int, face_type: str,
                 learned_mask: bool = True) -> None:
        if mode not in FAN_MASK_MODES:
            raise ValueError(f"{mode!r} is not a FAN mask mode")
        self.net, self.mode = net, mode
        self.resolution, self.face_type = resolution, face_type
        self.learned_mask = learned_mask

    def __call__(self, dst_crops: np.ndarray, prd_faces: np.ndarray, learned: np.ndarray,
                 landmarks: np.ndarray) -> np.ndarray:
        """[N, S, S] masks for N faces (model resolution S; `landmarks` [N, 68, 2] in frame
        pixels)."""
        size = prd_faces.shape[1]
        out = np.ones((len(prd_faces), size, size), np.float32)
        if self.mode.startswith("learned"):
            out *= learned if self.learned_mask else self._hulls(landmarks, size)
        if self.mode in NEEDS_PRD:
            out *= self._run(prd_faces, landmarks)
        if self.mode in NEEDS_DST:
            out *= self._run(dst_crops, landmarks)
        return out

    def _hulls(self, landmarks: np.ndarray, size: int) -> np.ndarray:
        """The dst landmark hull in face space: "learned" for a model trained without a mask."""
        return np.stack([masks.hull_mask((size, size), transform_points(
            lm, face_matrix(lm, size, self.face_type))) for lm in landmarks])

    def _run(self, faces: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        net = self.net
        if net.face_type == self.face_type or not len(faces):
            return net.predict(faces)
        size, rn = faces.shape[1], net.resolution
        mats = [_model_to_net(lm, size, self.face_type, rn, net.face_type) for lm in landmarks]
        x = np.stack([cv2.warpAffine(f, m, (rn, rn), flags=cv2.INTER_LINEAR,
                                     borderMode=cv2.BORDER_REPLICATE)
                      for f, m in zip(faces, mats)])
        return np.stack([cv2.warpAffine(m_net, m, (size, size),
                                        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
                         for m_net, m in zip(net.predict(x), mats)])


def _model_to_net(lm: np.ndarray, size: int, face_type: str, net_size: int,
                  net_face_type: str) -> np.ndarray:
    """2x3 matrix from the model's face crop to the mask network's crop of the same face."""
    a = np.vstack([face_matrix(lm, size, face_type), [0, 0, 1]])
    b = np.vstack([face_matrix(lm, net_size, net_face_type), [0, 0, 1]])
    return (b @ np.linalg.inv(a))[:2]
