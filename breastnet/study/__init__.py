"""The study layer: many runs, resumable.

`plan` (the data, splits and runs of a study, and its folder), `sweep` (train what is
missing, in worker processes), `results` (atomic, validated result files).
"""
