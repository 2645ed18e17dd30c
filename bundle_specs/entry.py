"""Entry point of the frozen app: the same CLI as `python -m app`."""

import multiprocessing
import sys

from app.cli.main import main

if __name__ == "__main__":
    multiprocessing.freeze_support()  # worker processes of extract/merge in a frozen build
    sys.exit(main())
