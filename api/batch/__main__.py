"""`python -m api.batch` is `facerec-batch`."""

import sys

from api.batch.cli import main

sys.exit(main())
