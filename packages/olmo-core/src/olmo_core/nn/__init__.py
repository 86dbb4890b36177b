"""The OLMo model: configuration, presets and parameter counts here, without torch.

``import olmo_core.nn`` never imports torch. The model (:mod:`olmo_core.nn.model`), generation
(:mod:`olmo_core.nn.generate`) and transformers interop (:mod:`olmo_core.nn.hf`) need the ``torch`` extra
and are imported from their modules.
"""

from olmo_core.nn.config import PRESETS, OLMoConfig, num_non_embedding_params, num_params

__all__ = ["PRESETS", "OLMoConfig", "num_non_embedding_params", "num_params"]
