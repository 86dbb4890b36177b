"""``olmo model init|info|export-hf|import-hf`` and ``olmo generate``."""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_core.artifacts import require_checkpoint
from olmo_core.chat_template import TULU_CHAT_TEMPLATE
from olmo_core.config import NAME_KEY, REQUIRED, component, names, non_negative, positive
from olmo_core.errors import ConfigError, MissingDependencyError
from olmo_core.io import write_text
from olmo_core.plugins import get_host
from olmo_core.tokenizer import Tokenizer, check_tokenizer_fits, load_tokenizer, read_hf_tokenizer

__all__ = ["ExportConfig", "GenerateConfig", "ImportConfig", "InfoConfig", "InitConfig",
           "eval_model_runtimes", "find_model", "load_causal_lm", "write_hf_tokenizer"]

log = logging.getLogger(__name__)


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("model commands", distribution="olmo-core", extra="torch") from None
    return torch


@dataclass(kw_only=True)
class InitConfig:
    """Options of ``olmo model init``."""

    model: Any = component("models", default="olmo-tiny", help="architecture or preset")
    seed: int = 0
    """Seed of the initialization: the same seed gives the same weights."""
    output: str = REQUIRED
    """The checkpoint directory to write."""
    tokenizer: str = names("tokenizers", "olmo-v1.5")
    """Tokenizer saved with the model: a registered name or a path to a tokenizer.json."""


def init_command(config: InitConfig) -> Path:
    """Initialize a model from a preset and write it as a step-0 checkpoint with its tokenizer."""
    from olmo_core.model_io import save_model

    torch = _torch()
    tokenizer = load_tokenizer(config.tokenizer)
    check_tokenizer_fits(tokenizer, vocab_size=getattr(config.model, "vocab_size", None), where="model",
                         hint=f"set model.vocab_size={tokenizer.vocab_size} or pick another tokenizer")
    torch.manual_seed(config.seed)
    model = get_host().registry("models").build(config.model)
    path = save_model(config.output, model, config.model, tokenizer=tokenizer, trainer={"step": 0, "seed": config.seed})
    total = sum(p.numel() for p in model.parameters())
    log.info(f"wrote {path}: {config.model[NAME_KEY] if isinstance(config.model, dict) else config.model._name_} "
             f"with {total:,} parameters, seed {config.seed}, tokenizer {tokenizer.name}")
    return path


@dataclass(kw_only=True)
class InfoConfig:
    """Options of ``olmo model info``."""

    checkpoint: str = REQUIRED
    """A model checkpoint directory, or a run directory (its newest checkpoint)."""
    json: bool = False
    """Print JSON instead of text."""


def parameter_counts(model: Any) -> tuple[int, int]:
    """(total, non-embedding) parameter counts of a module; a model may define ``num_non_embedding_params``."""
    torch = _torch()
    total = sum(p.numel() for p in model.parameters())
    if hasattr(model, "num_non_embedding_params"):
        return total, int(model.num_non_embedding_params())
    embedding = sum(m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Embedding))
    return total, total - embedding


def info_command(config: InfoConfig) -> dict[str, Any]:
    """Print a checkpoint's model config, parameter counts (total and non-embedding), tokenizer and step."""
    from olmo_core.checkpoint import verify_checkpoint

    torch = _torch()
    path = Path(require_checkpoint(config.checkpoint))
    manifest = verify_checkpoint(path)
    documents = {n: json.loads((path / f"{n}.json").read_text()) for n in manifest["documents"]}
    model_config = documents.get("model_config")
    if model_config is None:
        raise ConfigError(f"{path} is not a model checkpoint (no model_config.json)")
    with torch.device("meta"):
        model = get_host().registry("models").build(model_config)
    total, non_embedding = parameter_counts(model)
    info = {"checkpoint": str(path), "step": documents.get("trainer", {}).get("step"), "model": model_config,
            "parameters": total, "non_embedding_parameters": non_embedding,
            "tokenizer": documents.get("tokenizer_identity"),
            "bytes": sum(f["bytes"] for f in manifest["files"].values())}
    if config.json:
        print(json.dumps(info, indent=2))
        return info
    print(f"checkpoint: {path} (step {info['step']}, {info['bytes'] / 1e6:,.1f} MB)")
    print(f"model: {model_config[NAME_KEY]}")
    for key, value in model_config.items():
        if key != NAME_KEY:
            print(f"  {key}: {value}")
    print(f"parameters: {total:,} total, {non_embedding:,} non-embedding")
    if info["tokenizer"]:
        t = info["tokenizer"]
        print(f"tokenizer: {t['name']} (vocab {t['vocab_size']}, eos {t['eos_token_id']}, pad {t['pad_token_id']})")
    return info


@dataclass(kw_only=True)
class ExportConfig:
    """Options of ``olmo model export-hf``."""

    checkpoint: str = REQUIRED
    """The olmo model checkpoint to export, or a run directory (its newest checkpoint)."""
    output: str = REQUIRED
    """Directory for the transformers model and tokenizer files."""
    overwrite: bool = False
    """Replace an existing output; without it, an existing output is refused."""


