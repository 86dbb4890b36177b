"""Presets of ``olmo pipeline``: ``pipeline=<name>`` applies these overrides before the user's own.

``default`` (applied when no preset is named) is the built-in run: the real multi-source corpus curated
with Dolma v1.5's rules, a small model, every stage, in 15 minutes or less on 2 CPU cores. ``smoke`` runs
every stage on a sliver of it in under a minute (the tests use it). ``olmo1-1b`` and ``olmo1-7b`` carry the
OLMo-1 paper's pretraining settings for GPU clusters: FSDP in bf16, 2048-token sequences, 4M-token global
batches (2048 instances), AdamW (0.9, 0.95), weight decay 0.1; 1B: peak 4e-4, cosine after 2,000 warmup
steps, 3.1T tokens; 7B: peak 3e-4, linear after 5,000, 2.46T tokens; they expect your own tokenized corpus
(``stages=[pretrain,report] inputs.pretrain.data=[...]``) and a launcher (``torchrun`` or Slurm through
Hydra's submitit launcher): see docs/pipeline.md. ``olmo2-1b`` and ``olmo2-7b`` carry OLMo-2's stage-1 settings:
the OLMo-2 architecture, 4096-token sequences, z-loss 1e-5, AdamW eps 1e-8, cosine after 2,000 warmup steps
from 0, 4T tokens in 512 (1B) or 1024 (7B) sequences per step, peak 4e-4 (1B) or 3e-4 (7B).
"""

from __future__ import annotations

__all__ = ["DEFAULT_RULES", "PIPELINE_PRESETS"]

_WEB = "source in ['c4', 'spam-assassin']"
DEFAULT_RULES = [
    "source != 'python-stdlib' and language__language__en < 0.5",
    "pii__pii__doc_count > 5",
    f"{_WEB} and badwords__badwords__has_bad_word == 1",
    f"{_WEB} and gopher_quality__gopher_quality__keep == 0",
    f"{_WEB} and gopher_repetition__gopher_repetition__keep == 0",
]
"""Dolma v1.5's choices: English (score >= 0.5) except code, more than 5 PII spans dropped, and on web and
mail text C4's bad-words rule and the Gopher quality and repetition rules (Dolma applies them to Common
Crawl, not to books, encyclopedias or code)."""
DEFAULT_MASKS = [f"pii__pii__{kind} => |||{kind}|||" for kind in ("EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS")]
"""PII spans become OLMo's placeholder tokens."""


def _list(values: list[str]) -> str:
    return "[" + ",".join(f'"{v}"' for v in values) + "]"


_DEFAULT = [
    *(f"stages.{job}.workers=0" for job in ("tag", "filter", "dedup", "mix", "decontaminate", "tokenize")),
    "stages.tag.taggers=[language,pii,badwords,gopher_quality,gopher_repetition]",
    f"stages.filter.exclude={_list(DEFAULT_RULES)}",
    f"stages.filter.replace={_list(DEFAULT_MASKS)}",
    "stages.dedup.dedupers=[exact,minhash]",
    "stages.pretrain.optim.lr=1e-2",
    "stages.pretrain.scheduler.warmup_steps=10",
    "stages.pretrain.global_batch_size=4096",
    "stages.pretrain.max_steps=100",
    "stages.pretrain.callbacks.checkpoint.interval=25",
    "stages.sft.method.max_steps=30",
    "stages.sft.method.eval_interval=15",
    "stages.sft.callbacks.checkpoint.interval=15",
    "stages.dpo.method.max_length=256",
    "stages.dpo.method.max_steps=16",
    "stages.dpo.method.eval_interval=8",
    "stages.dpo.method.max_examples=128",
    "stages.dpo.callbacks.checkpoint.interval=8",
]
_PAPER = [
    "stages.pretrain.optim.weight_decay=0.1",
    "stages.pretrain.seq_len=2048",
    "stages.pretrain.global_batch_size=4194304",
    "stages.pretrain.callbacks.checkpoint.interval=1000",
]

