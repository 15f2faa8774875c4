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

def build_model(variant: Variant, size: int, weights=None):
    """The Keras model of a variant.

    Args:
        variant: streams, tasks and backbone (alpha is read from `model.alpha`).
        size: patch side; raised to the backbone's minimum (`input_size`).
        weights: see `resolve_weights`.

    Returns:
        A functional keras.Model with dict inputs {stream: (s, s, 3)} and dict
        outputs {"malignancy": (2,) softmax, ["birads": (1,)]}. It carries
        `model.inference` (same layers, also returning "features"),
        `model.alpha` (a non-trainable variable, the entropy weight read by the loss),
        and `model.weights_used` (what was loaded).
    """
    size = input_size(variant, size)
    inputs, features, used = {}, [], set()
    for stream in variant.streams:
        inputs[stream] = keras.Input((size, size, 3), name=stream)
        net, what = build_backbone(variant, size, weights, name=stream)
        used.add(what)
        features.append(net(inputs[stream]))
    if len(features) > 1:
        pooled = keras.layers.Concatenate(name="features")(features)
    else:
        pooled = keras.layers.Identity(name="features")(features[0])
    outputs = {"malignancy": keras.layers.Dense(2, activation="softmax", name="malignancy")(pooled)}
    if variant.multitask:
        outputs["birads"] = keras.layers.Dense(1, name="birads")(pooled)
    model = keras.Model(inputs=inputs, outputs=outputs, name=variant.name.replace("-", "_"))
    # Same layers, plus the pooled features: one predict pass gives all a result file needs.
    model.inference = keras.Model(inputs=inputs, outputs={**outputs, "features": pooled},
                                  name=f"{model.name}_inference")
    # alpha lives in the model's state so a traced train step reads its current value
    # on every backend (JAX passes model variables into the jitted step).
    model.alpha = keras.Variable(float(variant.alpha), trainable=False, name="alpha")
    model.weights_used = " + ".join(sorted(used))
    return model
