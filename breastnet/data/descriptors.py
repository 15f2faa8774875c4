"""Hand-crafted BI-RADS lesion descriptors: the classical floor.

A logistic regression on a handful of shape, margin, echo-pattern and
posterior-feature descriptors computed from the image and its lesion mask. It
is the floor no deep model may silently lose to: a network that does not beat
it on the same splits has learnt less than eleven numbers a radiologist could
name. The descriptors are this project's own choice, modelled on the BI-RADS
ultrasound lexicon (shape, orientation, margin, echo pattern, posterior
features); they are not in the paper being reproduced.

Every descriptor is computed from the original full-resolution image and mask
(largest connected lesion component, `breastnet.data.patches.lesion_mask`), with
numpy and OpenCV only. Conventions:

* Shape ratios (circularity, solidity, margin roughness) use the outer contour
  polygon through the centres of the lesion's boundary pixels
  (`cv2.findContours`, no approximation) and its convex hull, so area, perimeter
  and hull all describe the same polygon: a rectangle then has solidity and
  roughness exactly 1, and circularity never exceeds 1 (isoperimetric
  inequality). Holes in the mask are ignored by them.
* The log area, bounding box and intensities use the mask pixels themselves.
* Intensities are in [0, 1] (grey level / 255).
* Degenerate lesions (a point, a line: zero contour area or perimeter, fewer
  than 5 contour points) get the finite fallbacks documented in
  `lesion_descriptors`; an empty mask is an error.

Matrices of whole datasets are cached as NPZ files (no pickled objects) under
`<cache>/descriptors/`, named by a content hash of the files and ids.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from .cache import hash_record_files, read_npz_cache, save_npz_atomic
from .patches import lesion_mask, read_grey
from .problems import FATAL, DataError, Problem
from .records import default_cache_dir

#: Bump when any descriptor's definition changes: it invalidates the cache.
DESCRIPTORS_VERSION = 1

DESCRIPTOR_NAMES = (
    "log_area",  # size: log of the lesion's pixel count
    "circularity",  # shape: 4*pi*A/P^2 of the contour polygon, 1 for a disc
    "solidity",  # shape: contour area / convex hull area, 1 when convex
    "depth_over_width",  # orientation: bbox height / width, > 1 "taller than wide"
    "radial_spread",  # shape: std / mean of centroid-to-contour distances
    "ellipse_mismatch",  # shape: |mask XOR fitted ellipse| / lesion area
    "margin_roughness",  # margin: contour perimeter / convex hull perimeter, >= 1
    "intensity_mean",  # echo pattern: mean grey level inside the lesion, /255
    "intensity_sd",  # echo pattern: grey-level standard deviation inside, /255
    "contrast",  # echogenicity: surrounding ring mean - lesion mean, /255
    "posterior_shadow",  # posterior feature: band below - bands beside it, /255
)

#: Ring width around the lesion for `contrast`, as a fraction of sqrt(area), and its minimum.
RING_FRACTION = 0.2
RING_MIN_PX = 3
#: Height of the posterior band, as a fraction of the lesion's bounding-box height.
POSTERIOR_FRACTION = 0.5


def lesion_descriptors(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The descriptors of one lesion, in `DESCRIPTOR_NAMES` order.

    Fallbacks, so that every non-empty mask gives finite values:
    a contour of zero perimeter (a single pixel) has circularity 1 and margin
    roughness 1; zero contour area (a point or a one-pixel-thick line) has
    circularity 0 (1 for a single pixel) and, when its hull has no area either,
    solidity 1; radial spread is 0 when every contour point is the centroid;
    fewer than 5 contour points (or a fit OpenCV cannot make) replace
    `cv2.fitEllipse` by the ellipse of equal second moments; contrast is 0 when
    the lesion leaves no ring inside the image, and posterior shadowing is 0 when
    there is no band below the lesion or none beside that band.

    Args:
        image: 2-D uint8 grey ultrasound image.
        mask: uint8 lesion mask of the same shape (lesion > 127); only its
            largest connected component is used.

    Returns:
        float64 vector of length len(DESCRIPTOR_NAMES).

    Raises:
        ValueError: when the shapes differ, or the mask has no lesion pixel.
    """
    image = np.asarray(image)
    mask = np.asarray(mask)
    if image.shape != mask.shape:
        raise ValueError(f"image {image.shape[::-1]} and mask {mask.shape[::-1]} differ in size (w x h)")
    if image.ndim != 2:
        raise ValueError(f"expected a 2-D grey image, got shape {image.shape}")
    lesion, _ = lesion_mask(mask)
    inside = lesion > 0
    area = int(np.count_nonzero(inside))
    if area == 0:
        raise ValueError("mask has no lesion pixel")

    contours, _ = cv2.findContours(lesion, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    contour = max(contours, key=len)  # one component: one outer contour
    points = contour.reshape(-1, 2).astype(np.float64)
    poly_area = float(cv2.contourArea(contour))
    perimeter = float(cv2.arcLength(contour, True))
    hull = cv2.convexHull(contour)
    hull_area = float(cv2.contourArea(hull))
    hull_perimeter = float(cv2.arcLength(hull, True))
    bx, by, bw, bh = cv2.boundingRect(lesion)  # pixel extent of the lesion

    # Size: log of the number of lesion pixels.
    log_area = math.log(area)
    # Shape: 4*pi*A/P^2 of the contour polygon (1 for a disc, lower when elongated or spiculated).
    circularity = 4.0 * math.pi * poly_area / perimeter**2 if perimeter > 0 else 1.0
    # Shape: share of its convex hull the lesion fills (lobulation and spicules lower it).
    solidity = poly_area / hull_area if hull_area > 0 else 1.0
    # Orientation: depth over width of the bounding box (> 1: "taller than wide", suspicious).
    depth_over_width = bh / bw
    # Shape: std / mean of centroid-to-contour distances (0 for a disc, grows with irregularity).
    moments = cv2.moments(lesion, binaryImage=True)
    cx, cy = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]
    radii = np.hypot(points[:, 0] - cx, points[:, 1] - cy)
    radial_spread = float(radii.std() / radii.mean()) if radii.mean() > 0 else 0.0
    # Shape: how far the lesion is from an oval: |mask XOR fitted ellipse| / lesion area.
    ellipse_mismatch = _ellipse_mismatch(inside, contour, moments, (bx, by, bw, bh), area)
    # Margin: contour perimeter over convex hull perimeter (1 for a convex outline; angular,
    # microlobulated or spiculated margins make it longer than its hull's).
    margin_roughness = perimeter / hull_perimeter if hull_perimeter > 0 else 1.0

    grey = image.astype(np.float64) / 255.0
    values = grey[inside]
    # Echo pattern: mean grey level inside the lesion (hypoechoic lesions are dark).
    intensity_mean = float(values.mean())
    # Echo pattern: spread of grey levels inside the lesion (heterogeneous echoes).
    intensity_sd = float(values.std())
    # Echogenicity: mean of a ring around the lesion minus the lesion mean.
    contrast = _ring_contrast(grey, lesion, (bx, by, bw, bh), area, intensity_mean)
    # Posterior feature: band below the lesion minus the bands beside it (< 0: shadowing).
    posterior_shadow = _posterior_shadow(grey, (bx, by, bw, bh))

    out = np.array(
        [
            log_area,
            circularity,
            solidity,
            depth_over_width,
            radial_spread,
            ellipse_mismatch,
            margin_roughness,
            intensity_mean,
            intensity_sd,
            contrast,
            posterior_shadow,
        ],
        dtype=np.float64,
    )
    assert len(out) == len(DESCRIPTOR_NAMES)
    return out


