"""Final models: fit on the whole study set, save, reload safely, predict, validate externally."""

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import keras
import numpy as np
import pytest
from conftest import write_separable

from breastnet.cli import main
from breastnet.data.layouts import load_manifest
from breastnet.data.problems import DataError
from breastnet.data.synthetic import NO_SHIFT, SHIFTED, synthetic_dataset, write_synthetic
from breastnet.deploy.evaluate import evaluate_external
from breastnet.deploy.fit import fit_final
from breastnet.deploy.predict import (
    load_final_model,
    nearest_birads,
    predict_image,
    predict_manifest,
)
from breastnet.study.final import read_card
from breastnet.study.results import read_result, write_result
from breastnet.train.metrics import METRIC_KEYS
from breastnet.train.profiles import get_profile

ROOT = Path(__file__).resolve().parents[1]
#: The `test` profile, long enough for the tiny backbone to separate the separable set.
PROFILE = replace(get_profile("test"), epochs=8, patience=8, min_epochs=1, subset=None, learning_rate=0.05)


@pytest.fixture(scope="module")
def data_pair(tmp_path_factory):
    """A separable training set and an external one from another seed and "scanner" (gain 1.15)."""
    root = tmp_path_factory.mktemp("pair")
    return load_manifest(write_separable(root / "train", seed=0)), load_manifest(
        write_separable(root / "external", seed=1, gain=1.15)
    )


@pytest.fixture(scope="module")
def final_model(data_pair, tmp_path_factory):
    return fit_final(data_pair[0], PROFILE, "DMTL", tmp_path_factory.mktemp("models"), log=lambda *a: None)


@pytest.fixture(scope="module")
def external(final_model, data_pair):
    return evaluate_external(final_model, data_pair[1])


def test_the_model_file_and_its_card(final_model, data_pair):
    assert final_model.name == "DMTL_a0_test.keras"
    card = read_card(final_model)
    assert "not a medical device" in card["intended_use"]
    assert card["variant"]["name"] == "DMTL" and card["variant"]["backbone"] == "tiny"
    data = card["data"]
    assert (data["images"], data["benign"], data["malignant"]) == (40, 20, 20)
    assert data["n_train"] + data["n_val"] == 40 and data["n_val"] > 0  # patient-grouped inner validation
    assert re.fullmatch(r"[0-9a-f]{64}", data["content_sha256"])
    training = card["training"]
    assert training["weights"] == "random init" and training["bn_stats"] == "precise"
    assert training["profile"]["name"] == "test" and 1 <= training["best_epoch"] <= training["epochs_run"]
    assert card["inputs"] == {**card["inputs"], "patch_size": 32, "margin": 0.1, "crop": "pad"}
    assert card["cross_validation"] is None  # no result folder given
    assert card["provenance"]["versions"]["keras"] == keras.__version__
    markdown = final_model.with_suffix(".card.md").read_text()
    assert "Research use only; not a medical device." in markdown and "DMTL" in markdown
    assert oct(final_model.stat().st_mode & 0o777) == "0o644"


def test_without_early_stopping_the_final_model_trains_on_every_image(data_pair, tmp_path):
    """`patience` None (the cpu profile): no validation part is held out, the last epoch is saved."""
    profile = replace(PROFILE, epochs=2, patience=None)
    path = fit_final(data_pair[0], profile, "DSTL", tmp_path, log=lambda *a: None)
    card = read_card(path)
    assert (card["data"]["n_train"], card["data"]["n_val"]) == (40, 0)
    training = card["training"]
    assert training["early_stopping"] == {"monitor": None, "patience": None, "min_epochs": None, "epochs": 2}
    assert training["epochs_run"] == 2 and training["best_epoch"] is None
    markdown = path.with_suffix(".card.md").read_text()
    assert "2 epochs, the last epoch's weights kept" in markdown and "all 40 for training;" in markdown


def test_external_validation_sees_what_training_learned(external, data_pair, tmp_path):
    """The saved model (precise BN statistics saved with it) separates an external set."""
    result, features = external
    assert result["metrics"]["auc"] >= 0.95, result["metrics"]
    assert result["metrics"]["accuracy"] >= 0.9, result["metrics"]
    assert set(METRIC_KEYS) <= set(result["metrics"])  # the CV runs' keys, BI-RADS ones included
    low, high = result["metrics_ci"]["auc"]
    assert low <= result["metrics"]["auc"] <= high
    assert result["birads_categories"] == {"2": 20, "5": 20}
    assert result["run"]["kind"] == "external" and result["dataset"]["name"] == data_pair[1].name
    assert features.shape == (40, 16)  # two tiny streams of 8 features
    path = write_result(tmp_path / "external.json", result, features)
    assert read_result(path)["predictions"]["id"] == [r.id for r in data_pair[1].records]


