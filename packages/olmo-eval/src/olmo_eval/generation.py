"""Scoring generation tasks: greedy answers, stopped at EOS or a stop text, then judged by the task.

Each document is generated on its own (no padding can change its tokens), with the key/value cache for olmo's
own model (other models run the whole sequence again at every step). A prompt longer than the model's context
minus ``max_new_tokens`` is cut from the left, and counted. One record per document keeps the prompt, the
generated text, the reference and the task's judgement (``hit`` and, for exact match, the extracted
``prediction``); :class:`~olmo_eval.task_results.GenerationResult` gives the task's metric, the fraction of
hits, from them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from olmo_core.errors import ConfigError
from olmo_core.progress import Progress
from olmo_core.tokenizer import Tokenizer

from olmo_eval.task_results import GenerationResult
from olmo_eval.tasks.generation import GenerationTask, Question, cut_at_stop

__all__ = ["score_generation"]


def _stopper(tokenizer: Tokenizer, stop: tuple[str, ...]) -> Any:
    import torch

    def done(new: torch.Tensor) -> torch.Tensor:
        return torch.tensor([cut_at_stop(tokenizer.decode(row.tolist()), stop)[1] for row in new], dtype=torch.bool,
                            device=new.device)

    return done if stop else None


def score_generation(model: Any, tokenizer: Tokenizer, task: GenerationTask, questions: Sequence[Question],
                     prompts: Sequence[str], *, stop: tuple[str, ...], max_length: int,
                     progress: bool = False) -> GenerationResult:
    """Generate an answer to each question from its prompt (the text the model continues) and score it."""
    import torch

    from olmo_core.nn.generate import generate

    if task.max_new_tokens >= max_length:
        raise ConfigError(f"tasks.{task.name}.max_new_tokens={task.max_new_tokens} leaves no room for a prompt in the "
                          f"model's {max_length} tokens: lower it (or raise max_length)")
    device = next(model.parameters()).device
    keep = max_length - task.max_new_tokens
    stopper = _stopper(tokenizer, stop)
    outputs, tokens, truncated = [], [], 0
    training = model.training
    model.eval()
    bar = Progress(f"generating {task.name}", total=len(prompts), unit="docs", disable=None if progress else True)
    try:
        for prompt in prompts:
            ids = tokenizer.encode(prompt)
            truncated += len(ids) > keep
            ids = ids[-keep:]
            out = generate(model, torch.tensor([ids], device=device), max_new_tokens=task.max_new_tokens,
                           eos_token_id=tokenizer.eos_token_id, stop=stopper)[0, len(ids):].tolist()
            if tokenizer.eos_token_id in out:
                out = out[:out.index(tokenizer.eos_token_id)]
            outputs.append(cut_at_stop(tokenizer.decode(out), stop)[0])
            tokens.append(len(out))
            bar.advance()
    finally:
        bar.close()
        model.train(training)
    records = [{"task": task.name, "doc_id": q.doc_id, "native_id": q.native_id, "prompt": prompt, "output": output,
                "answer": q.answer, "tokens": n, **judged}
               for q, prompt, output, n, judged in zip(questions, prompts, outputs, tokens,
                                                       task.judge(questions, outputs))]
    rate = sum(r["hit"] for r in records) / len(records) if records else 0.0
    return GenerationResult(task=task.name, metric=task.metric, metrics={task.metric: rate}, chance=0.0,
                            documents=len(records), requests=len(records), records=records,
                            truncated=truncated)
