"""``python -m olmo_core`` runs the ``olmo`` command."""

import gc
import sys

# The collector rests while olmo's modules import, as for the rest of start-up (olmo_core.cli.collector); the
# modules live as long as the process, so they stay out of its collections (frozen) once it collects again.
gc.disable()
from olmo_core.cli import main  # noqa: E402

gc.freeze()
gc.enable()
sys.exit(main())
