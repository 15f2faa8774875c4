"""A trained model for use: `fit` one, `predict` images of one's own, `evaluate` it on other data.

- `fit`: `python -m breastnet fit`: one variant on the whole study dataset, saved with its card;
- `predict`: `python -m breastnet predict`: p(malignant) of an image and its mask, or of a manifest;
- `evaluate`: `python -m breastnet evaluate` (one model) and `external` (the study's final models)
  on another dataset, with patient-clustered intervals.
"""
