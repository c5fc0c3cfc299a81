"""`python -m sentiment` is the `sentiment` command (used where a process starts another)."""
import sys

from sentiment.cli import main

sys.exit(main())
