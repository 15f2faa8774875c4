"""Table 1 as data."""

import pytest

from breastnet.model.variants import REFERENCE_ROWS, STUDY_ROWS, TABLE1, VARIANTS, get_variant


@pytest.mark.parametrize(
    "name, streams, multitask, alpha",
    [
        ("DSSL", ("oa",), False, 0.0),
        ("E-DSSL", ("oa",), False, 0.25),
        ("DSTL", ("oa", "hs"), False, 0.0),
        ("E-DSTL", ("oa", "hs"), False, 0.25),
        ("DMTL", ("oa", "hs"), True, 0.0),
        ("E-DMTL", ("oa", "hs"), True, 0.25),
    ],
)
def test_paper_variants(name, streams, multitask, alpha):
    v = get_variant(name)
    assert (v.streams, v.multitask, v.alpha, v.backbone) == (streams, multitask, alpha, "densenet121")


def test_baselines_are_single_stream_oa_classifiers():
    for name, backbone in [
        ("Inception", "inception_resnet_v2"),
        ("ResNet-50", "resnet50"),
        ("Han2017", "inception_v3"),
    ]:
        v = get_variant(name)
        assert (v.streams, v.multitask, v.backbone) == (("oa",), False, backbone)
    assert len(get_variant("Han2017").margins) > 1  # margin augmentation


def test_registry_holds_table1_and_the_floor():
    assert set(STUDY_ROWS) == set(VARIANTS) and len(TABLE1) == 9
    assert STUDY_ROWS == TABLE1 + ["Descriptors"] and REFERENCE_ROWS == ["Descriptors"]
    floor = get_variant("Descriptors")
    assert not floor.learned and floor.streams == () and all(VARIANTS[n].learned for n in TABLE1)


def test_alpha_is_not_part_of_the_architecture():
    assert get_variant("DMTL").architecture == get_variant("E-DMTL").architecture
    assert get_variant("DMTL", 4.0).alpha == 4.0


def test_unknown_variant_is_named():
    with pytest.raises(KeyError, match="unknown variant 'DSXL'"):
        get_variant("DSXL")
