"""OA and HS patches (paper section 2.1) and their cache.

OA ("overall appearance"): the rectangle enclosing the lesion, with a margin,
cropped from the image. HS ("heterogeneity in shapes"): the same rectangle of
the mask, lesion 255, background 0. Both are resized to the model size.

How the rectangle becomes a square patch (`crop`):
- "pad" (default): the box is widened to a square around the lesion's centre
  (image content where the image has some, black beyond its edges), then resized.
  The lesion keeps its width/height ratio, a BI-RADS sign ("taller than wide").
- "stretch": the rectangle itself is resized to a square, as earlier versions did;
  it erases that ratio (on the BUS-BRA subset the HS patch's height/width ratio
  separates the classes with AUC about 0.79 before stretching, 0.45 after).
The paper says only "a rectangle ROI encapsulating the lesion"; "pad" is our reading.

Patches of a whole dataset are computed once per (dataset content, size, margin)
and kept as an NPZ (uint8 arrays, no pickled objects) in the cache
(`breastnet.data.cache`); augmentation is in `breastnet.data.augment`.
"""

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from .cache import hash_record_files, read_npz_cache, save_npz_atomic
from .problems import FATAL, DataError, Problem
from .records import default_cache_dir

PATCH_VERSION = 2
CROPS = ("pad", "stretch")


@dataclass
class PatchSet:
    """Patches of a dataset at one size, aligned with `ids`.

    Attributes:
        ids: image ids, in dataset order.
        oa: uint8 (N, size, size) grey OA patches.
        hs: uint8 (N, size, size) HS masks, 0 or 255.
        size: patch side in pixels.
        margin: relative margin around the lesion box.
        key: content hash the cache file is named by.
        crop: "pad" or "stretch" (see the module docstring).
    """

    ids: list[str]
    oa: np.ndarray
    hs: np.ndarray
    size: int
    margin: float
    key: str
    crop: str = "pad"


def read_grey(path) -> np.ndarray:
    """Read an image as 8-bit grey; raise DataError naming the file if it cannot."""
    path = Path(path)
    if not path.is_file():
        raise DataError([Problem(FATAL, "image-missing", str(path), "file does not exist")])
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None or image.size == 0:
        raise DataError(
            [
                Problem(
                    FATAL,
                    "image-unreadable",
                    str(path),
                    "cannot be decoded as an image (corrupt, truncated or not an image)",
                )
            ]
        )
    return image


def lesion_mask(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Binary lesion mask (uint8 0/255) and its number of separate components.

    Several components: the largest is kept (the checks report how many there were).
    """
    binary = (mask > 127).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count <= 1:
        return binary * 255, 0
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return (labels == largest).astype(np.uint8) * 255, count - 1


def lesion_box(mask: np.ndarray, margin: float = 0.1) -> tuple[int, int, int, int]:
    """Square-free crop box (x0, y0, x1, y1) around the lesion, clipped to the image.

    Args:
        mask: uint8 lesion mask (lesion > 0), one component.
        margin: extra border on every side, as a fraction of the box's width/height.
    """
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise ValueError("mask has no lesion pixel")
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    dx, dy = int(round((x1 - x0) * margin)), int(round((y1 - y0) * margin))
    h, w = mask.shape
    return max(0, x0 - dx), max(0, y0 - dy), min(w, x1 + dx), min(h, y1 + dy)


def square_crop(array: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The square around `box`'s centre with side max(width, height); 0 beyond the image.

    Args:
        array: (H, W) image or mask.
        box: (x0, y0, x1, y1) as from `lesion_box`.
    """
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0)
    left = x0 - (side - (x1 - x0)) // 2
    top = y0 - (side - (y1 - y0)) // 2
    out = np.zeros((side, side), dtype=array.dtype)
    h, w = array.shape
    sx0, sy0 = max(0, left), max(0, top)
    sx1, sy1 = min(w, left + side), min(h, top + side)
    out[sy0 - top : sy1 - top, sx0 - left : sx1 - left] = array[sy0:sy1, sx0:sx1]
    return out


