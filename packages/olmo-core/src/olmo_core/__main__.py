"""``python -m olmo_core`` runs the ``olmo`` command."""

import sys

from olmo_core.cli import main

sys.exit(main())
