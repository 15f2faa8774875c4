"""Precise BatchNorm statistics: worked out by hand on tiny models, on every backend."""

import keras
import numpy as np
import pytest

from breastnet.model.batchnorm import PreciseBatchNorm, batch_rows, batchnorm_layers, moving_statistics, set_momentum


def conv_bn_model():
    """conv -> BN -> pool; the BN's inputs are the conv's outputs, computable by hand."""
    inputs = keras.Input((6, 6, 2), name="oa")
    conv = keras.layers.Conv2D(3, 3, name="conv")
    bn = keras.layers.BatchNormalization(name="bn")
    x = keras.layers.GlobalAveragePooling2D()(bn(conv(inputs)))
    return keras.Model({"oa": inputs}, x), conv, bn


def numpy_conv_outputs(images, conv):
    """The conv's outputs worked out with numpy ('valid' 3x3, stride 1): (N*4*4, 3)."""
    kernel, bias = (np.asarray(keras.ops.convert_to_numpy(w), np.float64) for w in conv.weights)
    n, h, w, _ = images.shape
    out = np.zeros((n, h - 2, w - 2, kernel.shape[-1]))
    for i in range(h - 2):
        for j in range(w - 2):
            window = images[:, i : i + 3, j : j + 3, :].astype(np.float64)
            out[:, i, j, :] = np.einsum("nabc,abcd->nd", window, kernel) + bias
    return out.reshape(-1, kernel.shape[-1])


def test_precise_statistics_are_the_mean_and_variance_of_the_inputs():
    keras.utils.set_random_seed(0)
    model, conv, bn = conv_bn_model()
    images = np.random.default_rng(1).normal(2.0, 3.0, size=(12, 6, 6, 2)).astype("float32")
    before = moving_statistics(model)
    np.testing.assert_array_equal(before[0][0], 0.0)  # Keras' initial moving mean ...
    np.testing.assert_array_equal(before[0][1], 1.0)  # ... and variance
    PreciseBatchNorm(model, batch_size=4).update({"oa": images})  # 3 batches of 4
    z = numpy_conv_outputs(images, conv)
    mean, variance = moving_statistics(model)[0]
    np.testing.assert_allclose(mean, z.mean(axis=0), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(variance, z.var(axis=0), rtol=1e-5)  # population (biased) variance
    assert bn.momentum == 0.99  # restored after the pass


def test_estimate_leaves_the_moving_statistics_alone():
    model, _, _ = conv_bn_model()
    images = np.ones((4, 6, 6, 2), "float32")
    estimated = PreciseBatchNorm(model, batch_size=4).estimate({"oa": images})
    mean, variance = moving_statistics(model)[0]
    np.testing.assert_array_equal(mean, 0.0)
    np.testing.assert_array_equal(variance, 1.0)
    assert len(estimated) == 1 and estimated[0][0].shape == (3,)


def test_batchnorm_layers_are_found_in_nested_models_once():
    inner_in = keras.Input((4, 4, 1))
    inner = keras.Model(inner_in, keras.layers.BatchNormalization(name="inner_bn")(inner_in), name="inner")
    outer_in = keras.Input((4, 4, 1))
    x = keras.layers.BatchNormalization(name="outer_bn")(inner(outer_in))
    model = keras.Model(outer_in, inner(x))  # the nested model is called twice
    assert [bn.name for bn in batchnorm_layers(model)] == ["inner_bn", "outer_bn"]
    assert set_momentum(model, 0.9) == 2 and all(bn.momentum == 0.9 for bn in batchnorm_layers(model))


@pytest.mark.parametrize(
    "n, size, expected",
    [
        (12, 4, [([0, 1, 2, 3], 4), ([4, 5, 6, 7], 4), ([8, 9, 10, 11], 4)]),
        (10, 4, [([0, 1, 2, 3], 4), ([4, 5, 6, 7], 4), ([6, 7, 8, 9], 2)]),  # last batch: 2 new rows
        (3, 8, [([0, 1, 2], 3)]),
    ],
)
def test_batch_rows_cover_every_row_once_with_one_shape(n, size, expected):
    got = batch_rows(n, size)
    assert [(rows.tolist(), weight) for rows, weight in got] == expected
    assert sum(weight for _, weight in got) == n
