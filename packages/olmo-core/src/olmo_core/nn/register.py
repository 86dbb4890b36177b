"""Registration of the OLMo model with the ``models`` registry (torch is imported only to build it)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from olmo_core.errors import MissingDependencyError
from olmo_core.nn.config import PRESETS, OLMoConfig

if TYPE_CHECKING:
    from olmo_core.nn.model import OLMo
    from olmo_core.registry import Register

__all__ = ["build_olmo", "register_models"]


def build_olmo(config: OLMoConfig) -> OLMo:
    """The OLMo decoder (OLMo-1 or OLMo-2 architecture), freshly initialized."""
    try:
        import torch  # noqa: F401
    except ModuleNotFoundError as exc:
        raise MissingDependencyError("the OLMo model", distribution="olmo-core", extra="torch") from exc
    from olmo_core.nn.model import OLMo

    return OLMo(config)


def register_models(register: Register) -> None:
    """Register ``olmo`` with its presets (``olmo1-1b``, ``olmo2-7b``, ``olmo-tiny`` ...)."""
    register("olmo", build_olmo, config=OLMoConfig, presets=PRESETS)
