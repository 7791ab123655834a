"""`python -m batch` is `facerec-batch`."""

import sys

from batch.cli import main

sys.exit(main())