def test_predict_one_image_is_the_evaluation_of_that_image(final_model, data_pair, external):
    model, card = load_final_model(final_model)
    record = data_pair[1].records[3]
    row = predict_image(model, record.image, record.mask, card)
    result, _ = external
    assert row["p_malignant"] == pytest.approx(result["predictions"]["p_malignant"][3], abs=1e-6)
    assert row["predicted"] == ("malignant" if row["p_malignant"] >= 0.5 else "benign")
    assert row["birads_nearest"] in ("2", "5")  # the categories the model was trained on


def test_nearest_birads_uses_the_score_table():
    assert nearest_birads(0.30) == "4B"  # 4B scores 0.30 (10-50 %)
    assert nearest_birads(0.30, ("2", "3", "4", "5")) == "4"  # an undivided 4 scores 0.485
    assert nearest_birads(0.99) == "5"


def test_a_model_loads_safely_without_the_training_code(final_model):
    """safe_mode loading needs only the model layer: no trainer, no sweep, no loss module's users."""
    code = (
        "import sys, keras, numpy as np\n"
        "import breastnet.model.network\n"
        f"m = keras.saving.load_model({str(final_model)!r}, compile=False, safe_mode=True)\n"
        "x = {s: np.zeros((1, 32, 32, 3), 'float32') for s in ('oa', 'hs')}\n"
        "m.inference.predict(x, verbose=0)\n"
        "print(type(m).__name__, sorted(n for n in sys.modules if n.startswith('breastnet.train')))\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "BreastNet []"


@pytest.mark.tf_only
def test_a_model_saved_on_tensorflow_loads_on_pytorch(final_model, data_pair):
    """Keras 3 .keras files are backend-independent: same predictions on PyTorch."""
    record = data_pair[1].records[0]
    model, card = load_final_model(final_model)
    here = predict_image(model, record.image, record.mask, card)["p_malignant"]
    code = (
        "from breastnet.deploy.predict import load_final_model, predict_image\n"
        f"m, c = load_final_model({str(final_model)!r})\n"
        f"print(predict_image(m, {str(record.image)!r}, {str(record.mask)!r}, c)['p_malignant'])\n"
    )
    env = {**os.environ, "KERAS_BACKEND": "torch", "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert float(out.stdout.strip().splitlines()[-1]) == pytest.approx(here, abs=1e-5)


# --------------------------------------------------------------------------- bad input


def five_channel_tiff(path):
    """An uncompressed TIFF with 5 samples per pixel (OpenCV reads 1, 3 or 4)."""
    import struct

    w, h, spp = 12, 10, 5
    data = bytes(w * h * spp)
    tags = [(256, w), (257, h), (258, 8), (259, 1), (262, 1), (273, 8), (277, spp), (278, h), (279, len(data))]
    ifd = struct.pack("<H", len(tags))
    for tag, value in tags:
        ifd += struct.pack("<HHIHH", tag, 3, 1, value, 0) if value < 65536 else b""
    path.write_bytes(b"II*\x00" + struct.pack("<I", 8 + len(data)) + data + ifd + struct.pack("<I", 0))
    return path


def bad_input(kind, data_pair, tmp_path):
    """(image, mask, the file the message must name, words it must say) for one kind of bad input."""
    record = data_pair[1].records[0]
    image, mask = tmp_path / "image.png", tmp_path / "mask.png"
    image.write_bytes(Path(record.image).read_bytes())
    mask.write_bytes(Path(record.mask).read_bytes())
    if kind == "missing":
        image.unlink()
        return image, mask, image, "does not exist"
    if kind == "unreadable":
        image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 10)
        return image, mask, image, "truncated PNG"
    if kind == "empty mask":
        cv2.imwrite(str(mask), np.zeros((96, 96), np.uint8))
        return image, mask, mask, "no lesion pixel"
    if kind == "sizes differ":
        cv2.imwrite(str(mask), np.full((50, 60), 255, np.uint8))
        return image, mask, mask, "mask is 60 x 50 px but its image image.png is 96 x 96 px"
    if kind == "channels":
        tiff = five_channel_tiff(tmp_path / "image.tif")
        return tiff, mask, tiff, "other than greyscale, RGB or RGBA"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["missing", "unreadable", "empty mask", "sizes differ", "channels"])
def test_bad_input_is_named_with_its_problem(kind, final_model, data_pair, tmp_path):
    image, mask, named, words = bad_input(kind, data_pair, tmp_path)
    model, card = load_final_model(final_model)
    with pytest.raises(DataError) as err:
        predict_image(model, image, mask, card)
    assert str(named) in str(err.value) and words in str(err.value)


