"""No package outside ``olmo_core.nn`` reaches into the OLMo model's modules.

Scorers, losses and trainers use the model's public methods (``forward``; ``hidden_states`` and ``logits``
for scorers that pick positions or pack rows; the ``blocks`` and ``lm_head`` properties), so the model's
internals (the ``transformer`` container, the ``rope`` tables, how blocks are called) can change in one place.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INTERNALS = re.compile(r"\.(transformer|rope)\.|\.blocks\b")
ALLOWED = ROOT / "packages" / "olmo-core" / "src" / "olmo_core" / "nn"


def test_no_module_outside_olmo_core_nn_reaches_into_the_model() -> None:
    sources = sorted(p for p in (ROOT / "packages").glob("*/src/**/*.py") if ALLOWED not in p.parents)
    assert len(sources) > 50  # the scan does see the packages
    offending = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
                 for path in sources
                 for number, line in enumerate(path.read_text().splitlines(), start=1)
                 if INTERNALS.search(line)]
    assert not offending, (
        "these lines reach into the model's internals (.transformer., .rope., .blocks); use the public "
        "OLMo.hidden_states / OLMo.logits / forward instead (see docs/models.md):\n" + "\n".join(offending))