def _moment_ellipse(moments) -> tuple:
    """The ellipse with the lesion's centroid and second central moments, as a RotatedRect tuple."""
    m00 = moments["m00"]
    cx, cy = moments["m10"] / m00, moments["m01"] / m00
    cov = np.array([[moments["mu20"], moments["mu11"]], [moments["mu11"], moments["mu02"]]]) / m00
    cov += np.eye(2) / 12.0  # each pixel is a unit square, not a point: a lone pixel keeps a size
    evals, evecs = np.linalg.eigh(cov)
    evals = np.clip(evals, 0.0, None)
    # A uniform ellipse with semi-axis a has variance a^2/4 along it: full axis = 4*sqrt(var).
    minor, major = 4.0 * np.sqrt(evals)
    angle = math.degrees(math.atan2(evecs[1, 1], evecs[0, 1]))
    return (cx, cy), (major, minor), angle


def _ellipse_mismatch(inside, contour, moments, box, area) -> float:
    """|lesion XOR ellipse| / lesion area; ellipse from cv2.fitEllipse, else from moments.

    The fitted ellipse passes through boundary pixel centres, half a pixel inside
    the lesion's edge, so its semi-axes are widened by 0.5 px. The ellipse is
    rasterised exactly (pixel centres inside it), on a canvas holding both the
    lesion and the whole ellipse, so that an ellipse crossing the image border is
    not cut.
    """
    bx, by, bw, bh = box
    ellipse = None
    if len(contour) >= 5:
        (ex, ey), (ew, eh), angle = cv2.fitEllipse(contour)
        sane = all(np.isfinite([ex, ey, ew, eh, angle])) and 0 < ew and 0 < eh
        # A collinear contour can make the fit explode; keep it only within reach of the lesion.
        reach = 4.0 * max(bw, bh) + 4.0
        if sane and max(ew, eh) <= 2 * reach and abs(ex - (bx + bw / 2)) <= reach and abs(ey - (by + bh / 2)) <= reach:
            ellipse = ((ex, ey), (ew + 1.0, eh + 1.0), angle)
    if ellipse is None:
        ellipse = _moment_ellipse(moments)
    (ex, ey), (ew, eh), angle = ellipse
    a, b = max(ew, 1e-9) / 2.0, max(eh, 1e-9) / 2.0  # semi-axes along and across `angle`
    half = max(a, b) + 1
    x0 = int(math.floor(min(bx, ex - half)))
    y0 = int(math.floor(min(by, ey - half)))
    x1 = int(math.ceil(max(bx + bw, ex + half)))
    y1 = int(math.ceil(max(by + bh, ey + half)))
    ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    u = ((xs - ex) * cos + (ys - ey) * sin) / a
    v = (-(xs - ex) * sin + (ys - ey) * cos) / b
    fitted = u * u + v * v <= 1.0
    lesion = np.zeros_like(fitted)
    lesion[by - y0 : by - y0 + bh, bx - x0 : bx - x0 + bw] = inside[by : by + bh, bx : bx + bw]
    return float(np.count_nonzero(lesion != fitted) / area)


