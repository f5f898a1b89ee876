"""`python -m node.cli`: the same as the `guildhall` console script."""

import sys

from node.cli import main

sys.exit(main())
