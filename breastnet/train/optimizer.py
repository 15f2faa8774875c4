"""The optimiser of a run and its learning-rate schedule.

Optimiser (section 3): SGD, learning rate 1e-3, momentum 0.9, "decay 1e-6".
That is the `decay` argument of Keras 1/2 optimizers, which applied
lr_t = lr / (1 + decay * t) with t the number of *updates* (batches), despite the
paper's "every epoch". Keras 3 removed `decay`; `InverseTimeDecay(1e-3,
decay_steps=1, decay_rate=1e-6)` computes exactly that formula. The initial learning
rate is a profile field (`learning_rate`); the paper's 1e-3 is the `paper` profile's.
The optimiser itself is a profile field too (`optimizer`: "sgd", the paper's and every profile's, or "adam",
measured on BUS-BRA without a gain; benchmarks/LOG.md, 2026-12-03 Adam against SGD) and is named in every result file.
So is the schedule (`lr_schedule`: "inverse_time", the paper's decay above, or
"cosine", measured on BUS-BRA without a gain; benchmarks/LOG.md, 2026-12-06 learning-rate schedule and five folds).
"""

from __future__ import annotations

import keras
import numpy as np

LEARNING_RATE = 1e-3
MOMENTUM = 0.9
DECAY = 1e-6


def paper_optimizer(learning_rate: float = LEARNING_RATE, weight_ema: float | None = None):
    """SGD(lr, momentum 0.9) with the legacy per-update decay of 1e-6 (see module doc).

    `weight_ema`: keep an exponential moving average of the weights with this momentum
    (Keras' `use_ema`; the profile field of the same name), which evaluation swaps in.
    """
    return make_optimizer("sgd", learning_rate, weight_ema)


def make_optimizer(
    name: str = "sgd",
    learning_rate: float = LEARNING_RATE,
    weight_ema: float | None = None,
    lr_schedule: str = "inverse_time",
):
    """The profile's optimiser: "sgd" (the paper's, see module doc) or "adam" (Keras' defaults otherwise).

    `lr_schedule` "cosine": a plain rate, which `cosine_scheduler` sets at each epoch's start
    (instead of the paper's per-update decay, which SGD would otherwise apply).
    """
    if lr_schedule not in ("inverse_time", "cosine"):
        raise ValueError(f"unknown lr_schedule {lr_schedule!r}; known: 'inverse_time', 'cosine'")
    ema = {} if weight_ema is None else {"use_ema": True, "ema_momentum": weight_ema}
    if name == "sgd":
        rate = learning_rate
        if lr_schedule == "inverse_time":
            rate = keras.optimizers.schedules.InverseTimeDecay(
                initial_learning_rate=learning_rate, decay_steps=1, decay_rate=DECAY
            )
        return keras.optimizers.SGD(learning_rate=rate, momentum=MOMENTUM, **ema)
    if name == "adam":
        return keras.optimizers.Adam(learning_rate=learning_rate, **ema)
    raise ValueError(f"unknown optimizer {name!r}; known: 'sgd', 'adam'")


def cosine_rate(learning_rate: float, epochs: int, epoch: int) -> float:
    """The rate of `epoch` (0-based) of `epochs` under the cosine schedule:
    learning_rate * (1 + cos(pi * epoch / epochs)) / 2, from learning_rate down towards 0."""
    return float(learning_rate * 0.5 * (1.0 + np.cos(np.pi * epoch / epochs)))


def cosine_scheduler(learning_rate: float, epochs: int) -> keras.callbacks.LearningRateScheduler:
    """Keras' `LearningRateScheduler` setting `cosine_rate` at the start of every epoch (and
    logging it as `learning_rate`, so each result file's history has the rates used)."""
    return keras.callbacks.LearningRateScheduler(lambda epoch, lr: cosine_rate(learning_rate, epochs, epoch))


def optimizer_description(
    learning_rate: float = LEARNING_RATE, weight_ema: float | None = None, name: str = "sgd", lr_schedule="inverse_time"
) -> str:
    """What `make_optimizer(name, learning_rate, weight_ema, lr_schedule)` is, for result files."""
    if name == "adam":
        text = f"Adam(lr={learning_rate:g}, beta_1=0.9, beta_2=0.999, epsilon=1e-07; not the paper's SGD)"
    elif lr_schedule == "cosine":
        text = f"SGD(lr={learning_rate:g}, momentum={MOMENTUM:g})"
    else:
        text = f"SGD(lr={learning_rate:g}, momentum={MOMENTUM:g}, InverseTimeDecay(decay_steps=1, rate={DECAY:g}))"
    if lr_schedule == "cosine":
        text += ", cosine schedule per epoch to 0 (not the paper's)"
    return text if weight_ema is None else f"{text}, weights evaluated as their EMA (momentum {weight_ema:g})"
