"""breastnet: an open reproduction of BreastNet / DSETM (Shi, Wu, Lv, Guo, IJBBB 2019).

The package follows the study's flow, one layer a sub-package; a layer imports only
the layers above it in this list:

- `breastnet.data`: records and loaders, checks, OA/HS patches and their cache,
  augmentation, hand-crafted descriptors, patient-grouped splits (no Keras).
- `breastnet.model`: Table 1 as data (`variants`), backbones, the two-stream network,
  the entropy-regularised loss, BatchNorm statistics.
- `breastnet.train`: profiles, one run (`trainer`), its epoch loop and evaluation,
  metrics, the classical floor's run, runtime (seeds, threads, provenance).
- `breastnet.study`: many runs (`plan`, `sweep`) and their result files (`results`).
- `breastnet.report`: everything the book shows, from result files (no Keras).
- `breastnet.book` and `python -m breastnet`: the book build and the command line.
"""

__version__ = "0.1.0"
