"""Backbones: the keras.applications networks a stream can use, and their weights.

ImageNet weights are loaded when they can be ("auto" falls back to random init
with a loud warning, and every result records which weights were used); a local
weights file is checked against the backbone and refused, naming the file, when
it does not fit.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras

from ..data.problems import FATAL, Problem
from .variants import Variant, get_variant


@dataclass(frozen=True)
class Backbone:
    """A keras.applications network usable as a stream.

    Args:
        constructor: keras.applications function.
        preprocess: its own preprocess_input.
        min_size: smallest input side keras.applications accepts.
        imagenet: whether ImageNet weights exist for it.
    """

    constructor: Callable
    preprocess: Callable
    min_size: int
    imagenet: bool = True


def tiny_convnet(include_top=False, weights=None, input_shape=None, pooling="avg", name="tiny"):
    """Two strided convolutions and a BatchNorm, global-average pooled: a stand-in backbone.

    Not a model of the study: it exists so that the tests and quick looks (`test` profile)
    run the real training path end to end in seconds. Same call as keras.applications;
    its inner layer names repeat across instances, as DenseNet121's do, so two streams of
    it exercise the name scopes that keep their variables apart.
    """
    if weights is not None:
        raise ValueError(f"the tiny stand-in backbone has no pretrained weights (asked: {weights!r})")
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(4, 3, strides=2, activation="relu", name="conv1")(inputs)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu", name="conv2")(x)
    x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(x)
    return keras.Model(inputs, x, name=name)


BACKBONES = {
    "densenet121": Backbone(keras.applications.DenseNet121, keras.applications.densenet.preprocess_input, 32),
    "resnet50": Backbone(keras.applications.ResNet50, keras.applications.resnet.preprocess_input, 32),
    "inception_resnet_v2": Backbone(
        keras.applications.InceptionResNetV2, keras.applications.inception_resnet_v2.preprocess_input, 75
    ),
    "inception_v3": Backbone(keras.applications.InceptionV3, keras.applications.inception_v3.preprocess_input, 75),
    "tiny": Backbone(tiny_convnet, keras.applications.densenet.preprocess_input, 32, imagenet=False),
}


#: Backbones whose ImageNet download already failed in this process ("auto" tries once).
_IMAGENET_UNAVAILABLE: dict[str, str] = {}


class WeightsError(ValueError):
    """A weights file that is missing or does not fit the backbone."""


def input_size(variant: Variant, size: int) -> int:
    """The patch size a variant trains at: the profile's, raised to the backbone's minimum."""
    return max(int(size), BACKBONES[variant.backbone].min_size)


def resolve_weights(weights) -> tuple[str | None, str]:
    """Turn a weights request into what keras.applications takes, and a description.

    Args:
        weights: "imagenet", "auto" (ImageNet if it can be loaded, else random init
            with a loud warning), None / "none" (random init), or a path to a
            `.weights.h5` / `.h5` file of the backbone without its top.

    Returns:
        (argument, description): argument is "imagenet", a file path or None.
    """
    if weights is None or str(weights).lower() in ("none", "random"):
        return None, "random init"
    if str(weights).lower() in ("imagenet", "auto"):
        return str(weights).lower(), "imagenet"
    path = Path(weights).expanduser()
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    return str(path), f"file:{path.name}"


def build_backbone(variant: Variant, size: int, weights=None, name: str = "oa"):
    """One stream: backbone without top, global average pooled.

    Built inside its own `keras.name_scope` so that two streams' variables get
    distinct paths (oa/conv1_conv/kernel, hs/conv1_conv/kernel). Without it the
    torch backend registers only one backbone's variables and never zeroes the
    other's gradients.

    Args:
        variant: gives the backbone key.
        size: input side in pixels.
        weights: None, "imagenet" or a file path (see `resolve_weights`).
        name: stream name, used as scope and model-name prefix.

    Returns:
        (model, used): the keras Model and a description of the weights loaded.
    """
    spec = BACKBONES[variant.backbone]
    arg, used = resolve_weights(weights)
    kwargs = dict(include_top=False, input_shape=(size, size, 3), pooling="avg", name=f"{name}_{variant.backbone}")
    if arg == "imagenet" and not spec.imagenet:
        raise WeightsError(f"there are no ImageNet weights for the {variant.backbone} backbone")
    with keras.name_scope(name):
        if arg == "auto" and not spec.imagenet:
            net, used = spec.constructor(weights=None, **kwargs), "random init"
        elif arg == "auto" and variant.backbone in _IMAGENET_UNAVAILABLE:
            net, used = spec.constructor(weights=None, **kwargs), "random init (imagenet unavailable)"
        elif arg == "auto":
            try:
                net = spec.constructor(weights="imagenet", **kwargs)
            except Exception as err:  # no network, no cached file: say so loudly, once
                _IMAGENET_UNAVAILABLE[variant.backbone] = f"{type(err).__name__}: {err}"
                warnings.warn(
                    f"ImageNet weights for {variant.backbone} could not be loaded "
                    f"({type(err).__name__}: {err}); training from RANDOM INIT instead.",
                    stacklevel=2,
                )
                net, used = spec.constructor(weights=None, **kwargs), "random init (imagenet unavailable)"
        elif arg == "imagenet":
            net = spec.constructor(weights="imagenet", **kwargs)
        else:
            net = spec.constructor(weights=None, **kwargs)
            if arg is not None:
                load_backbone_weights(net, arg)
    return net, used


def load_backbone_weights(net, path) -> None:
    """Load a weights file into a backbone, naming the file when it does not fit."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            net.load_weights(str(path))
        except Exception as err:
            raise WeightsError(f"weights file {path} does not fit {net.name}: {type(err).__name__}: {err}") from None
    # Keras only warns when it skips parts of a file; a partly loaded backbone must not
    # pass for a pretrained one.
    skipped = [str(w.message) for w in caught if "Skipping" in str(w.message)]
    if skipped:
        raise WeightsError(
            f"weights file {path} does not fit {net.name}: only partly loaded "
            f"({len(skipped)} part(s) skipped, e.g. {skipped[0][:200]})"
        )


# --------------------------------------------------------------------------- checking a weights file


def _short(message: str, limit: int = 600) -> str:
    """Keras' error without the variable values it dumps, on one line."""
    message = re.sub(r"Target variable: <Variable.*?(?=\n\s*\nList of objects|\Z)", "", message, flags=re.S)
    message = " ".join(message.split())
    return message if len(message) <= limit else message[:limit] + " ..."


def check_weights_file(path, variant_name="DSSL", size: int = 32) -> list[Problem]:
    """Whether a backbone weights file fits a variant's backbone.

    Args:
        path: a `.weights.h5` file of the backbone without its top.
        variant_name: a variant name, or a `breastnet.model.variants.Variant`.
        size: input side the backbone is built at.

    Returns:
        [] when it loads; else one FATAL weights-missing or weights-mismatch Problem.
    """
    variant = variant_name if isinstance(variant_name, Variant) else get_variant(variant_name)
    path = Path(path).expanduser()
    if not path.is_file():
        return [Problem(FATAL, "weights-missing", str(path), "weights file does not exist")]
    try:
        with warnings.catch_warnings():
            # Keras warns once per skipped layer, then raises; the Problem says it once.
            warnings.simplefilter("ignore", UserWarning)
            build_backbone(variant, size, weights=str(path))
    except WeightsError as err:
        return [
            Problem(
                FATAL,
                "weights-mismatch",
                str(path),
                f"does not fit the {variant.backbone} backbone of {variant.name}: {_short(str(err))}",
            )
        ]
    return []
