"""The prediction entropy H(p) = -sum_c p_c log p_c, written once for `keras.ops` and for NumPy.

`breastnet.model.losses` uses it inside the loss (eq. 3, differentiated by the backend) and
`breastnet.train.metrics` records it per test image (NumPy, float64). It imports neither
Keras nor a backend.
"""

from __future__ import annotations


def entropy(p, epsilon: float, xp):
    """Shannon entropy (nats) of each row of probabilities; 0 * log 0 counts as 0.

    Args:
        p: (..., C) probabilities, an array of `xp`.
        epsilon: floor inside the log, so p = 0 gives neither NaN nor an infinite gradient.
        xp: the array functions: `keras.ops` or `numpy` (sum, log and clip are used).
    """
    return -xp.sum(p * xp.log(xp.clip(p, epsilon, 1.0)), axis=-1)
