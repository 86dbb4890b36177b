"""Presets of ``olmo pipeline``: ``pipeline=<name>`` applies these overrides before the user's own.

``default`` is the built-in run: the real multi-source corpus, a small model, every stage, in 15 minutes or
less on 2 CPU cores. ``smoke`` runs every stage on a sliver of it in under a minute (the tests use it).
``olmo1-1b`` and ``olmo1-7b`` carry the OLMo-1 paper's pretraining settings for GPU clusters: FSDP in bf16,
2048-token sequences, 4M-token global batches (2048 instances), AdamW (0.9, 0.95), weight decay 0.1;
1B: peak 4e-4, cosine after 2,000 warmup steps, 3.1T tokens; 7B: peak 3e-4, linear after 5,000, 2.46T tokens; they expect
your own tokenized corpus (``stages=[pretrain,...]`` with ``train.data=[...]``) and a launcher
(``torchrun`` or Slurm through Hydra's submitit launcher): see docs/pipeline.md.
"""

from __future__ import annotations

__all__ = ["PIPELINE_PRESETS"]

PIPELINE_PRESETS: dict[str, list[str]] = {
    "default": [],
    "smoke": [
        "stages.fetch.limits={c4: 40, wikipedia: 120, shakespeare: 2, python-stdlib: 40, spam-assassin: 40}",
        "stages.fetch.sources=[c4,wikipedia,shakespeare,python-stdlib,spam-assassin]",
        "stages.pretrain.max_steps=8",
        "stages.pretrain.seq_len=64",
        "stages.pretrain.global_batch_size=1024",
        "stages.pretrain.micro_batch_size=8",
        "stages.pretrain.warmup_steps=2",
        "stages.pretrain.save_interval=4",
        "stages.sft.method.max_steps=3",
        "stages.sft.method.batch_size=8",
        "stages.sft.method.max_length=128",
        "stages.sft.method.eval_examples=4",
        "stages.sft.method.max_examples=24",
        "stages.sft.save_interval=3",
        "stages.dpo.method.max_steps=3",
        "stages.dpo.method.batch_size=4",
        "stages.dpo.method.max_length=96",
        "stages.dpo.method.eval_examples=4",
        "stages.dpo.method.max_examples=12",
        "stages.dpo.save_interval=3",
        "stages.evaluate.tasks=[copa,sciq]",
        "stages.evaluate.limit=8",
        "stages.evaluate.max_documents=1",
        "stages.evaluate.sources=[c4,wikipedia]",
    ],
    "olmo1-1b": [
        "train.model=olmo1-1b",
        "train.backend=fsdp",
        "train.optim.lr=4e-4",
        "train.optim.weight_decay=0.1",
        "train.scheduler=cosine_with_warmup",
        "train.scheduler.warmup_steps=2000",
        "stages.pretrain.seq_len=2048",
        "stages.pretrain.global_batch_size=4194304",
        "stages.pretrain.micro_batch_size=4",
        "stages.pretrain.max_steps=739328",  # 3.1T tokens
        "stages.pretrain.save_interval=1000",
    ],
    "olmo1-7b": [
        "train.model=olmo1-7b",
        "train.backend=fsdp",
        "train.optim.lr=3e-4",
        "train.optim.weight_decay=0.1",
        "train.scheduler=linear_with_warmup",
        "train.scheduler.warmup_steps=5000",
        "stages.pretrain.seq_len=2048",
        "stages.pretrain.global_batch_size=4194304",
        "stages.pretrain.micro_batch_size=2",
        "stages.pretrain.max_steps=586518",  # 2.46T tokens
        "stages.pretrain.save_interval=1000",
    ],
}
