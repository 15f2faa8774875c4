"""`python -m breastnet ...`: the command line (`breastnet.cli`)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
