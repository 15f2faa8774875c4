"""The entropy-regularised loss (eq. 3) against values worked out by hand."""

import math

import keras
import numpy as np
import pytest
from keras import ops

from breastnet.model.losses import EntropyRegularizedCrossEntropy, prediction_entropy

Y = np.array([[1.0, 0.0], [0.0, 1.0]], dtype="float32")
P = np.array([[0.8, 0.2], [0.4, 0.6]], dtype="float32")
# By hand: CE = -ln 0.8 = 0.223144, -ln 0.6 = 0.510826
#          H  = -(0.8 ln 0.8 + 0.2 ln 0.2) = 0.500402, -(0.4 ln 0.4 + 0.6 ln 0.6) = 0.673012
CE = np.array([0.223144, 0.510826])
H = np.array([0.500402, 0.673012])


def value(loss, y=Y, p=P):
    return float(ops.convert_to_numpy(loss(y, p)))


def test_alpha_zero_is_keras_categorical_crossentropy():
    ours = value(EntropyRegularizedCrossEntropy(alpha=0.0))
    keras_ce = value(keras.losses.CategoricalCrossentropy())
    assert ours == pytest.approx(keras_ce, abs=1e-6)
    assert ours == pytest.approx(CE.mean(), abs=1e-5)


def test_hand_computed_value():
    # mean(CE) - 0.5 * mean(H) = 0.366985 - 0.5 * 0.586707 = 0.073631
    assert value(EntropyRegularizedCrossEntropy(alpha=0.5)) == pytest.approx(0.073631, abs=1e-5)


@pytest.mark.parametrize(
    "reduction, expected",
    [
        ("sum", (CE - 0.25 * H).sum()),
        ("none", CE - 0.25 * H),
        ("sum_over_batch_size", (CE - 0.25 * H).mean()),
    ],
)
def test_reductions(reduction, expected):
    got = ops.convert_to_numpy(EntropyRegularizedCrossEntropy(alpha=0.25, reduction=reduction)(Y, P))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_entropy_term_lowers_loss_of_less_confident_prediction():
    """Same correct class, less confident: the entropy term gives it a lower penalty."""
    y = np.array([[1.0, 0.0]], dtype="float32")
    confident, hedged = np.array([[0.99, 0.01]], "float32"), np.array([[0.7, 0.3]], "float32")
    loss = EntropyRegularizedCrossEntropy(alpha=1.0)
    penalty = lambda p: value(loss, y, p) - value(EntropyRegularizedCrossEntropy(0.0), y, p)  # noqa: E731
    assert penalty(hedged) < penalty(confident) < 0


def test_uniform_prediction_minimises_the_penalty():
    """-alpha * H(p) over p in the simplex is smallest at p = (0.5, 0.5), where it is -alpha ln 2."""
    grid = np.linspace(0.0, 1.0, 101, dtype="float32")
    p = np.stack([grid, 1 - grid], axis=1)
    penalty = -0.3 * ops.convert_to_numpy(prediction_entropy(p))
    assert grid[np.argmin(penalty)] == pytest.approx(0.5)
    assert penalty.min() == pytest.approx(-0.3 * math.log(2), abs=1e-6)


def test_gradient_pushes_toward_higher_entropy():
    """A gradient step on the logits, with the penalty alone, raises prediction entropy."""
    logits = np.array([[2.0, -1.0]])
    y = np.array([[1.0, 0.0]], dtype="float32")

    def penalty(z):
        p = ops.softmax(ops.convert_to_tensor(z.astype("float32")))
        return value(EntropyRegularizedCrossEntropy(1.0), y, p) - value(EntropyRegularizedCrossEntropy(0.0), y, p)

    eps = 1e-3  # central differences: backend-agnostic and enough for the sign
    grad = np.array([[(penalty(logits + eps * d) - penalty(logits - eps * d)) / (2 * eps) for d in np.eye(2)]])
    step = logits - 0.1 * grad
    h = lambda z: float(ops.convert_to_numpy(prediction_entropy(ops.softmax(z.astype("float32"))))[0])  # noqa: E731
    assert h(step) > h(logits)