def oa_hs_patch(image: np.ndarray, mask: np.ndarray, size: int, margin: float = 0.1, crop: str = "pad"):
    """The OA and HS patches of one image.

    Args:
        image: uint8 grey image.
        mask: uint8 mask of the same shape (lesion > 127).
        size: output side in pixels.
        margin: see `lesion_box`.
        crop: "pad" keeps the lesion's proportions, "stretch" resizes the box to a square.

    Returns:
        (oa, hs): uint8 (size, size) arrays; hs is 0/255.
    """
    if crop not in CROPS:
        raise ValueError(f"crop must be one of {CROPS}, not {crop!r}")
    if image.shape != mask.shape:
        raise ValueError(f"image {image.shape[::-1]} and mask {mask.shape[::-1]} differ in size (w x h)")
    lesion, _ = lesion_mask(mask)
    box = lesion_box(lesion, margin)
    if crop == "pad":
        oa_box, hs_box = square_crop(image, box), square_crop(lesion, box)
    else:
        x0, y0, x1, y1 = box
        oa_box, hs_box = image[y0:y1, x0:x1], lesion[y0:y1, x0:x1]
    oa = cv2.resize(oa_box, (size, size), interpolation=cv2.INTER_AREA)
    hs = cv2.resize(hs_box, (size, size), interpolation=cv2.INTER_NEAREST)
    return oa, np.where(hs > 127, 255, 0).astype(np.uint8)


def record_patch(record, size, margin, crop="pad"):
    """The (OA, HS) patch pair of one record; a DataError names the file when it cannot be cut."""
    image = read_grey(record.image)
    if record.mask is None:
        raise DataError([Problem(FATAL, "mask-missing", record.id, "no mask given")])
    mask = read_grey(record.mask)
    try:
        return oa_hs_patch(image, mask, size, margin, crop)
    except ValueError as err:
        raise DataError([Problem(FATAL, "mask-invalid", str(record.mask), str(err))]) from None


def dataset_key(dataset, size: int, margin: float, crop: str = "pad") -> str:
    """Hash of what the patches depend on: file bytes of images and masks, ids, settings."""
    digest = hashlib.sha256()
    digest.update(json.dumps({"v": PATCH_VERSION, "size": size, "margin": margin, "crop": crop}).encode())
    hash_record_files(digest, dataset.records)
    return digest.hexdigest()[:20]


def compute_patches(
    dataset, size: int, margin: float = 0.1, workers: int | None = None, progress=True, crop: str = "pad"
):
    """OA/HS patches of every record (no cache). OpenCV releases the GIL, so threads scale.

    Raises:
        DataError: listing every image or mask that could not be turned into patches.
    """
    records = dataset.records
    oa = np.zeros((len(records), size, size), np.uint8)
    hs = np.zeros_like(oa)
    problems = []
    bar = _progbar(len(records), f"patches {size}px", progress)

    def work(n):
        try:
            oa[n], hs[n] = record_patch(records[n], size, margin, crop)
        except DataError as err:
            problems.extend(err.problems)

    with ThreadPoolExecutor(max_workers=workers or os.cpu_count()) as pool:
        for done, _ in enumerate(pool.map(work, range(len(records))), start=1):
            if bar is not None and (done % 50 == 0 or done == len(records)):
                bar.update(done)
    if problems:
        raise DataError(problems, context=f"patches of {dataset.name}")
    return oa, hs


def load_patches(dataset, size: int, margin: float = 0.1, cache_dir=None, progress=True, crop: str = "pad") -> PatchSet:
    """Patches of `dataset`, from the cache when present, else computed and cached.

    Args:
        dataset: a `breastnet.data.Dataset`.
        size: patch side in pixels.
        margin: see `lesion_box`.
        cache_dir: cache folder; default `breastnet.data.records.default_cache_dir()`.
        progress: show a progress bar while computing.
        crop: "pad" or "stretch" (module docstring).
    """
    key = dataset_key(dataset, size, margin, crop)
    folder = Path(cache_dir) if cache_dir else default_cache_dir()
    path = folder / "patches" / f"{dataset.name}-{size}px-{crop}-{key}.npz"
    ids = [r.id for r in dataset.records]
    cached = read_npz_cache(path, ids)
    if cached is not None:
        return PatchSet(ids, cached["oa"], cached["hs"], size, margin, key, crop)
    oa, hs = compute_patches(dataset, size, margin, progress=progress, crop=crop)
    save_npz_atomic(path, ids=np.array(ids), oa=oa, hs=hs)
    return PatchSet(ids, oa, hs, size, margin, key, crop)


def _progbar(total, label, enabled):
    if not enabled:
        return None
    import keras

    print(label)
    return keras.utils.Progbar(total)
