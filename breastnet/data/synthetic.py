"""Synthetic ultrasound-like phantoms: the embedded default dataset.

Nothing is shipped: images are generated from a seed and written once to the
cache as a manifest dataset, so every other module reads them like real data.
They are SYNTHETIC; every table and page that shows them must say so.

Each lesion draws a latent suspicion s in [0, 1] (benign around 0.35, malignant
around 0.65, overlapping), and its look follows s, not the label: low s gives an
oval, circumscribed, wider-than-tall, homogeneous lesion (often with posterior
enhancement); high s gives irregular spiculated or microlobulated margins,
taller-than-wide shapes, heterogeneous echoes and posterior shadowing. BI-RADS is
read from s plus reader noise, so it correlates with pathology without equalling
it. Some patients have two views of the same lesion.

A `Shift` changes the acquisition, not the disease: another "scanner" (gain, speckle
grain), smaller lesions, and BI-RADS read with an undivided category 4 (as BUS-BRA
does). `SHIFTED` with another seed is the test pair of external validation: a model
trained on the default set meets images it was not tuned to.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from .layouts import load_manifest
from .records import default_cache_dir

GENERATOR_VERSION = 1

#: BI-RADS cut points on the noisy suspicion (category 4 split as 4A/4B/4C).
_BIRADS_CUTS = ((0.22, "2"), (0.38, "3"), (0.50, "4A"), (0.62, "4B"), (0.78, "4C"), (9.0, "5"))


@dataclass(frozen=True)
class Shift:
    """How a phantom set's acquisition differs from the default one.

    Args:
        name: dataset name suffix ("" for the default set).
        gain: multiplies the image intensities (another scanner's gain).
        speckle_grain: blur (pixels) of the speckle; larger is coarser grain.
        lesion_scale: multiplies every lesion's radius.
        undivided_4: BI-RADS 4A/4B/4C are reported as an undivided 4.
    """

    name: str = ""
    gain: float = 1.0
    speckle_grain: float = 0.9
    lesion_scale: float = 1.0
    undivided_4: bool = False


NO_SHIFT = Shift()
#: The external-validation phantoms: brighter, coarser speckle, lesions 20 % smaller, BI-RADS 4 undivided.
SHIFTED = Shift(name="shift", gain=1.25, speckle_grain=1.6, lesion_scale=0.8, undivided_4=True)


def lesion_contour(rng: np.random.Generator, suspicion: float, center, radius: float) -> np.ndarray:
    """Closed lesion outline as an int32 (K, 2) polygon.

    Args:
        rng: random generator.
        suspicion: 0 (clearly benign look) to 1 (clearly malignant look).
        center: (x, y) centre in pixels.
        radius: mean radius in pixels.
    """
    theta = np.linspace(0, 2 * np.pi, 360, endpoint=False)
    # Aspect: benign wider than tall (>1), suspicious ones tend to taller than wide.
    aspect = np.clip(1.75 - 1.05 * suspicion + rng.normal(0, 0.15), 0.6, 2.3)
    r = np.ones_like(theta)
    # Microlobulation: a few mid-frequency harmonics, amplitude grows with suspicion.
    for k in rng.choice(np.arange(5, 13), size=3, replace=False):
        r += suspicion * rng.uniform(0.02, 0.09) * np.sin(k * theta + rng.uniform(0, 2 * np.pi))
    # Spiculation: narrow radial spikes, only for suspicious lesions.
    if suspicion > 0.45:
        for _ in range(rng.integers(3, 3 + int(12 * suspicion))):
            at = rng.uniform(0, 2 * np.pi)
            width = rng.uniform(0.04, 0.10)
            dist = np.angle(np.exp(1j * (theta - at)))
            r += suspicion * rng.uniform(0.2, 0.6) * np.exp(-((dist / width) ** 2))
    tilt = rng.uniform(-0.3, 0.3)
    x = radius * r * np.sqrt(aspect) * np.cos(theta)
    y = radius * r / np.sqrt(aspect) * np.sin(theta)
    xr = x * np.cos(tilt) - y * np.sin(tilt) + center[0]
    yr = x * np.sin(tilt) + y * np.cos(tilt) + center[1]
    return np.stack([xr, yr], axis=1).round().astype(np.int32)


def tissue_background(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Layered breast tissue with depth attenuation, float32 in [0, 1]."""
    depth = np.linspace(0, 1, height, dtype=np.float32)[:, None]
    layers = np.zeros((height, width), np.float32)
    skin = int(height * rng.uniform(0.05, 0.09))
    layers[:skin] = 0.75
    fat_end = int(height * rng.uniform(0.25, 0.4))
    layers[skin:fat_end] = 0.35
    layers[fat_end:] = 0.55  # fibroglandular tissue
    wobble = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 12)
    tissue = layers + 0.25 * wobble / (np.abs(wobble).max() + 1e-6)
    return np.clip(tissue * (1.0 - 0.45 * depth), 0, 1)


def speckle(rng: np.random.Generator, image: np.ndarray, grain: float = 0.9) -> np.ndarray:
    """Multiplicative Rayleigh speckle, smoothed to a realistic grain."""
    noise = rng.rayleigh(1.0, image.shape).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), grain)
    return image * noise / noise.mean()


