"""breastnet: an open reproduction of BreastNet / DSETM (Shi, Wu, Lv, Guo, IJBBB 2019).

Modules, one concern each: `data` (records and loaders), `synthetic` (phantoms),
`checks` (dataset problems), `patches` (OA/HS patches, cache, augmentation),
`splits` (patient-grouped CV, limited subset), `variants` (Table 1 as data),
`models` (two-stream DenseNet-121), `losses` (entropy-regularised loss),
`metrics`, `training` (one run), `sweep` (many runs, resumable), `results`
(result files), `profiles` (scale), `runtime` (seeds, provenance).
Heavy modules import Keras; import them directly (``from breastnet.models import ...``).
"""

__version__ = "0.1.0"
