"""Dataset and weights checks: read every image and mask, report every problem.

`check_dataset` adds image-level problems to the parse problems the loaders
collected, so one run lists everything wrong with a dataset. Codes:

    image-missing, image-unreadable, mask-missing, mask-unreadable,
    mask-empty, mask-size                                  fatal
    mask-components, meta-size, meta-bbox                  warning

plus the loaders' codes (cell-empty, id-duplicate, image-duplicate,
pathology-unknown, birads-missing, birads-unknown, ...). BI-RADS problems are
fatal when the BI-RADS task is trained (`multitask=True`).

Truncated images: OpenCV 5 returns None for the truncated PNGs we tried, but a
decoder may also give back a partial image, so before decoding a PNG must end
with its IEND chunk and a JPEG with its EOI marker; a file that does not is
reported as truncated without being decoded.

BUS-BRA's BBOX convention, measured on all 1875 rows of the published data:
[x, y, w, h] with x, y the first lesion column and row counted from 1, and
w, h = last - first column/row (one less than the pixel extent). 1874 rows
match it exactly; the one that differs (bus_0845-s) is off by 30-77 px.
Differences up to BBOX_TOLERANCE px per number are accepted, so that another
rounding convention (0-based, inclusive extent) is not reported.
"""

from __future__ import annotations

import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from .patches import lesion_mask
from .problems import FATAL, WARNING, DataError, Problem, fatal_problems

#: Largest accepted difference (px) between a BBOX number and the mask's.
BBOX_TOLERANCE = 2

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_PNG_IEND = b"\x00\x00\x00\x00IEND\xaeB`\x82"  # empty IEND chunk with its CRC
_JPEG_SOI, _JPEG_EOI = b"\xff\xd8", b"\xff\xd9"


# --------------------------------------------------------------------------- reading


def _truncation(data: bytes) -> str | None:
    """Why the file is truncated, or None when its end marker is there (PNG, JPEG only)."""
    if data.startswith(_PNG_SIGNATURE):
        # Bytes after IEND are ignored by decoders, so IEND anywhere is enough.
        if not data.endswith(_PNG_IEND) and data.rfind(b"IEND") < 0:
            return f"truncated PNG: {len(data)} bytes and no IEND chunk at the end"
    elif data.startswith(_JPEG_SOI):
        # Some writers pad after EOI; entropy-coded data never holds FF D9.
        if data[-1024:].rfind(_JPEG_EOI) < 0:
            return f"truncated JPEG: {len(data)} bytes and no EOI marker at the end"
    return None


def _read(path: Path) -> tuple[np.ndarray | None, str | None]:
    """(grey image, None) or (None, why it cannot be used). The file must exist."""
    data = path.read_bytes()
    if not data:
        return None, "file is empty (0 bytes)"
    reason = _truncation(data)
    if reason:
        return None, reason
    raw = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if raw is None or raw.size == 0:
        return None, (
            f"cannot be decoded as an image ({len(data)} bytes): corrupt, not an image, or a pixel format "
            "other than greyscale, RGB or RGBA"
        )
    if raw.ndim == 3 and raw.shape[2] not in (1, 3, 4) or raw.ndim > 3:
        channels = raw.shape[2] if raw.ndim == 3 else "x".join(map(str, raw.shape[2:]))
        return None, f"has {channels} channels ({_size(raw)}): expected a greyscale, RGB or RGBA image"
    # Grey as the patches read it (cv2.IMREAD_GRAYSCALE); 16-bit images become 8-bit.
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None or image.size == 0:
        return None, f"cannot be decoded as an image ({len(data)} bytes): corrupt or not an image"
    return image, None


def _size(a: np.ndarray) -> str:
    return f"{a.shape[1]} x {a.shape[0]} px"


def _parse_bbox(text) -> list[int] | None:
    numbers = re.findall(r"-?\d+(?:\.\d+)?", str(text or ""))
    return [int(round(float(n))) for n in numbers] if len(numbers) == 4 else None


def _mask_bbox(lesion: np.ndarray) -> list[int]:
    """The lesion's box in BUS-BRA's convention (see the module docstring)."""
    ys, xs = np.nonzero(lesion)
    x0, x1, y0, y1 = int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max())
    return [x0 + 1, y0 + 1, x1 - x0, y1 - y0]


