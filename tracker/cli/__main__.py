"""`python -m tracker.cli`: the same as the `escalations` console script."""
import sys

from tracker.cli.main import main

sys.exit(main())
