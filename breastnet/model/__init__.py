"""The model layer: Table 1 as data (`variants`), the backbones and the network built
from them (`backbones`, `network`), the entropy-regularised loss (`losses`) and the
BatchNorm statistics evaluation uses (`batchnorm`).

`variants` is plain data and `entropy` (the prediction entropy, for `keras.ops` and NumPy) a
formula: they import nothing heavy; the other modules import Keras.
"""