_OLMO2 = [  # OLMo-2 stage 1: z-loss 1e-5, AdamW eps 1e-8, cosine after 2,000 steps warming up from 0, 4096 tokens
    *_PAPER,
    "stages.pretrain.backend=fsdp",
    "stages.pretrain.z_loss=1e-5",
    "stages.pretrain.optim.eps=1e-8",
    "stages.pretrain.scheduler.warmup_steps=2000",
    "stages.pretrain.scheduler.warmup_start_fraction=0.0",
    "stages.pretrain.seq_len=4096",
]

PIPELINE_PRESETS: dict[str, list[str]] = {
    "default": _DEFAULT,
    "smoke": [
        *_DEFAULT,
        "stages.fetch.limits={c4: 40, wikipedia: 120, shakespeare: 2, python-stdlib: 40, spam-assassin: 40}",
        "stages.fetch.sources=[c4,wikipedia,shakespeare,python-stdlib,spam-assassin]",
        "stages.pretrain.max_steps=8",
        "stages.pretrain.seq_len=64",
        "stages.pretrain.global_batch_size=1024",
        "stages.pretrain.micro_batch_size=8",
        "stages.pretrain.scheduler.warmup_steps=2",
        "stages.pretrain.callbacks.checkpoint.interval=4",
        "stages.sft.method.max_steps=3",
        "stages.sft.method.batch_size=8",
        "stages.sft.method.max_length=128",
        "stages.sft.method.eval_examples=4",
        "stages.sft.method.max_examples=24",
        "stages.sft.callbacks.checkpoint.interval=3",
        "stages.dpo.method.max_steps=3",
        "stages.dpo.method.batch_size=4",
        "stages.dpo.method.max_length=96",
        "stages.dpo.method.eval_examples=4",
        "stages.dpo.method.max_examples=12",
        "stages.dpo.callbacks.checkpoint.interval=3",
        "stages.evaluate.evaluators.downstream.tasks=[copa,sciq]",
        "stages.evaluate.evaluators.downstream.limit=8",
        "stages.evaluate.evaluators.perplexity.max_documents=1",
        "stages.evaluate.evaluators.perplexity.held_out=[c4,wikipedia]",
    ],
    "olmo1-1b": [
        *_DEFAULT,
        "stages.pretrain.model=olmo1-1b",
        "stages.pretrain.backend=fsdp",
        "stages.pretrain.optim.lr=4e-4",
        "stages.pretrain.scheduler.warmup_steps=2000",
        *_PAPER,
        "stages.pretrain.micro_batch_size=4",
        "stages.pretrain.max_steps=739328",  # 3.1T tokens
    ],
    "olmo1-7b": [
        *_DEFAULT,
        "stages.pretrain.model=olmo1-7b",
        "stages.pretrain.backend=fsdp",
        "stages.pretrain.optim.lr=3e-4",
        "stages.pretrain.scheduler=linear_with_warmup",
        "stages.pretrain.scheduler.warmup_steps=5000",
        *_PAPER,
        "stages.pretrain.micro_batch_size=2",
        "stages.pretrain.max_steps=586518",  # 2.46T tokens
    ],
    "olmo2-1b": [
        *_DEFAULT,
        *_OLMO2,
        "stages.pretrain.model=olmo2-1b",
        "stages.pretrain.optim.lr=4e-4",
        "stages.pretrain.global_batch_size=2097152",  # 512 x 4096
        "stages.pretrain.micro_batch_size=4",
        "stages.pretrain.max_steps=1907349",  # 4T tokens
    ],
    "olmo2-7b": [
        *_DEFAULT,
        *_OLMO2,
        "stages.pretrain.model=olmo2-7b",
        "stages.pretrain.optim.lr=3e-4",
        "stages.pretrain.global_batch_size=4194304",  # 1024 x 4096
        "stages.pretrain.micro_batch_size=2",
        "stages.pretrain.max_steps=953674",  # 4T tokens
    ],
}
