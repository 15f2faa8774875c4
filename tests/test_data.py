"""Loaders: BUS-BRA, manifest CSV, BUSI, the synthetic default."""

import cv2
import numpy as np
import pytest
from conftest import SHARED_BUSBRA

from breastnet.data.load import load_dataset
from breastnet.data.problems import DataError, fatal_problems, raise_if_fatal
from breastnet.data.records import resolve_data_path


def write_pair(folder, name, size=(40, 50)):
    image = np.full(size, 90, np.uint8)
    mask = np.zeros(size, np.uint8)
    mask[10:20, 15:30] = 255
    cv2.imwrite(str(folder / f"{name}.png"), image)
    cv2.imwrite(str(folder / f"{name}_mask.png"), mask)


@pytest.mark.skipif(not SHARED_BUSBRA.is_dir(), reason="BUS-BRA not present")
def test_real_busbra_records_and_official_folds():
    ds = load_dataset(SHARED_BUSBRA)
    s = ds.summary()
    assert (s["images"], s["patients"], s["benign"], s["malignant"]) == (1875, 1064, 1268, 607)
    assert s["birads"] == {"2": 562, "3": 463, "4": 693, "5": 157}
    first = ds.records[0]
    assert first.id == "bus_0001-l" and first.mask.name == "mask_0001-l.png" and first.birads_score == 0.485
    assert set(ds.folds) == {5, 10} and len(ds.folds[5]) == 1875
    assert not fatal_problems(ds.problems, needs_birads=True)
    assert "10.1002/mp.16812" in ds.citation


def test_manifest(tmp_path):
    (tmp_path / "img").mkdir()
    write_pair(tmp_path / "img", "a")
    write_pair(tmp_path / "img", "b")
    (tmp_path / "manifest.csv").write_text(
        "image,mask,pathology,birads,patient\n"
        "img/a.png,img/a_mask.png,benign,3,P1\n"
        "img/b.png,img/b_mask.png,malignant,4C,P2\n"
    )
    ds = load_dataset(tmp_path / "manifest.csv")
    assert [r.id for r in ds.records] == ["a", "b"]
    assert ds.records[1].birads_score == pytest.approx(0.725)
    assert ds.records[0].image == tmp_path / "img" / "a.png"
    assert load_dataset(tmp_path).records == ds.records  # the folder works too


def test_busi_refuses_multitask_with_a_clear_message(tmp_path):
    for label in ("benign", "malignant"):
        (tmp_path / label).mkdir()
        write_pair(tmp_path / label, f"{label} (1)")
    ds = load_dataset(tmp_path)
    assert len(ds) == 2 and not ds.has_birads
    raise_if_fatal(ds.problems, needs_birads=False)  # single-task: fine
    with pytest.raises(DataError, match="no BI-RADS categories: multi-task variants cannot use it"):
        raise_if_fatal(ds.problems, needs_birads=True)


def test_a_path_with_no_data_is_named(tmp_path):
    with pytest.raises(DataError, match=f"{tmp_path}.*holds no dataset"):
        load_dataset(tmp_path)
    with pytest.raises(DataError, match="does not exist"):
        load_dataset(tmp_path / "nowhere")


def test_environment_variable_names_the_dataset(tmp_path, monkeypatch):
    monkeypatch.setenv("BREASTNET_DATA", str(tmp_path))
    assert resolve_data_path(None) == tmp_path
    assert resolve_data_path("elsewhere").name == "elsewhere"
    monkeypatch.delenv("BREASTNET_DATA")
    assert resolve_data_path(None) is None