# --------------------------------------------------------------------------- one record


def _read_checked(path, kind: str, record_id: str, out: list):
    """Read an image or mask; append "<kind>-missing" / "<kind>-unreadable" to `out` on failure."""
    path = Path(path)
    if not path.is_file():
        out.append(Problem(FATAL, f"{kind}-missing", str(path), f"{kind} file of {record_id} does not exist"))
        return None
    pixels, why = _read(path)
    if pixels is None:
        out.append(Problem(FATAL, f"{kind}-unreadable", str(path), why))
    return pixels


def check_record(record, csv_label: str = "the manifest") -> list[Problem]:
    """Every image-level problem of one record: missing or unreadable files, an image that is
    not greyscale, RGB or RGBA, an empty mask, a mask of another size than its image, ...

    Args:
        record: a `breastnet.data.Record`.
        csv_label: how the file that gave the record's metadata is named in messages.
    """
    return _check_record(record, csv_label)


def _check_record(record, csv_label: str) -> list[Problem]:
    """Every image-level problem of one record."""
    out = []
    img_path = Path(record.image)
    image = _read_checked(img_path, "image", record.id, out)
    mask = None
    if record.mask is not None:  # None: the loader already reported mask-missing
        mask = _read_checked(record.mask, "mask", record.id, out)

    meta = record.meta or {}
    if image is not None and meta.get("Width") not in (None, "") and meta.get("Height") not in (None, ""):
        try:
            width, height = int(float(meta["Width"])), int(float(meta["Height"]))
        except ValueError:
            out.append(
                Problem(
                    WARNING,
                    "meta-size",
                    str(img_path),
                    f"{csv_label} Width/Height {meta['Width']!r}/{meta['Height']!r} are not numbers",
                )
            )
        else:
            if (width, height) != (image.shape[1], image.shape[0]):
                out.append(
                    Problem(
                        WARNING,
                        "meta-size",
                        str(img_path),
                        f"{csv_label} gives Width x Height {width} x {height} px but the image file is {_size(image)}",
                    )
                )

    if mask is None:
        return out
    mask_path = Path(record.mask)
    lesion = mask > 127  # the threshold patches.lesion_mask uses
    n_lesion = int(np.count_nonzero(lesion))
    if n_lesion == 0:
        peak = int(mask.max())
        detail = (
            f"values go up to {peak}, but lesion pixels must be > 127 (0/255 masks)"
            if peak
            else f"all {mask.size} pixels are 0"
        )
        out.append(Problem(FATAL, "mask-empty", str(mask_path), f"mask of {record.id} has no lesion pixel: {detail}"))
        return out
    if image is not None and image.shape != mask.shape:
        out.append(
            Problem(
                FATAL,
                "mask-size",
                str(mask_path),
                f"mask is {_size(mask)} but its image {img_path.name} is {_size(image)} (width x height)",
            )
        )
    kept, count = lesion_mask(mask)
    if count > 1:
        n_kept = int(np.count_nonzero(kept))
        out.append(
            Problem(
                WARNING,
                "mask-components",
                str(mask_path),
                f"mask has {count} separate lesions (8-connected components, {n_lesion} "
                f"lesion px); OA/HS patches keep only the largest ({n_kept} px) and drop "
                f"the other {count - 1} ({n_lesion - n_kept} px)",
            )
        )
    if meta.get("BBOX") not in (None, ""):
        given, actual = _parse_bbox(meta["BBOX"]), _mask_bbox(lesion)
        if given is None:
            out.append(
                Problem(WARNING, "meta-bbox", str(mask_path), f"{csv_label} BBOX {meta['BBOX']!r} is not [x,y,w,h]")
            )
        elif max(abs(g - a) for g, a in zip(given, actual)) > BBOX_TOLERANCE:
            fmt = lambda b: "[" + ",".join(map(str, b)) + "]"  # noqa: E731
            out.append(
                Problem(
                    WARNING,
                    "meta-bbox",
                    str(mask_path),
                    f"{csv_label} gives BBOX {fmt(given)} but the mask's lesion box is "
                    f"{fmt(actual)} ([x,y,w,h]: x, y of the first lesion pixel counted "
                    f"from 1, w, h = last - first; tolerance {BBOX_TOLERANCE} px)",
                )
            )
    return out


