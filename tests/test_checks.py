"""breastnet.data.checks: one test per problem class, the CLI's exit codes, the real BUS-BRA."""

import csv
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import SHARED_BUSBRA

from breastnet.data.checks import check_dataset, main_check
from breastnet.data.load import load_dataset
from breastnet.data.problems import FATAL, WARNING, fatal_problems
from breastnet.model.backbones import check_weights_file

H, W = 40, 50  # image size of every fake dataset


def _png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), array)


def _image(h=H, w=W) -> np.ndarray:
    return (np.arange(h * w).reshape(h, w) % 251).astype(np.uint8)


def _mask(boxes=((10, 12, 20, 15),), h=H, w=W) -> np.ndarray:
    """0/255 mask with one filled rectangle (x, y, w, h) per box."""
    mask = np.zeros((h, w), np.uint8)
    for x, y, bw, bh in boxes:
        mask[y : y + bh, x : x + bw] = 255
    return mask


def _manifest(tmp_path, edit=None, n=4) -> Path:
    """A clean manifest dataset of n images (img0..), rows editable before writing."""
    base = tmp_path / "ds"
    rows = []
    for i in range(n):
        _png(base / "images" / f"img{i}.png", _image())
        _png(base / "masks" / f"img{i}.png", _mask())
        rows.append(
            {
                "image": f"images/img{i}.png",
                "mask": f"masks/img{i}.png",
                "pathology": ("benign", "malignant")[i % 2],
                "birads": "2345"[i % 4],
                "patient": f"p{i}",
            }
        )
    if edit:
        edit(rows)
    fields = list(dict.fromkeys(k for row in rows for k in row))
    with open(base / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        writer.writerows(rows)
    return base / "manifest.csv"


BUSBRA_FIELDS = ["ID", "Case", "Histology", "Pathology", "BIRADS", "Device", "Width", "Height", "Side", "BBOX"]


def _busbra(tmp_path, width=W, height=H, bbox="[11,13,19,14]") -> Path:
    """A one-image BUS-BRA folder; the default BBOX is the mask's box in BUS-BRA's convention."""
    root = tmp_path / "BUS-BRA"
    _png(root / "Images" / "bus_0001-l.png", _image())
    _png(root / "Masks" / "mask_0001-l.png", _mask())  # lesion x 10..29, y 12..26 (0-based)
    with open(root / "bus_data.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(BUSBRA_FIELDS)
        writer.writerow(["bus_0001-l", 1, "fibroadenoma", "benign", 3, "GE Logiq 7", width, height, "left", bbox])
    return root


def _check(path, multitask=False):
    return check_dataset(load_dataset(path), multitask=multitask, workers=1)


def _only(problems, code):
    """The single problem of `code`, and nothing else."""
    assert [p.code for p in problems] == [code], [str(p) for p in problems]
    return problems[0]


# --------------------------------------------------------------------------- clean input


def test_clean_manifest_has_no_problem(tmp_path):
    assert _check(_manifest(tmp_path)) == []


def test_clean_busbra_has_no_problem_and_tolerates_off_by_one_bbox(tmp_path):
    assert _check(_busbra(tmp_path)) == []
    # 0-based corner, inclusive extent: the same box in another convention, within tolerance.
    assert _check(_busbra(tmp_path / "b", bbox="[10,12,20,15]")) == []


# --------------------------------------------------------------------------- images


def test_missing_image(tmp_path):
    path = _manifest(tmp_path)
    (path.parent / "images" / "img1.png").unlink()
    p = _only(_check(path), "image-missing")
    assert p.severity == FATAL
    assert p.where.endswith("images/img1.png")
    assert "img1" in p.message and "does not exist" in p.message


def test_unreadable_image(tmp_path):
    path = _manifest(tmp_path)
    (path.parent / "images" / "img2.png").write_bytes(b"not an image")
    p = _only(_check(path), "image-unreadable")
    assert p.severity == FATAL
    assert p.where.endswith("images/img2.png")
    assert "12 bytes" in p.message and "cannot be decoded" in p.message


def test_truncated_png_is_unreadable(tmp_path):
    path = _manifest(tmp_path)
    image = path.parent / "images" / "img0.png"
    data = image.read_bytes()
    image.write_bytes(data[: len(data) - 20])  # cuts IEND and the end of the pixel data
    p = _only(_check(path), "image-unreadable")
    assert p.severity == FATAL
    assert p.where.endswith("images/img0.png")
    assert "truncated PNG" in p.message and f"{len(data) - 20} bytes" in p.message
    assert "IEND" in p.message


# --------------------------------------------------------------------------- masks


def test_missing_mask_file(tmp_path):
    path = _manifest(tmp_path)
    (path.parent / "masks" / "img3.png").unlink()
    p = _only(_check(path), "mask-missing")
    assert p.severity == FATAL
    assert p.where.endswith("masks/img3.png") and "img3" in p.message


def test_blank_mask_cell_comes_through_once(tmp_path):
    def edit(rows):
        rows[1]["mask"] = ""

    p = _only(_check(_manifest(tmp_path, edit)), "mask-missing")
    assert p.severity == FATAL
    assert p.where == "manifest.csv (img1)"


def test_unreadable_mask(tmp_path):
    path = _manifest(tmp_path)
    (path.parent / "masks" / "img1.png").write_bytes(b"\x00" * 30)
    p = _only(_check(path), "mask-unreadable")
    assert p.severity == FATAL
    assert p.where.endswith("masks/img1.png") and "30 bytes" in p.message


def test_empty_mask(tmp_path):
    path = _manifest(tmp_path)
    _png(path.parent / "masks" / "img0.png", np.zeros((H, W), np.uint8))
    p = _only(_check(path), "mask-empty")
    assert p.severity == FATAL
    assert p.where.endswith("masks/img0.png")
    assert "no lesion pixel" in p.message and f"all {H * W} pixels are 0" in p.message


def test_zero_one_mask_is_empty_and_says_why(tmp_path):
    path = _manifest(tmp_path)
    _png(path.parent / "masks" / "img0.png", _mask() // 255)
    p = _only(_check(path), "mask-empty")
    assert p.severity == FATAL
    assert "values go up to 1" in p.message and "> 127" in p.message


def test_mask_of_other_size(tmp_path):
    path = _manifest(tmp_path)
    _png(path.parent / "masks" / "img2.png", _mask(w=60))
    p = _only(_check(path), "mask-size")
    assert p.severity == FATAL
    assert p.where.endswith("masks/img2.png")
    assert "60 x 40 px" in p.message and f"img2.png is {W} x {H} px" in p.message


def test_mask_with_several_lesions_warns_and_keeps_largest(tmp_path):
    path = _manifest(tmp_path)
    # 10x10 = 100 px, 5x4 = 20 px, 3x3 = 9 px, far apart
    _png(path.parent / "masks" / "img1.png", _mask(((2, 2, 10, 10), (30, 5, 5, 4), (40, 30, 3, 3))))
    p = _only(_check(path), "mask-components")
    assert p.severity == WARNING
    assert p.where.endswith("masks/img1.png")
    assert "3 separate lesions" in p.message and "129 lesion px" in p.message
    assert "only the largest (100 px)" in p.message and "other 2 (29 px)" in p.message


# --------------------------------------------------------------------------- CSV rows


def test_unknown_pathology(tmp_path):
    def edit(rows):
        rows[1]["pathology"] = "maybe"

    p = _only(_check(_manifest(tmp_path, edit)), "pathology-unknown")
    assert p.severity == FATAL
    assert p.where == "manifest.csv row 3 (img1)" and "'maybe'" in p.message


def test_duplicate_id(tmp_path):
    def edit(rows):
        for i, row in enumerate(rows):
            row["id"] = f"case{i}"
        rows[2]["id"] = "case0"

    p = _only(_check(_manifest(tmp_path, edit)), "id-duplicate")
    assert p.severity == FATAL
    assert p.where == "manifest.csv row 4 (case0)" and "first seen at row 2" in p.message


def test_same_image_under_two_ids(tmp_path):
    def edit(rows):
        for i, row in enumerate(rows):
            row["id"] = f"case{i}"
        rows[3]["image"] = rows[0]["image"]

    p = _only(_check(_manifest(tmp_path, edit)), "image-duplicate")
    assert p.severity == FATAL
    assert p.where == "manifest.csv row 5 (case3)"
    assert "img0.png" in p.message and "'case0'" in p.message


def test_nan_cell(tmp_path):
    def edit(rows):
        rows[2]["patient"] = "NaN"

    p = _only(_check(_manifest(tmp_path, edit)), "cell-empty")
    assert p.severity == FATAL
    assert p.where == "manifest.csv row 4" and "patient" in p.message


@pytest.mark.parametrize("value, code, words", [("", "birads-missing", "missing"), ("7", "birads-unknown", "'7'")])
def test_birads_problems_are_fatal_only_for_multitask(tmp_path, value, code, words):
    def edit(rows):
        rows[1]["birads"] = value

    path = _manifest(tmp_path, edit)
    single = _only(_check(path), code)
    assert single.severity == WARNING
    assert single.where == "manifest.csv row 3 (img1)" and words in single.message
    assert fatal_problems([single]) == []
    multi = _only(_check(path, multitask=True), code)
    assert multi.severity == FATAL and words in multi.message
    assert fatal_problems([single], needs_birads=True) == [single]
    assert main_check(str(path)) == 0
    assert main_check(str(path), multitask=True) == 1


# --------------------------------------------------------------------------- BUS-BRA metadata


def test_busbra_size_disagrees_with_image(tmp_path):
    p = _only(_check(_busbra(tmp_path, height=44)), "meta-size")
    assert p.severity == WARNING
    assert p.where.endswith("Images/bus_0001-l.png")
    assert "bus_data.csv" in p.message
    assert f"{W} x 44 px" in p.message and f"image file is {W} x {H} px" in p.message


def test_busbra_bbox_disagrees_with_mask(tmp_path):
    p = _only(_check(_busbra(tmp_path, bbox="[5,6,30,20]")), "meta-bbox")
    assert p.severity == WARNING
    assert p.where.endswith("Masks/mask_0001-l.png")
    assert "BBOX [5,6,30,20]" in p.message and "lesion box is [11,13,19,14]" in p.message
    assert "tolerance 2 px" in p.message


def test_bbox_just_beyond_tolerance_is_reported(tmp_path):
    assert _check(_busbra(tmp_path, bbox="[13,13,19,14]")) == []
    p = _only(_check(_busbra(tmp_path / "b", bbox="[14,13,19,14]")), "meta-bbox")
    assert "[14,13,19,14]" in p.message


# --------------------------------------------------------------------------- weights


def test_weights_file_that_does_not_fit(tmp_path, tiny_backbone_registered):
    import keras

    from breastnet.model.backbones import build_backbone

    variant = tiny_backbone_registered("DSSL")
    net, _ = build_backbone(variant, 32)
    good = tmp_path / "good.weights.h5"
    net.save_weights(str(good))
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(5, 3, name="conv1")(inputs)  # 5 filters where tiny has 4
    bad = tmp_path / "bad.weights.h5"
    keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x)).save_weights(str(bad))

    assert check_weights_file(good, variant) == []
    p = _only(check_weights_file(bad, variant), "weights-mismatch")
    assert p.severity == FATAL and p.where == str(bad)
    assert "tiny backbone of DSSL" in p.message and "(3, 3, 3, 5)" in p.message
    assert "value=[[" not in p.message  # Keras' dump of the variable is cut
    p = _only(check_weights_file(tmp_path / "none.weights.h5", variant), "weights-missing")
    assert p.severity == FATAL and p.where.endswith("none.weights.h5")


# --------------------------------------------------------------------------- CLI


def _cli(*args):
    return subprocess.run(
        [sys.executable, "-m", "breastnet", "check", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_cli_exit_codes(tmp_path):
    clean = _manifest(tmp_path / "clean")
    run = _cli(clean)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 images of 4 patients: 2 benign, 2 malignant" in run.stdout
    assert "OK for single-task training" in run.stdout

    bad = _manifest(tmp_path / "bad")
    (bad.parent / "images" / "img1.png").unlink()
    _png(bad.parent / "masks" / "img2.png", _mask(((2, 2, 10, 10), (30, 5, 5, 4))))
    run = _cli(bad)
    assert run.returncode == 1, run.stdout + run.stderr
    out = run.stdout
    assert "FATAL" in out and "image-missing (1):" in out and "images/img1.png" in out
    assert "WARNINGS" in out and "mask-components (1):" in out
    assert out.index("FATAL") < out.index("WARNINGS")
    assert "FAILED" in out


def test_check_of_no_dataset_returns_2(tmp_path, capsys):
    assert main_check(str(tmp_path / "nothing")) == 2
    assert "path does not exist" in capsys.readouterr().err


# --------------------------------------------------------------------------- real data


@pytest.mark.skipif(not SHARED_BUSBRA.is_dir(), reason="BUS-BRA is not at ../shared/data")
def test_real_busbra_known_inconsistencies_only():
    problems = check_dataset(load_dataset(SHARED_BUSBRA))
    assert fatal_problems(problems) == []
    sizes = sorted(Path(p.where).stem for p in problems if p.code == "meta-size")
    assert sizes == ["bus_0856-l", "bus_0857-r", "bus_0912-l", "bus_0990-l"]
    assert [Path(p.where).stem for p in problems if p.code == "meta-bbox"] == ["mask_0845-s"]
    assert len(problems) == 5, [str(p) for p in problems]
