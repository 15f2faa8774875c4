"""The model layer: Table 1 as data (`variants`), the backbones and the network built
from them (`backbones`, `network`), the entropy-regularised loss (`losses`) and the
BatchNorm statistics evaluation uses (`batchnorm`).

`variants` is plain data and imports nothing heavy; the other modules import Keras.
"""