# --------------------------------------------------------------------------- dataset


def check_dataset(dataset, multitask: bool = False, workers: int | None = None, progress=False) -> list[Problem]:
    """Parse problems of `dataset` plus those found by reading every image and mask.

    Args:
        dataset: a `breastnet.data.Dataset`.
        multitask: the BI-RADS task will be trained: BI-RADS problems become FATAL.
        workers: reading threads (OpenCV releases the GIL); default os.cpu_count().
        progress: False, True (a line on stderr as images are read), or a callable
            `progress(done, total)`.

    Returns:
        Every problem, parse problems first, then per record in dataset order.
    """
    records = dataset.records
    csv_label = "bus_data.csv" if dataset.layout == "bus-bra" else "the manifest"
    report = _stderr_progress if progress is True else (progress or None)
    results = []
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        for done, found in enumerate(pool.map(lambda r: _check_record(r, csv_label), records), 1):
            results.extend(found)
            if report is not None:
                report(done, len(records))
    problems = list(dataset.problems) + results
    if multitask:
        # A multi-task run reads BI-RADS: say so in the problem itself, not only in fatal_problems.
        promote = {id(p) for p in fatal_problems(problems, needs_birads=True) if p.severity != FATAL}
        problems = [
            replace(p, severity=FATAL, message=f"{p.message} (fatal: the BI-RADS task is trained)")
            if id(p) in promote
            else p
            for p in problems
        ]
    return problems


def _stderr_progress(done: int, total: int) -> None:
    """A carriage-return counter on a terminal; a few lines otherwise (logs, pipes)."""
    tty = sys.stderr.isatty()
    steps = 100 if tty else 4
    if done * steps // total == (done - 1) * steps // total:  # same percent bucket
        return
    end = "\n" if done == total else ("\r" if tty else "\n")
    print(f"  read {done}/{total} images and masks", end=end, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- CLI


def _shown(where: str, root: Path) -> str:
    """Paths relative to the dataset folder, which the summary names once."""
    try:
        return str(Path(where).relative_to(root))
    except ValueError:
        return where


def main_check(path, multitask: bool = False) -> int:
    """`python -m breastnet check PATH`: read everything, print every problem.

    Args:
        path: dataset path; None reads $BREASTNET_DATA, else the synthetic phantoms.
        multitask: BI-RADS problems are fatal.

    Returns:
        0 when nothing is fatal, 1 when something is, 2 when there is no dataset.
    """
    from .load import load_dataset

    try:
        dataset = load_dataset(path)
    except DataError as err:
        print(f"No dataset at {path}:", file=sys.stderr)
        for p in err.problems:
            print(f"  {p}", file=sys.stderr)
        return 2
    print(
        f"Checking {dataset.name} ({dataset.layout} layout) in {dataset.root}"
        + (" -- SYNTHETIC phantoms, not patients" if dataset.synthetic else "")
    )
    problems = check_dataset(dataset, multitask=multitask, progress=True)
    s = dataset.summary()
    birads = ", ".join(f"{k}: {v}" for k, v in s["birads"].items())
    print(
        f"{s['images']} images of {s['patients']} patients: {s['benign']} benign, "
        f"{s['malignant']} malignant; BI-RADS {birads}"
    )
    fatal = [p for p in problems if p.severity == FATAL]
    warnings = [p for p in problems if p.severity != FATAL]
    for title, group in (
        ("FATAL (training refuses the dataset)", fatal),
        ("WARNINGS (recorded; training goes on)", warnings),
    ):
        if not group:
            continue
        print(f"\n{title}: {len(group)}")
        codes = sorted({p.code for p in group})
        for code in codes:
            members = [p for p in group if p.code == code]
            print(f"  {code} ({len(members)}):")
            for p in members:
                print(f"    {_shown(p.where, dataset.root)}: {p.message}")
    mode = "multi-task (BI-RADS required)" if multitask else "single-task"
    if fatal:
        print(f"\nFAILED for {mode} training: {len(fatal)} fatal problem(s), {len(warnings)} warning(s).")
        return 1
    print(f"\nOK for {mode} training: no fatal problem, {len(warnings)} warning(s).")
    return 0
