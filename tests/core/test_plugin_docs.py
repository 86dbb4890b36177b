"""The plugin examples of docs/plugins.md run as written, and none imports torch at module level."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Each example is run as a module's top level (definitions only), in one fresh interpreter; the names the
# examples leave to the reader are defined first.
RUN = """
import json, sys
results = []
for block in json.loads(sys.argv[1]):
    namespace = {"my_site_defaults": lambda: None}
    exec(compile(block, "<docs/plugins.md>", "exec"), namespace)
    results.append("torch" in sys.modules)
print(json.dumps(results))
"""


def plugin_examples() -> list[str]:
    text = (ROOT / "docs" / "plugins.md").read_text()
    return [block for block in re.findall(r"```python\n(.*?)```", text, re.S) if "@hookimpl" in block]


def test_plugin_examples_keep_torch_out_of_module_level() -> None:
    blocks = plugin_examples()
    assert any("olmo_register_tasks" in b for b in blocks) and any("olmo_select_train_backend" in b for b in blocks)
    run = subprocess.run([sys.executable, "-c", RUN, json.dumps(blocks)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    imported = json.loads(run.stdout)
    assert not any(imported), [b.splitlines()[:3] for b, t in zip(blocks, imported, strict=True) if t]