def _ring_contrast(grey, lesion, box, area, lesion_mean) -> float:
    """Mean of the ring the dilation adds around the lesion, minus the lesion mean."""
    bx, by, bw, bh = box
    radius = max(RING_MIN_PX, int(round(RING_FRACTION * math.sqrt(area))))
    h, w = lesion.shape
    # The ring lies within `radius` of the bounding box: dilate that crop only.
    x0, y0 = max(0, bx - radius), max(0, by - radius)
    x1, y1 = min(w, bx + bw + radius), min(h, by + bh + radius)
    crop = lesion[y0:y1, x0:x1]
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    ring = (cv2.dilate(crop, kernel) > 0) & (crop == 0)
    if not ring.any():
        return 0.0
    return float(grey[y0:y1, x0:x1][ring].mean() - lesion_mean)


def _posterior_shadow(grey, box) -> float:
    """Mean of the band below the lesion minus the mean of the same-size bands beside it."""
    bx, by, bw, bh = box
    h, w = grey.shape
    top = by + bh
    bottom = min(h, top + max(1, int(round(POSTERIOR_FRACTION * bh))))
    if bottom <= top:
        return 0.0  # the lesion reaches the bottom of the image
    below = grey[top:bottom, bx : bx + bw]
    beside = [grey[top:bottom, max(0, bx - bw) : bx], grey[top:bottom, bx + bw : min(w, bx + 2 * bw)]]
    beside = np.concatenate([b.ravel() for b in beside])  # pooled: a clipped band weighs less
    if beside.size == 0:
        return 0.0  # the lesion spans the image's width
    return float(below.mean() - beside.mean())


