"""The entropy-regularised loss of section 2.2 (equations 2 and 3).

    L = CE(y, p) - alpha * H(p),    H(p) = -sum_c p_c log p_c

averaged over the batch ("- alpha / b * H" of eq. 3 with H summed over the
batch). Since KL(p || uniform) = log C - H(p), subtracting alpha*H is adding
alpha*KL(p || u) up to a constant: the penalty pushes predictions toward the
uniform distribution, i.e. it *raises* prediction entropy. With alpha = 0 this
is exactly Keras' categorical cross-entropy on probabilities. For the
multi-task variants the BI-RADS MSE term of eq. 1 is a second, equally weighted
Keras loss on the regression output (see `breastnet.train.trainer.compile_model`).

Only `keras.ops` is used, so it runs on the TensorFlow, JAX and PyTorch backends.
"""

from __future__ import annotations

import keras
from keras import ops

from .entropy import entropy


def prediction_entropy(y_pred, epsilon: float | None = None):
    """Shannon entropy (nats) of each row of probabilities; 0 * log 0 counts as 0.

    Args:
        y_pred: (..., C) probabilities.
        epsilon: floor inside the log, so p = 0 gives neither NaN nor an infinite gradient.
    """
    eps = keras.backend.epsilon() if epsilon is None else epsilon
    return entropy(ops.convert_to_tensor(y_pred), eps, ops)


@keras.saving.register_keras_serializable(package="breastnet")
class EntropyRegularizedCrossEntropy(keras.losses.Loss):
    """Categorical cross-entropy minus alpha times the prediction entropy (eq. 3).

    Args:
        alpha: weight of the entropy term; a float, or a `keras.Variable` so that a
            compiled model can change alpha between runs without being retraced.
        epsilon: probability floor (Keras' epsilon by default), as in Keras' own
            categorical cross-entropy.
        reduction: Keras reduction; the default averages over the batch.
        name: loss name.
    """

    def __init__(
        self,
        alpha=0.0,
        epsilon: float | None = None,
        reduction="sum_over_batch_size",
        name="entropy_regularized_crossentropy",
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.alpha = alpha
        self.epsilon = keras.backend.epsilon() if epsilon is None else float(epsilon)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        # Same normalisation and clipping as keras.losses.categorical_crossentropy.
        y_pred = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
        clipped = ops.clip(y_pred, self.epsilon, 1.0 - self.epsilon)
        cross_entropy = -ops.sum(y_true * ops.log(clipped), axis=-1)
        alpha = ops.cast(self.alpha, y_pred.dtype)
        return cross_entropy - alpha * prediction_entropy(y_pred, self.epsilon)

    def get_config(self):
        config = super().get_config()
        config.update({"alpha": float(ops.convert_to_numpy(self.alpha)), "epsilon": self.epsilon})
        return config
