"""The models of Table 1, as data.

A variant names its input streams, its tasks, its entropy weight alpha and its
backbone. Nothing else in the package branches on a variant's name.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

CLASSIFICATION = "classification"
BIRADS_REGRESSION = "birads"
#: The "backbone" of the classical floor: hand-crafted lesion descriptors, no network.
DESCRIPTORS = "descriptors"


@dataclass(frozen=True)
class Variant:
    """One row of Table 1.

    Args:
        name: the paper's name (DSSL, E-DMTL, ...).
        streams: input patches, ("oa",) or ("oa", "hs").
        tasks: ("classification",) or ("classification", "birads").
        alpha: weight of the entropy term (eq. 3); 0 is plain cross-entropy.
        backbone: key of `breastnet.model.backbones.BACKBONES`.
        margins: OA crop margins for margin augmentation (Han et al.); () = the profile's.
        description: what it is, and what differs from the paper.
    """

    name: str
    streams: tuple[str, ...]
    tasks: tuple[str, ...]
    alpha: float = 0.0
    backbone: str = "densenet121"
    margins: tuple[float, ...] = ()
    description: str = ""

    @property
    def multitask(self) -> bool:
        return BIRADS_REGRESSION in self.tasks

    @property
    def learned(self) -> bool:
        """A network trained with Keras (False for the hand-crafted descriptor floor)."""
        return self.backbone != DESCRIPTORS

    @property
    def architecture(self) -> tuple:
        """What the compiled graph depends on; alpha is not part of it."""
        return (self.streams, self.tasks, self.backbone)

    def with_alpha(self, alpha: float) -> Variant:
        return replace(self, alpha=float(alpha))

    def to_dict(self) -> dict:
        return asdict(self)


_E = "with the entropy-regularised loss (eq. 3)"
VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in [
        Variant("DSSL", ("oa",), (CLASSIFICATION,), 0.0, description="DenseNet-121, single stream (OA), single task."),
        Variant("E-DSSL", ("oa",), (CLASSIFICATION,), 0.25, description=f"DSSL {_E}."),
        Variant(
            "DSTL",
            ("oa", "hs"),
            (CLASSIFICATION,),
            0.0,
            description="Two DenseNet-121 streams (OA, HS), GAP features concatenated, single task.",
        ),
        Variant("E-DSTL", ("oa", "hs"), (CLASSIFICATION,), 0.25, description=f"DSTL {_E}."),
        Variant(
            "DMTL",
            ("oa", "hs"),
            (CLASSIFICATION, BIRADS_REGRESSION),
            0.0,
            description="DSTL plus the BI-RADS score regression head (eq. 1).",
        ),
        Variant(
            "E-DMTL",
            ("oa", "hs"),
            (CLASSIFICATION, BIRADS_REGRESSION),
            0.25,
            description=f"DMTL {_E}: the full DSETM framework.",
        ),
        Variant(
            "Inception",
            ("oa",),
            (CLASSIFICATION,),
            0.0,
            backbone="inception_resnet_v2",
            description="Fine-tuned Inception baseline [10]. The paper cites Inception-v4 / "
            "Inception-ResNet; Keras ships InceptionResNetV2, used here on OA patches.",
        ),
        Variant(
            "ResNet-50",
            ("oa",),
            (CLASSIFICATION,),
            0.0,
            backbone="resnet50",
            description="Fine-tuned ResNet-50 baseline [11] on OA patches.",
        ),
        Variant(
            "Han2017",
            ("oa",),
            (CLASSIFICATION,),
            0.0,
            backbone="inception_v3",
            margins=(0.0, 0.1, 0.2, 0.3),
            description="Closest Keras equivalent of Han et al. 2017 [4]: they fine-tuned "
            "GoogLeNet (Inception-v1) pretrained on grey-scale natural images, with "
            "'margin augmentation' (ROIs cut with several margins). Keras has no "
            "Inception-v1 and no grey-scale ImageNet weights, so this uses InceptionV3 "
            "(RGB ImageNet weights on grey replicated to 3 channels) and trains on "
            "OA patches cut at margins 0, 0.1, 0.2 and 0.3, testing at the profile's margin.",
        ),
        Variant(
            "Descriptors",
            (),
            (CLASSIFICATION,),
            0.0,
            backbone=DESCRIPTORS,
            description="Not in the paper: the classical floor no deep row may silently lose to. "
            "Hand-crafted BI-RADS lexicon descriptors of the lesion mask and image (shape, "
            "margin, echo pattern, posterior shadowing; breastnet.data.descriptors) with a "
            "scikit-learn Pipeline(StandardScaler, LogisticRegression), on the same splits.",
        ),
    ]
}

#: Table 1 order (the paper's rows).
TABLE1 = ["Han2017", "Inception", "ResNet-50", "DSSL", "E-DSSL", "DSTL", "E-DSTL", "DMTL", "E-DMTL"]
#: Reference rows of ours, listed after the paper's.
REFERENCE_ROWS = ["Descriptors"]
#: Every row of the study's Table 1.
STUDY_ROWS = TABLE1 + REFERENCE_ROWS


def family(name: str) -> str:
    """The architecture family of a variant name: E-DMTL -> DMTL (alpha tells them apart)."""
    return name[2:] if name.startswith("E-") else name


def get_variant(name: str, alpha: float | None = None) -> Variant:
    """Look up a variant by its paper name, optionally overriding alpha."""
    try:
        variant = VARIANTS[name]
    except KeyError:
        raise KeyError(f"unknown variant {name!r}; known: {', '.join(VARIANTS)}") from None
    return variant if alpha is None else variant.with_alpha(alpha)