def test_rgb_and_rgba_images_are_accepted(final_model, data_pair, tmp_path):
    model, card = load_final_model(final_model)
    record = data_pair[1].records[1]
    grey = cv2.imread(str(record.image), cv2.IMREAD_GRAYSCALE)
    expected = predict_image(model, record.image, record.mask, card)["p_malignant"]
    for name, pixels in (("rgb.png", cv2.merge([grey] * 3)), ("rgba.png", cv2.merge([grey] * 3 + [grey * 0 + 255]))):
        cv2.imwrite(str(tmp_path / name), pixels)
        got = predict_image(model, tmp_path / name, record.mask, card)["p_malignant"]
        assert got == pytest.approx(expected, abs=1e-6)


def test_a_manifest_predicts_the_good_rows_and_lists_the_bad(final_model, data_pair, tmp_path):
    folder = Path(data_pair[1].root)
    lines = ["image,mask,id", "img00.png,mask00.png,first", "missing.png,mask01.png,gone", "img02.png,,nomask"]
    lines.append("img03.png,mask03.png,last")
    manifest = tmp_path / "predict.csv"
    manifest.write_text("\n".join(lines) + "\n")
    (tmp_path / "img00.png").write_bytes((folder / "img00.png").read_bytes())
    for name in ("mask00.png", "mask01.png", "img03.png", "mask03.png", "img02.png"):
        (tmp_path / name).write_bytes((folder / name).read_bytes())
    model, card = load_final_model(final_model)
    rows, problems = predict_manifest(model, manifest, card)
    assert [r["id"] for r in rows] == ["first", "last"]
    assert {p.code for p in problems} == {"image-missing", "mask-missing"}
    assert any(str(tmp_path / "missing.png") == p.where for p in problems)


def test_a_file_that_is_no_model_is_named(tmp_path):
    from breastnet.deploy.predict import ModelFileError

    with pytest.raises(ModelFileError, match="does not exist"):
        load_final_model(tmp_path / "none.keras")
    (tmp_path / "junk.keras").write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="junk.keras cannot be loaded"):
        load_final_model(tmp_path / "junk.keras")


# --------------------------------------------------------------------------- command line and test data


def test_the_command_line_end_to_end(tmp_path, capsys):
    """phantoms -> fit -> predict -> evaluate, as a user runs them (test profile, tiny backbone)."""
    shift = tmp_path / "shift"
    assert main(["phantoms", "--shift", "--out", str(shift), "--benign", "10", "--malignant", "10"]) == 0
    out = tmp_path / "models"
    assert main(["fit", "--profile", "test", "--variant", "E-DMTL", "--out", str(out), "--quiet"]) == 0
    model = out / "E-DMTL_a0.25_test.keras"
    assert model.is_file() and model.with_suffix(".card.json").is_file()
    image, mask = shift / "images" / "syn_0001.png", shift / "masks" / "syn_0001_mask.png"
    assert main(["predict", "--model", str(model), "--image", str(image), "--mask", str(mask)]) == 0
    printed = capsys.readouterr().out
    assert "p(malignant)" in printed and "nearest category" in printed and "not a medical device" in printed
    assert main(["evaluate", "--model", str(model), "--data", str(shift), "--out", str(tmp_path / "ext")]) == 0
    result = json.loads(next((tmp_path / "ext").glob("*.json")).read_text())
    assert result["dataset"]["name"] == "synthetic-shift"
    assert set(result["birads_categories"]) <= {"2", "3", "4", "5"}  # the shifted set's undivided 4
    assert main(["predict", "--model", str(model), "--image", str(image), "--mask", str(tmp_path / "no.png")]) == 1
    assert "no.png" in capsys.readouterr().err


def test_the_shifted_phantoms_differ_in_acquisition_only(tmp_path):
    plain = synthetic_dataset(6, 6, seed=1, cache_dir=tmp_path)
    shifted = synthetic_dataset(6, 6, seed=1, cache_dir=tmp_path, shift=SHIFTED)
    assert shifted.name == "synthetic-shift" and plain.name == "synthetic"
    assert [r.pathology for r in plain.records] == [r.pathology for r in shifted.records]  # same plan
    assert {r.birads for r in shifted.records} <= {"2", "3", "4", "5"}
    area = lambda d: np.mean([(cv2.imread(str(r.mask), 0) > 0).mean() for r in d.records])  # noqa: E731
    assert area(shifted) < 0.8 * area(plain)  # lesions 20 % smaller in radius: about 36 % less area
    # The default set is unchanged by the Shift machinery: same bytes as a plain write.
    again = write_synthetic(tmp_path / "again", 6, 6, seed=1, shift=NO_SHIFT)
    first = plain.records[0]
    assert (again / "images" / Path(first.image).name).read_bytes() == Path(first.image).read_bytes()
