"""Registration of the model, and the torch-free import of its configuration."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from olmo_core.kinds import KINDS
from olmo_core.nn import PRESETS, OLMoConfig, num_params
from olmo_core.nn.register import build_olmo, register_models
from olmo_core.registry import Registry, make_register


@pytest.fixture
def models() -> Registry:
    registry = Registry(KINDS["models"])
    register_models(make_register(registry, plugin="core", distribution="olmo-core"))
    return registry


def test_registers_olmo_with_its_presets(models: Registry) -> None:
    component = models.get("olmo")
    assert component.config is OLMoConfig and component.factory is build_olmo
    assert component.help.startswith("The OLMo decoder")
    assert set(models.options()) == {"olmo", *PRESETS}
    assert {"olmo1-1b", "olmo1-7b", "olmo2-1b", "olmo2-7b", "olmo-tiny", "olmo-small", "olmo-medium"} <= set(PRESETS)


def test_builds_a_preset_and_a_composed_config(models: Registry) -> None:
    import torch

    tiny = models.build("olmo-tiny")
    assert isinstance(tiny, torch.nn.Module)
    assert sum(p.numel() for p in tiny.parameters()) == num_params(PRESETS["olmo-tiny"])
    composed = models.build({"_name_": "olmo", "d_model": 32, "n_layers": 1, "n_heads": 2, "mlp_hidden_size": 64,
                             "vocab_size": 100, "eos_token_id": 0})
    assert composed.config.embedding_size == 128
    assert composed(torch.zeros(1, 3, dtype=torch.long)).shape == (1, 3, 128)


def run_without_torch(code: str) -> subprocess.CompletedProcess[str]:
    blocker = "import sys; sys.modules['torch'] = None\n"  # any `import torch` now fails
    return subprocess.run([sys.executable, "-W", "error", "-c", blocker + textwrap.dedent(code)],
                          capture_output=True, text=True, timeout=120)


def test_config_and_registration_import_without_torch() -> None:
    result = run_without_torch("""
        import olmo_core.nn, olmo_core.nn.config, olmo_core.nn.register
        assert olmo_core.nn.num_params(olmo_core.nn.PRESETS["olmo1-7b"]) == 6_888_095_744
        from olmo_core.errors import MissingDependencyError
        try:
            olmo_core.nn.register.build_olmo(olmo_core.nn.OLMoConfig())
        except MissingDependencyError as exc:
            print(exc)
    """)
    assert result.returncode == 0, result.stderr
    assert "the OLMo model needs olmo-core[torch]" in result.stdout