# --------------------------------------------------------------------------- datasets


def descriptor_key(dataset) -> str:
    """Hash of what the descriptors depend on: version, names, ids, image and mask bytes."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"v": DESCRIPTORS_VERSION, "names": DESCRIPTOR_NAMES}).encode())
    hash_record_files(digest, dataset.records)
    return digest.hexdigest()[:20]


def _record_descriptors(record) -> np.ndarray:
    image = read_grey(record.image)
    if record.mask is None:
        raise DataError([Problem(FATAL, "mask-missing", record.id, "no mask given")])
    mask = read_grey(record.mask)
    try:
        values = lesion_descriptors(image, mask)
    except ValueError as err:
        raise DataError([Problem(FATAL, "mask-invalid", str(record.mask), str(err))]) from None
    if not np.all(np.isfinite(values)):
        bad = [n for n, v in zip(DESCRIPTOR_NAMES, values) if not np.isfinite(v)]
        raise DataError(
            [Problem(FATAL, "mask-invalid", str(record.mask), f"non-finite descriptor(s) {', '.join(bad)}")]
        )
    return values


def compute_descriptors(dataset, workers: int | None = None, progress: bool = False) -> np.ndarray:
    """Descriptors of every record (no cache). OpenCV releases the GIL, so threads scale.

    Raises:
        DataError: listing every image or mask whose descriptors could not be computed.
    """
    records = dataset.records
    out = np.zeros((len(records), len(DESCRIPTOR_NAMES)), np.float64)
    problems = []

    def work(n):
        try:
            out[n] = _record_descriptors(records[n])
        except DataError as err:
            problems.extend(err.problems)

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        for done, _ in enumerate(pool.map(work, range(len(records))), start=1):
            if progress and (done % 50 == 0 or done == len(records)):
                print(f"  descriptors {done}/{len(records)}", file=sys.stderr, flush=True)
    if problems:
        raise DataError(problems, context=f"descriptors of {dataset.name}")
    return out


def descriptor_matrix(dataset, cache_dir=None, progress: bool = False, workers: int | None = None) -> np.ndarray:
    """Descriptors of every record of `dataset`, from the cache when present.

    Args:
        dataset: a `breastnet.data.Dataset`; each record needs an image and a mask.
        cache_dir: cache folder; default `breastnet.data.default_cache_dir()`.
        progress: print a count on stderr while computing.
        workers: threads; default one per CPU.

    Returns:
        float64 (N, len(DESCRIPTOR_NAMES)) matrix, rows in dataset order.

    Raises:
        DataError: listing every unreadable image or mask and every invalid mask.
    """
    key = descriptor_key(dataset)
    folder = Path(cache_dir) if cache_dir else default_cache_dir()
    path = folder / "descriptors" / f"{dataset.name}-{key}.npz"
    ids = [r.id for r in dataset.records]
    cached = read_npz_cache(path, ids)
    if cached is not None and tuple(cached.get("names", ())) == DESCRIPTOR_NAMES:
        return np.asarray(cached["x"], dtype=np.float64)
    x = compute_descriptors(dataset, workers=workers, progress=progress)
    save_npz_atomic(path, ids=np.array(ids), names=np.array(DESCRIPTOR_NAMES), x=x)
    return x


def descriptor_pipeline(seed: int = 0) -> Pipeline:
    """Standardised descriptors into a plain L2 logistic regression (C=1).

    Args:
        seed: random_state of the logistic regression.

    Returns:
        An unfitted scikit-learn Pipeline ("scale", "logreg").
    """
    return Pipeline([("scale", StandardScaler()), ("logreg", LogisticRegression(max_iter=1000, random_state=seed))])