def export_hf_command(config: ExportConfig) -> Path:
    """Write a checkpoint as a transformers model directory (OlmoForCausalLM or Olmo2ForCausalLM) with its
    tokenizer, loadable with ``AutoModelForCausalLM.from_pretrained`` and ``AutoTokenizer.from_pretrained``."""
    from olmo_core.model_io import load_model
    from olmo_core.nn.hf import save_hf
    from olmo_core.nn.model import OLMo

    checkpoint, out = require_checkpoint(config.checkpoint), Path(config.output)
    _check_output(out, overwrite=config.overwrite)
    loaded = load_model(checkpoint)
    if not isinstance(loaded.model, OLMo):
        raise ConfigError(f"{checkpoint} holds a '{loaded.config[NAME_KEY]}' model: only OLMo models export "
                          f"to transformers")
    if out.is_dir():
        shutil.rmtree(out)  # overwrite=true: no file of the old output stays beside the new one
    elif out.exists():
        out.unlink()
    save_hf(loaded.model, out)
    if loaded.tokenizer is not None:
        write_hf_tokenizer(loaded.tokenizer, out, max_length=loaded.model.config.max_sequence_length)
    log.info(f"exported {checkpoint} to {out} (transformers {_hf_class(loaded.model)})")
    return out


def _check_output(out: Path, *, overwrite: bool) -> None:
    """Refuse an existing output (a file, or a directory with anything in it) unless ``overwrite``."""
    if out.exists() and not overwrite and (not out.is_dir() or any(out.iterdir())):
        raise ConfigError(f"output={out} already exists: choose another output= or add overwrite=true to replace it")


def _hf_class(model: Any) -> str:
    return "Olmo2ForCausalLM" if model.config.block == "olmo2" else "OlmoForCausalLM"


def write_hf_tokenizer(tokenizer: Tokenizer, directory: Path, *, max_length: int) -> None:
    """``tokenizer.json`` plus the config files that ``AutoTokenizer.from_pretrained`` reads, with the Tulu chat
    template."""
    tokenizer.save(str(directory))
    special = {"eos_token": tokenizer.eos_token, "bos_token": tokenizer.eos_token, "unk_token": tokenizer.eos_token}
    if tokenizer.pad_token:
        special["pad_token"] = tokenizer.pad_token
    tokenizer_config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": max_length,
                        "clean_up_tokenization_spaces": False, "chat_template": TULU_CHAT_TEMPLATE, **special}
    write_text(str(directory / "tokenizer_config.json"), json.dumps(tokenizer_config, indent=2) + "\n")
    write_text(str(directory / "special_tokens_map.json"), json.dumps(special, indent=2) + "\n")


@dataclass(kw_only=True)
class ImportConfig:
    """Options of ``olmo model import-hf``."""

    checkpoint: str = REQUIRED
    """A transformers OlmoForCausalLM or Olmo2ForCausalLM directory, with its tokenizer.json."""
    output: str = REQUIRED
    """The olmo checkpoint directory to write."""
    tokenizer: str | None = None
    """The tokenizer to save with the model, when it is not the directory's tokenizer.json: a registered name
    (``olmo-v1.5``) or a path to a tokenizer.json."""
    overwrite: bool = False
    """Replace an existing output; without it, an existing output is refused."""


def import_hf_command(config: ImportConfig) -> Path:
    """Convert a transformers OLMo or OLMo-2 directory and its tokenizer into an olmo checkpoint."""
    from olmo_core.model_io import save_model
    from olmo_core.nn.hf import load_hf

    source, out = Path(config.checkpoint), Path(config.output)
    _check_transformers_source(source)
    _check_output(out, overwrite=config.overwrite)
    tokenizer = load_tokenizer(config.tokenizer) if config.tokenizer else read_hf_tokenizer(source)
    if tokenizer is None:
        raise ConfigError(f"{source} has no tokenizer.json: name the model's tokenizer with tokenizer=<name or path "
                          f"to a tokenizer.json> (olmo-v1.5 for AllenAI's OLMo-1 models)")
    model = load_hf(source)
    check_tokenizer_fits(tokenizer, vocab_size=model.config.vocab_size, where=str(source),
                         hint="name the model's own tokenizer with tokenizer=...")
    node = {NAME_KEY: "olmo", **dataclasses.asdict(model.config)}
    path = save_model(out, model, node, tokenizer=tokenizer, trainer={"step": 0, "imported_from": str(source)})
    log.info(f"imported {source} into {path} with tokenizer {tokenizer.name}")
    return path


