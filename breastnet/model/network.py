"""The network of section 2.1: one or two backbone streams, concatenated, and its heads.

Each stream is an ImageNet-transferable backbone without its top, global-average
pooled (`breastnet.model.backbones`); streams are concatenated (the "features"
layer, whose output is the penultimate representation analysed in Fig. 2c); heads
are a 2-way softmax ("malignancy") and, for multi-task variants, one linear unit
regressing the BI-RADS score ("birads"; the paper gives no activation, and the
score lies in [0, 1], so a plain linear output trained with MSE is the literal reading).
"""

from __future__ import annotations

import keras

from .backbones import build_backbone, input_size
from .variants import Variant


@keras.saving.register_keras_serializable(package="breastnet")
class BreastNet(keras.Model):
    """The network of one Table 1 row: backbone streams, concatenated features, heads.

    A functional model (built in `__init__`, like keras-hub's backbones) with dict inputs
    {stream: (size, size, 3)} and dict outputs {"malignancy": (2,) softmax, ["birads": (1,)]}.
    `get_config` returns the constructor's arguments, so a saved model reloads with
    `keras.saving.load_model(path, safe_mode=True)` (no Lambda layers, no pickled code).

    Args:
        streams: input patches, ("oa",) or ("oa", "hs").
        tasks: ("classification",) or ("classification", "birads").
        backbone: key of `breastnet.model.backbones.BACKBONES`.
        size: patch side; raised to the backbone's minimum (`input_size`).
        alpha: initial entropy weight, held in `self.alpha` (a non-trainable variable read by
            the loss, so a traced train step sees its current value on every backend).
        weights: backbone weights to start from (see `resolve_weights`); not part of the
            config: a reloaded model gets its weights from the saved file.
        **kwargs: `keras.Model` arguments (name, trainable, ...).

    Attributes:
        inference: the same layers as a model that also returns "features" (the pooled,
            concatenated stream outputs: the penultimate representation of Fig. 2c), so one
            predict pass gives everything a result file needs.
        weights_used: what the backbones were initialised from ("random init", "imagenet",
            "file:NAME", or "random init (imagenet unavailable)").
    """

    def __init__(
        self,
        streams=("oa", "hs"),
        tasks=("classification",),
        backbone="densenet121",
        size=64,
        alpha=0.0,
        weights=None,
        **kwargs,
    ):
        variant = Variant("network", tuple(streams), tuple(tasks), float(alpha), backbone)
        size = input_size(variant, size)

        # === Inputs and streams (each backbone in its own name scope) ===
        inputs, features, used = {}, [], set()
        for stream in variant.streams:
            inputs[stream] = keras.Input((size, size, 3), name=stream)
            net, what = build_backbone(variant, size, weights, name=stream)
            used.add(what)
            features.append(net(inputs[stream]))

        # === Features: concatenated global-average-pooled stream outputs ===
        if len(features) > 1:
            pooled = keras.layers.Concatenate(name="features")(features)
        else:
            pooled = keras.layers.Identity(name="features")(features[0])

        # === Heads (float32 under a mixed-precision policy too: the loss and scores need it) ===
        malignancy = keras.layers.Dense(2, activation="softmax", name="malignancy", dtype="float32")
        outputs = {"malignancy": malignancy(pooled)}
        if variant.multitask:
            outputs["birads"] = keras.layers.Dense(1, name="birads", dtype="float32")(pooled)
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)

        # === Config and state ===
        self.streams, self.tasks, self.backbone, self.size = variant.streams, variant.tasks, backbone, size
        self.alpha = keras.Variable(float(alpha), trainable=False, name="alpha")
        self.weights_used = " + ".join(sorted(used))
        # Not an attribute Keras tracks: its layers are this model's, saved once with it.
        object.__setattr__(
            self,
            "_inference",
            keras.Model(inputs=inputs, outputs={**outputs, "features": pooled}, name=f"{self.name}_inference"),
        )

    @property
    def inference(self) -> keras.Model:
        return self._inference

    @property
    def multitask(self) -> bool:
        return "birads" in self.tasks

    def get_config(self):
        return {
            "streams": list(self.streams),
            "tasks": list(self.tasks),
            "backbone": self.backbone,
            "size": self.size,
            "alpha": float(keras.ops.convert_to_numpy(self.alpha)),
            "name": self.name,
            "trainable": self.trainable,
        }


def build_model(variant: Variant, size: int, weights=None) -> BreastNet:
    """The Keras model of a variant (see `BreastNet`); named after it (E-DMTL -> E_DMTL)."""
    return BreastNet(
        variant.streams,
        variant.tasks,
        variant.backbone,
        size,
        variant.alpha,
        weights,
        name=variant.name.replace("-", "_"),
    )
