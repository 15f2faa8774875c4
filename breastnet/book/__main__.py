"""`python -m breastnet.book ...`: build the book (`breastnet.book.build`)."""

import sys

from .build import main

if __name__ == "__main__":
    sys.exit(main())
