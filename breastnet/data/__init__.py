"""The data layer: records and loaders, checks, OA/HS patches, descriptors, splits.

Flow: `load` (find the layout, read it, or make the `synthetic` phantoms) ->
`checks` (every problem of every image, named) -> `patches` (OA/HS crops, cached
by `cache`) and `descriptors` (the classical floor's lesion features) -> `splits`
(patient-grouped CV, the limited-data subset). Nothing here imports Keras, except
`patches`' optional progress bar.
"""

from .load import detect_layout, load_dataset
from .problems import DataError, Problem
from .records import DATA_ENV, Dataset, Record, default_cache_dir, resolve_data_path

__all__ = [
    "DATA_ENV",
    "DataError",
    "Dataset",
    "Problem",
    "Record",
    "default_cache_dir",
    "detect_layout",
    "load_dataset",
    "resolve_data_path",
]
