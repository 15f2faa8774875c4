"""The train layer: one run, from patches to a result.

`profiles` (every knob of a study's scale), `runtime` (seeds, threads, provenance),
`batches` (what a run trains on), `loop` (the epoch loop and its evaluation),
`trainer` (compile once per architecture, re-initialise per run), `metrics` and
`result` (the Keras-free blocks of a result file), `floor` (the classical floor's run).
"""