def test_loss_entropy_and_recorded_entropy_are_one_formula():
    """The loss's H(p) (keras.ops) and the one result files record (NumPy) agree where their floors do not bite."""
    from breastnet.train.metrics import prediction_entropy_np

    p = np.array([[0.5, 0.5], [0.99, 0.01], [0.7, 0.3], [1.0, 0.0]], "float32")
    keras_h = ops.convert_to_numpy(prediction_entropy(p))
    assert keras_h == pytest.approx(prediction_entropy_np(p), rel=1e-6, abs=1e-6)


def test_no_nan_at_zero_and_one():
    y = np.array([[1.0, 0.0], [0.0, 1.0]], "float32")
    p = np.array([[1.0, 0.0], [1.0, 0.0]], "float32")  # one right and certain, one wrong and certain
    got = value(EntropyRegularizedCrossEntropy(alpha=0.25), y, p)
    assert math.isfinite(got)
    # Right and certain: CE 0, H 0. Wrong and certain: CE = -ln(eps), clipped like Keras.
    assert got == pytest.approx(-math.log(keras.backend.epsilon()) / 2, rel=1e-3)


def test_alpha_can_be_a_variable_read_at_call_time():
    alpha = keras.Variable(0.0, trainable=False)
    loss = EntropyRegularizedCrossEntropy(alpha=alpha)
    before = value(loss)
    alpha.assign(0.5)
    assert value(loss) == pytest.approx(before - 0.5 * H.mean(), abs=1e-5)


def test_serialization_round_trip():
    loss = EntropyRegularizedCrossEntropy(alpha=keras.Variable(0.25), reduction="sum", name="erl")
    config = loss.get_config()
    assert config["alpha"] == pytest.approx(0.25) and isinstance(config["alpha"], float)
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(loss))
    assert isinstance(restored, EntropyRegularizedCrossEntropy)
    assert restored.get_config() == config
    assert value(restored) == pytest.approx(value(loss))


# Sample weights, as in Keras' losses_test.py. By hand, alpha 0.5: per-sample losses
# CE - 0.5 H = 0.223144 - 0.250201 = -0.027057 and 0.510826 - 0.336506 = 0.174320.
L_HALF = np.array([-0.027057, 0.174320])


def test_scalar_sample_weight_scales_the_loss():
    loss = EntropyRegularizedCrossEntropy(alpha=0.5)
    got = float(ops.convert_to_numpy(loss(Y, P, sample_weight=2.3)))
    assert got == pytest.approx(2.3 * L_HALF.mean(), abs=1e-5)  # 2.3 * 0.073631 = 0.169352


def test_per_sample_weights_weight_each_image():
    # (1.2 * -0.027057 + 3.4 * 0.174320) / 2 = (-0.032468 + 0.592688) / 2 = 0.280110: Keras'
    # sum_over_batch_size divides by the batch size, not by the sum of the weights.
    loss = EntropyRegularizedCrossEntropy(alpha=0.5)
    got = float(ops.convert_to_numpy(loss(Y, P, sample_weight=np.array([1.2, 3.4], "float32"))))
    assert got == pytest.approx(0.280110, abs=1e-5)
    summed = EntropyRegularizedCrossEntropy(alpha=0.5, reduction="sum")
    got_sum = float(ops.convert_to_numpy(summed(Y, P, sample_weight=np.array([1.2, 3.4], "float32"))))
    assert got_sum == pytest.approx(0.560220, abs=1e-5)


def test_zero_weight_removes_an_image():
    """A zero-weighted row (a padded evaluation row) contributes nothing to the sum."""
    loss = EntropyRegularizedCrossEntropy(alpha=0.5, reduction="sum")
    got = float(ops.convert_to_numpy(loss(Y, P, sample_weight=np.array([0.0, 1.0], "float32"))))
    assert got == pytest.approx(L_HALF[1], abs=1e-5)
    assert float(ops.convert_to_numpy(loss(Y, P, sample_weight=np.zeros(2, "float32")))) == 0.0
