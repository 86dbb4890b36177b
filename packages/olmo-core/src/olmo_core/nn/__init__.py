"""The OLMo model: configuration, presets and parameter counts here, without torch.

``import olmo_core.nn`` never imports torch. The model (:mod:`olmo_core.nn.model`), generation
(:mod:`olmo_core.nn.generate`) and transformers interop (:mod:`olmo_core.nn.hf`) need the ``torch`` extra
and are imported from their modules.
"""

from typing import Any

from olmo_core.nn.config import PRESETS, OLMoConfig, num_non_embedding_params, num_params

__all__ = ["PRESETS", "OLMoConfig", "num_non_embedding_params", "num_params", "unwrap_model"]


def unwrap_model(model: Any) -> Any:
    """The module behind ``model``'s wrappers, however nested: DDP's (and FSDP1's) ``module``,
    ``torch.compile``'s ``_orig_mod``. ``model`` itself when it is not wrapped (FSDP2's ``fully_shard``
    shards a model in place, so an FSDP2 model comes back as it is, its parameters sharded)."""
    for _ in range(8):  # wrappers nest a few levels deep at most; never loop on a module that holds itself
        inner = getattr(model, "module", None)
        inner = inner if inner is not None else getattr(model, "_orig_mod", None)
        if inner is None:
            return model
        model = inner
    return model