def phantom(
    rng: np.random.Generator, suspicion: float, size=(256, 288), shift: Shift = NO_SHIFT
) -> tuple[np.ndarray, np.ndarray]:
    """One image (uint8 grey) and its mask (uint8, lesion 255).

    Args:
        rng: random generator.
        suspicion: latent malignancy look, 0 to 1.
        size: (height, width) of the image.
        shift: acquisition differences (the default set has none).
    """
    height, width = size
    image = tissue_background(rng, height, width)
    radius = rng.uniform(0.10, 0.2) * min(height, width) * shift.lesion_scale
    center = (rng.uniform(0.35, 0.65) * width, rng.uniform(0.4, 0.6) * height)
    contour = lesion_contour(rng, suspicion, center, radius)
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [contour], 255)
    inside = mask > 0
    # Posterior acoustic feature: shadow for suspicious lesions, enhancement otherwise.
    x, y, w, h = cv2.boundingRect(contour)
    post = np.zeros((height, width), np.float32)
    post[y + h :, x + w // 6 : x + w - w // 6] = 1.0
    post = cv2.GaussianBlur(post, (0, 0), 6)
    if rng.uniform() < suspicion:
        image *= 1.0 - 0.55 * post * suspicion
    else:
        image *= 1.0 + 0.35 * post * (1 - suspicion)
    # Hypoechoic lesion; heterogeneous echoes grow with suspicion.
    texture = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), 3)
    lesion = 0.12 + 0.04 * rng.normal() + 0.12 * suspicion * texture
    soft = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 1.0 + 2.0 * (1 - suspicion))
    image = image * (1 - soft) + np.clip(lesion, 0.02, 0.6) * soft
    image = speckle(rng, np.clip(image, 0, 1), shift.speckle_grain) * shift.gain
    return (np.clip(image, 0, 1) * 255).astype(np.uint8), mask


def birads_from_suspicion(score: float) -> str:
    """Category a reader would give a lesion of this (noisy) suspicion."""
    for cut, cat in _BIRADS_CUTS:
        if score < cut:
            return cat
    return "5"


def synthetic_rows(n_benign: int, n_malignant: int, seed: int, second_view: float = 0.2):
    """Plan the dataset: one dict per image (label, suspicion, BI-RADS, patient, seed)."""
    rng = np.random.default_rng(seed)
    labels = np.array([0] * n_benign + [1] * n_malignant)
    rng.shuffle(labels)
    rows, patient, i = [], 0, 0
    while i < len(labels):
        patient += 1
        label = int(labels[i])
        suspicion = float(np.clip(rng.normal(0.65 if label else 0.35, 0.17), 0, 1))
        views = 2 if (rng.uniform() < second_view and i + 1 < len(labels) and labels[i + 1] == label) else 1
        for view in range(views):
            reader = float(np.clip(suspicion + rng.normal(0, 0.09), 0, 1))
            rows.append(
                {
                    "id": f"syn_{i + 1:04d}",
                    "pathology": label,
                    "suspicion": suspicion,
                    "birads": birads_from_suspicion(reader),
                    "patient": f"P{patient:04d}",
                    "seed": int(rng.integers(2**31)),
                    "view": view,
                }
            )
            i += 1
    return rows


def write_synthetic(
    folder, n_benign: int = 150, n_malignant: int = 162, seed: int = 0, shift: Shift = NO_SHIFT
) -> Path:
    """Generate phantoms into `folder` (images/, masks/, manifest.csv, dataset.json).

    Written into a temporary folder first and renamed, so a killed run leaves
    no half-made dataset behind.
    """
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".tmp-", dir=folder.parent))
    try:
        (tmp / "images").mkdir()
        (tmp / "masks").mkdir()
        rows = synthetic_rows(n_benign, n_malignant, seed)
        with open(tmp / "manifest.csv", "w", newline="") as fh:
            out = csv.writer(fh)
            out.writerow(["id", "image", "mask", "pathology", "birads", "patient", "suspicion"])
            for row in rows:
                rng = np.random.default_rng(row["seed"])
                size = (int(rng.integers(230, 290)), int(rng.integers(250, 330)))
                image, mask = phantom(rng, row["suspicion"], size=size, shift=shift)
                birads = "4" if shift.undivided_4 and row["birads"].startswith("4") else row["birads"]
                cv2.imwrite(str(tmp / "images" / f"{row['id']}.png"), image)
                cv2.imwrite(str(tmp / "masks" / f"{row['id']}_mask.png"), mask)
                out.writerow(
                    [
                        row["id"],
                        f"images/{row['id']}.png",
                        f"masks/{row['id']}_mask.png",
                        "malignant" if row["pathology"] else "benign",
                        birads,
                        row["patient"],
                        f"{row['suspicion']:.3f}",
                    ]
                )
        info = {
            "name": f"synthetic-{shift.name}" if shift.name else "synthetic",
            "synthetic": True,
            "seed": seed,
            "generator_version": GENERATOR_VERSION,
            **({"shift": asdict(shift)} if shift != NO_SHIFT else {}),
            "note": "SYNTHETIC ultrasound-like phantoms generated by breastnet.data.synthetic; not patient data.",
        }
        (tmp / "dataset.json").write_text(json.dumps(info, indent=2))
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def synthetic_dataset(
    n_benign: int = 150, n_malignant: int = 162, seed: int = 0, cache_dir=None, shift: Shift = NO_SHIFT
):
    """The synthetic dataset, generated into the cache on first use.

    Args:
        n_benign, n_malignant: image counts (default: the paper's 150 / 162).
        seed: generator seed; the same seed gives the same pixels.
        cache_dir: parent folder; default `breastnet.data.default_cache_dir()`.
        shift: acquisition differences (`SHIFTED`: the external-validation set).
    """
    cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
    tag = f"-{shift.name}" if shift.name else ""
    folder = cache_dir / f"synthetic{tag}-v{GENERATOR_VERSION}-s{seed}-b{n_benign}-m{n_malignant}"
    if not (folder / "dataset.json").is_file():
        write_synthetic(folder, n_benign, n_malignant, seed, shift)
    return load_manifest(folder)
