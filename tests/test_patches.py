"""OA/HS patches, their cache and paired augmentation."""

import numpy as np
import pytest

from breastnet.data.augment import augment_pair
from breastnet.data.patches import lesion_box, lesion_mask, load_patches, oa_hs_patch, square_crop


def test_lesion_box_with_margin_by_hand():
    mask = np.zeros((100, 100), np.uint8)
    mask[20:40, 30:70] = 255  # 40 wide, 20 tall
    assert lesion_box(mask, 0.0) == (30, 20, 70, 40)
    assert lesion_box(mask, 0.1) == (26, 18, 74, 42)  # 4 px and 2 px more on each side
    assert lesion_box(mask, 1.0) == (0, 0, 100, 60)  # clipped to the image


def test_oa_is_the_crop_and_hs_the_binary_mask():
    image = np.arange(100 * 100, dtype=np.uint32).reshape(100, 100) % 251
    image = image.astype(np.uint8)
    mask = np.zeros((100, 100), np.uint8)
    mask[20:52, 30:62] = 255
    oa, hs = oa_hs_patch(image, mask, size=32, margin=0.0)
    assert np.array_equal(oa, image[20:52, 30:62])  # same size: resize is the identity
    assert set(np.unique(hs)) == {255}
    oa, hs = oa_hs_patch(image, mask, size=16, margin=0.5)
    assert oa.shape == hs.shape == (16, 16) and set(np.unique(hs)) == {0, 255}


def test_pad_crop_keeps_the_lesion_proportions_stretch_erases_them():
    mask = np.zeros((100, 100), np.uint8)
    mask[20:60, 40:60] = 255  # 20 wide, 40 tall: "taller than wide"
    image = mask.copy()
    _, hs = oa_hs_patch(image, mask, size=40, margin=0.0, crop="pad")
    ys, xs = np.nonzero(hs)
    assert (ys.max() - ys.min() + 1, xs.max() - xs.min() + 1) == (40, 20)  # still 2:1, centred
    assert xs.min() == 10
    _, hs = oa_hs_patch(image, mask, size=40, margin=0.0, crop="stretch")
    assert hs.min() == 255  # the box filled the patch: the ratio is gone


def test_square_crop_is_black_beyond_the_image():
    image = np.full((10, 10), 7, np.uint8)
    out = square_crop(image, (0, 0, 4, 10))  # 4 wide, 10 tall at the left edge
    assert out.shape == (10, 10)
    assert (out[:, :3] == 0).all() and (out[:, 3:7] == 7).all() and (out[:, 7:] == 7).all()
    with pytest.raises(ValueError, match="crop must be one of"):
        oa_hs_patch(image, image, 8, crop="squash")


def test_several_lesions_keep_the_largest():
    mask = np.zeros((50, 50), np.uint8)
    mask[5:10, 5:10] = 255
    mask[20:40, 20:45] = 255
    kept, count = lesion_mask(mask)
    assert count == 2 and lesion_box(kept, 0.0) == (20, 20, 45, 40)


def test_size_mismatch_names_both_sizes():
    with pytest.raises(ValueError, match=r"image \(50, 40\) and mask \(40, 40\)"):
        oa_hs_patch(np.zeros((40, 50), np.uint8), np.zeros((40, 40), np.uint8), 16)


def test_augmentation_moves_oa_and_hs_together():
    """A patch whose OA equals its HS stays equal after the paired transform."""
    hs = np.zeros((64, 64), np.uint8)
    hs[10:30, 20:50] = 255
    for seed in range(5):
        oa_t, hs_t = augment_pair(hs.copy(), hs.copy(), np.random.default_rng(seed))
        agree = np.mean((oa_t > 127) == (hs_t > 127))
        assert agree > 0.97, seed
        assert not np.array_equal(hs_t, hs) or seed == 0


def test_cache_is_computed_once(tiny_dataset, tmp_path, monkeypatch):
    first = load_patches(tiny_dataset, 32, cache_dir=tmp_path, progress=False)
    assert first.oa.shape == (20, 32, 32) and first.oa.dtype == np.uint8
    import breastnet.data.patches as patches

    monkeypatch.setattr(patches, "compute_patches", lambda *a, **k: pytest.fail("recomputed"))
    again = load_patches(tiny_dataset, 32, cache_dir=tmp_path, progress=False)
    assert np.array_equal(again.oa, first.oa) and again.key == first.key
    assert np.array_equal(again.hs, first.hs) and again.ids == first.ids
    assert len(list((tmp_path / "patches").glob("*.npz"))) == 1  # one file, no temporary left
    assert patches.dataset_key(tiny_dataset, 64, 0.1) != first.key  # other settings, other file
    assert patches.dataset_key(tiny_dataset, 32, 0.1, crop="stretch") != first.key


def test_corrupt_cache_file_is_recomputed(tiny_dataset, tmp_path):
    first = load_patches(tiny_dataset, 32, cache_dir=tmp_path, progress=False)
    (cache_file,) = (tmp_path / "patches").glob("*.npz")
    cache_file.write_bytes(b"not an npz")
    again = load_patches(tiny_dataset, 32, cache_dir=tmp_path, progress=False)
    assert np.array_equal(again.hs, first.hs)
