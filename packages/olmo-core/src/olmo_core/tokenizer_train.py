"""``olmo tokenizer train``: a byte-level BPE tokenizer, as GPT-NeoX and OLMo use, trained on documents."""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

from olmo_core.config import REQUIRED, non_negative, positive
from olmo_core.documents import Document, document_files, read_documents
from olmo_core.io import write_text
from olmo_core.progress import Progress
from olmo_core.tokenizer import Tokenizer

__all__ = ["TokenizerTrainConfig", "train_tokenizer_command"]

log = logging.getLogger(__name__)

SAMPLE_DOCUMENTS = 2000
OLMO_SPECIAL_TOKENS = ["|||IP_ADDRESS|||", "<|padding|>", "|||EMAIL_ADDRESS|||", "|||PHONE_NUMBER|||", "<|endoftext|>"]


@dataclass(kw_only=True)
class TokenizerTrainConfig:
    """Options of ``olmo tokenizer train``."""

    input: str = REQUIRED
    """Dolma documents: a dataset directory, a directory or glob of JSON-lines files, or one file."""
    output: str = REQUIRED
    """Directory that receives ``tokenizer.json`` and ``report.json``."""
    vocab_size: int = positive(8192)
    """Size of the vocabulary, special tokens included."""
    min_frequency: int = non_negative(2)
    """Merges seen fewer times than this are not learned."""
    max_documents: int | None = positive(None)
    """Train on at most this many documents (all by default)."""
    special_tokens: list[str] = field(default_factory=lambda: list(OLMO_SPECIAL_TOKENS))
    """Tokens added whole, first in the vocabulary (OLMo's PII placeholders, padding and EOS by default)."""


def _texts(files: list[str], limit: int | None, counts: dict[str, int]) -> Iterator[str]:
    with Progress("reading documents", unit="docs") as progress:
        for file in files:
            for item in read_documents(file):
                if not isinstance(item, Document):
                    counts["quarantined"] += 1
                    continue
                if limit is not None and counts["documents"] >= limit:
                    return
                counts["documents"] += 1
                counts["bytes"] += len(item.text.encode("utf-8"))
                progress.advance()
                yield item.text


def train_tokenizer_command(config: TokenizerTrainConfig) -> dict[str, object]:
    """Train a byte-level BPE tokenizer (NFC normalization, GPT-NeoX style) on Dolma documents.

    Writes ``tokenizer.json`` (loadable with ``tokenizer.path=<output>`` anywhere olmo takes a tokenizer)
    and a report with the documents read and the bytes per token on (up to 2,000 of) the training documents.
    """
    files = document_files(config.input)
    from tokenizers import Tokenizer as HFTokenizer  # loaded by the command that needs it, not by every command
    from tokenizers import decoders, models, normalizers, pre_tokenizers, trainers

    backend = HFTokenizer(models.BPE())
    backend.normalizer = normalizers.NFC()
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=config.vocab_size, min_frequency=config.min_frequency,
                                  special_tokens=list(config.special_tokens), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    counts = {"documents": 0, "quarantined": 0, "bytes": 0}
    backend.train_from_iterator(_texts(files, config.max_documents, counts), trainer=trainer)
    eos = "<|endoftext|>" if "<|endoftext|>" in config.special_tokens else config.special_tokens[-1]
    pad = "<|padding|>" if "<|padding|>" in config.special_tokens else None
    tokenizer = Tokenizer(backend, name=f"{config.output.rstrip('/')}/tokenizer.json", json_text=backend.to_str(),
                          eos_token=eos, pad_token=pad)
    sample = list(itertools.islice(_texts(files, config.max_documents, {"documents": 0, "quarantined": 0, "bytes": 0}),
                                   SAMPLE_DOCUMENTS))
    sample_tokens = sum(len(ids) for ids in tokenizer.encode_batch(sample))
    sample_bytes = sum(len(text.encode("utf-8")) for text in sample)
    tokenizer.save(config.output)
    report = {**counts, "files": len(files), "vocab_size": tokenizer.vocab_size,
              "bytes_per_token": round(sample_bytes / max(sample_tokens, 1), 4),
              "bytes_per_token_sample_documents": len(sample), "identity": tokenizer.identity}
    write_text(f"{config.output.rstrip('/')}/report.json", json.dumps(report, indent=2) + "\n")
    log.info(f"trained a {tokenizer.vocab_size}-token BPE tokenizer on {counts['documents']} documents "
             f"({counts['bytes']:,} bytes, {report['bytes_per_token']} bytes/token); quarantined "
             f"{counts['quarantined']}; wrote {config.output.rstrip('/')}/tokenizer.json")
    return report
