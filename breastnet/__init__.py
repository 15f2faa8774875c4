"""breastnet: an open reproduction of BreastNet / DSETM (Shi, Wu, Lv, Guo, IJBBB 2019).

The package follows the study's flow, one layer a sub-package; a layer imports only
the layers before it in this list (`tests/test_layout.py`):

- `breastnet.defaults`: the defaults the Makefile, the command line, the book and the
  notebooks read (profile, workers, weights, results and cache folders).
- `breastnet.data`: records and loaders, checks, OA/HS patches and their cache,
  augmentation, hand-crafted descriptors, patient-grouped splits, BUS-BRA's download (no Keras).
- `breastnet.model`: Table 1 as data (`variants`), backbones, the two-stream network,
  the entropy-regularised loss, BatchNorm statistics.
- `breastnet.train`: profiles, one run (`trainer`), its epoch loop and evaluation,
  metrics, the classical floor's run, runtime (seeds, threads, provenance).
- `breastnet.study`: many runs (`plan`, `sweep`, engines, the held-out protocol), their
  result files (`results`), what to train (`request`), final-model cards (`final`).
- `breastnet.deploy`: a model for use: `fit` one, `predict` images, `evaluate` on other data.
- `breastnet.report`: everything the book shows, from result files (no Keras).
- `breastnet.book`: the notebooks' `Page`, the book's build, publishing (`python -m breastnet.book`).
- `breastnet.cli`: the command line (`python -m breastnet`).
"""

__version__ = "0.1.0"