def _check_transformers_source(source: Path) -> None:
    """Refuse an ``import-hf`` source that is not a transformers model directory, saying what it is: an olmo
    checkpoint or training run (which needs no import), an unfinished olmo run, or a folder without a
    transformers ``config.json``."""
    from olmo_core.artifacts import INCOMPLETE, Checkpoint, checkpoint_step_dir, transformers_model_type
    from olmo_core.checkpoint import MANIFEST

    step = Path(checkpoint_step_dir(str(source)))
    if (step / MANIFEST).is_file():
        what = "an olmo checkpoint" if step == source else f"an olmo training run (newest checkpoint: {step})"
        raise ConfigError(f"checkpoint={source} is {what}, not a transformers model: it needs no import (olmo "
                          f"commands read it as it is); `olmo model export-hf checkpoint={source} output=<dir>` "
                          f"makes a transformers model of it")
    if (source / INCOMPLETE).exists():
        raise ConfigError(f"checkpoint={Checkpoint(path=str(source)).problem()}")
    if not (source / "config.json").is_file():
        raise ConfigError(f"checkpoint={source} is not a transformers model directory (it has no config.json)")
    if not transformers_model_type(str(source)):
        raise ConfigError(f"checkpoint={source} is not a transformers model directory (its config.json has no "
                          f"model_type)")


def eval_model_runtimes() -> list[Any]:
    """The registered ``eval_models`` runtimes (components) in the order :func:`find_model` asks them: the
    plugins' first, in the order pluggy calls their hooks (``tryfirst`` ones first, the built-ins, ``trylast``,
    last), each plugin's in the order it registered them. (The registry holds them in registration order, which
    is the reverse, built-ins first, so that a clash is the third party's error.)"""
    host = get_host()
    registry = host.registry("eval_models")
    impls = host.pm.hook.olmo_register_eval_models.get_hookimpls()  # in registration order: trylast first
    rank = {impl.plugin_name: i for i, impl in enumerate(reversed(impls))}
    return sorted(registry, key=lambda entry: rank.get(entry.plugin, len(rank)))  # stable: keeps each plugin's


def find_model(path: str | Path) -> tuple[Path, str, Any]:
    """``(directory, kind, runtime)`` of the first ``eval_models`` runtime that finds a model at ``path`` (an
    olmo step directory, a run directory's newest checkpoint, a transformers directory ...): plugins' runtimes
    are asked before the built-ins (``olmo``, ``hf``, ``transformers``, in that order), so that a plugin can
    take over a directory olmo recognises (see :func:`eval_model_runtimes`)."""
    root = Path(path)
    if not root.is_dir():
        raise ConfigError(f"checkpoint={path}: no such directory")
    for entry in eval_model_runtimes():
        runtime = entry.build()
        directory = runtime.find(root)
        if directory is not None:
            return directory, entry.name, runtime
    raise ConfigError(f"checkpoint={path} is neither an olmo checkpoint (manifest.json), a run directory with "
                      f"checkpoints/stepN, nor a transformers directory (config.json and its weights)")


def load_causal_lm(path: str | Path) -> tuple[Any, Tokenizer]:
    """The model at ``path`` (see :func:`find_model`) in eval mode, called as ``model(input_ids) -> logits``,
    and the tokenizer saved beside it."""
    directory, _, runtime = find_model(path)
    tokenizer = runtime.tokenizer(directory)
    if tokenizer is None:
        raise ConfigError(f"{directory} has no tokenizer.json: generation needs the model's tokenizer")
    model, _ = runtime.load(directory, "cpu")
    check_tokenizer_fits(tokenizer, vocab_size=model.config.vocab_size, where=str(directory),
                         hint="the model was not saved with its own tokenizer")
    return model.eval(), tokenizer


@dataclass(kw_only=True)
class GenerateConfig:
    """Options of ``olmo generate``."""

    checkpoint: str = REQUIRED
    """An olmo checkpoint, a run directory (its newest checkpoint) or a transformers directory, with its
    tokenizer."""
    prompt: str = REQUIRED
    """The text to continue."""
    max_new_tokens: int = positive(64)
    """Most tokens to generate (fewer if the model ends the text)."""
    temperature: float = non_negative(0.0)
    """0 for greedy decoding; above 0 samples from the softmax at this temperature."""
    top_p: float = positive(1.0)
    """Nucleus sampling: sample from the smallest set of tokens whose probability reaches top_p."""
    seed: int = 0
    """Seed of the sampler."""


def generate_command(config: GenerateConfig) -> str:
    """Continue a prompt with a model: greedy or top-p sampling."""
    from olmo_core.nn.generate import generate

    torch = _torch()
    model, tokenizer = load_causal_lm(config.checkpoint)
    ids = torch.tensor([tokenizer.encode(config.prompt)], dtype=torch.long)
    generator = torch.Generator().manual_seed(config.seed)
    out = generate(model, ids, max_new_tokens=config.max_new_tokens, temperature=config.temperature,
                   top_p=config.top_p, eos_token_id=tokenizer.eos_token_id, generator=generator)
    text = tokenizer.decode(out[0, ids.shape[1]:].tolist(), skip_special_tokens=True)
    print(config.prompt + text)
    return text
