"""Sort by identity: the set's main person first, other people's faces grouped at the end.

A src set cut from an interview or a two-shot also holds the other people in the frames. Every
face is embedded with dlib's face recognition net (from its own aligned pixels and landmarks);
the main person is the densest group (the face with most faces within the same-person
threshold, and the mean of those), and the rest are grouped person by person the same way, so
a glance at the end of the set shows who else got in and one flag moves them all to the trash.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class IdentityOrder:
    main: list[int]              # indices of the main person's faces, nearest first
    others: list[list[int]]      # other people, one group each, largest group first

    @property
    def order(self) -> list[int]:
        return self.main + [i for g in self.others for i in g]

    @property
    def other_count(self) -> int:
        return sum(len(g) for g in self.others)


def embed_face_file(img_bgr: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """Embedding of an aligned face from its pixels and its (aligned) landmarks."""
    import cv2

    from app.identity import embed_landmarks
    return embed_landmarks(cv2.cvtColor(img_bgr, cv2.COLOR_BGR2RGB), landmarks)


def _densest_group(emb: np.ndarray, pool: np.ndarray, threshold: float) -> np.ndarray:
    """Indices (into emb) of the densest same-person group among `pool`, nearest first."""
    sub = emb[pool]
    d = np.linalg.norm(sub[:, None, :] - sub[None, :, :], axis=2)
    seed = int(np.argmax((d <= threshold).sum(1)))
    centre = sub[d[seed] <= threshold].mean(0)
    dist = np.linalg.norm(sub - centre, axis=1)
    members = np.flatnonzero(dist <= threshold)
    if members.size == 0:  # the mean moved away from every face: keep the seed alone
        members = np.array([seed])
    return pool[members[np.argsort(dist[members], kind="stable")]]


def identity_order(embeddings: np.ndarray, threshold: float) -> IdentityOrder:
    """Group faces by person; the largest group is the main person."""
    n = len(embeddings)
    if n == 0:
        return IdentityOrder([], [])
    emb = np.asarray(embeddings, np.float64)
    groups = []
    pool = np.arange(n)
    while pool.size:
        group = _densest_group(emb, pool, threshold)
        groups.append(group.tolist())
        pool = np.setdiff1d(pool, group, assume_unique=True)
    groups.sort(key=len, reverse=True)
    return IdentityOrder(groups[0], groups[1:])
