"""Training-time augmentation of OA/HS patch pairs, and the model's input transform.

One random geometric transform (flip, small rotation, shift, zoom) is applied
identically to the OA patch (bilinear, reflected border) and its HS mask (nearest,
zero border), so the two streams always see the same lesion.
"""

from __future__ import annotations

import cv2
import numpy as np


def random_affine(rng: np.random.Generator, size: int, rotation=10.0, shift=0.05, zoom=0.1):
    """A 2x3 affine matrix: flip, small rotation (degrees), shift and zoom (fractions)."""
    angle = rng.uniform(-rotation, rotation)
    scale = 1.0 + rng.uniform(-zoom, zoom)
    matrix = cv2.getRotationMatrix2D((size / 2, size / 2), angle, scale)
    matrix[:, 2] += rng.uniform(-shift, shift, 2) * size
    if rng.uniform() < 0.5:  # horizontal flip: x -> size - x
        matrix[0] = -matrix[0]
        matrix[0, 2] += size
    return matrix


def augment_pair(oa: np.ndarray, hs: np.ndarray, rng: np.random.Generator):
    """Apply one random geometric transform identically to an OA and HS patch."""
    size = oa.shape[0]
    matrix = random_affine(rng, size)
    oa_t = cv2.warpAffine(oa, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    hs_t = cv2.warpAffine(hs, matrix, (size, size), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_CONSTANT)
    return oa_t, hs_t


def to_model_input(patches: np.ndarray, preprocess) -> np.ndarray:
    """uint8 grey (N, s, s) -> float32 (N, s, s, 3) through the backbone's preprocess_input."""
    rgb = np.repeat(patches[..., None].astype(np.float32), 3, axis=-1)
    return np.asarray(preprocess(rgb), dtype=np.float32)
