"""Small random transformers causal LMs of other architectures, built offline (for tests and benchmarks)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from olmo_core.model_commands import write_hf_tokenizer
from olmo_core.tokenizer import Tokenizer

__all__ = ["ARCHITECTURES", "save_random"]

ARCHITECTURES = ("gpt2", "gpt_neox", "llama")


def _config(architecture: str) -> Any:
    import transformers

    small = {"vocab_size": 50304, "initializer_range": 0.3}
    return {
        "gpt2": lambda: transformers.GPT2Config(n_embd=32, n_layer=2, n_head=2, n_positions=256, **small),
        "gpt_neox": lambda: transformers.GPTNeoXConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                                                       intermediate_size=64, max_position_embeddings=256, **small),
        "llama": lambda: transformers.LlamaConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                                  num_key_value_heads=2, intermediate_size=64,
                                                  max_position_embeddings=256, **small),
    }[architecture]()


def save_random(architecture: str, path: Path, tokenizer: Tokenizer) -> Path:
    """A random two-layer model of ``architecture`` (one of :data:`ARCHITECTURES`) saved at ``path`` with
    ``tokenizer`` (and the tokenizer config files that ``olmo model export-hf`` writes)."""
    import transformers

    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(_config(architecture))
    model.save_pretrained(path)
    write_hf_tokenizer(tokenizer, path, max_length=model.config.max_position_embeddings)
    return path
