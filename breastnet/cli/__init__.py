"""The command line, `python -m breastnet ...`: `main` parses and dispatches.

- `main`: train, sweep, plan, check, patches, summary;
- `models`: fit, predict, evaluate, external, phantoms (`breastnet.deploy`);
- `data`: data busbra (`breastnet.data.download`);
- `options`: the options the training commands share, parsed into a `TrainRequest`.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter, before it is imported

from .main import main  # noqa: E402

__all__ = ["main"]
