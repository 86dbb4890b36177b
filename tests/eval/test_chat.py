"""The chat evaluator: prompts asked through the Tulu template, rank classification scored on the templated
context, greedy generation equal to an argmax loop over plain forward passes, and the adaptation table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from olmo_core.chat_template import TuluTemplate
from olmo_core.errors import ConfigError
from olmo_core.nn.model import OLMo
from olmo_core.tokenizer import Tokenizer

from olmo_eval.chat import ChatEvalConfig, ChatEvaluator
from olmo_eval.generation import score_generation
from olmo_eval.tasks.tulu import GSM8KConfig, GSM8KTask, MMLUTuluConfig, MMLUTuluTask

from tests.eval.conftest import tiny_model

MMLU = {"mmlu_tulu": {"subjects": ["anatomy", "virology"], "split": "validation"}}


def _continue(model: OLMo, ids: list[int], steps: int) -> list[int]:
    """Greedy continuation by full forward passes, no cache."""
    out = list(ids)
    with torch.no_grad():
        for _ in range(steps):
            out.append(int(model(torch.tensor([out]))[0, -1, :model.config.vocab_size].argmax()))
    return out[len(ids):]


def test_rank_classification_is_asked_through_the_template(model: OLMo, tokenizer: Tokenizer) -> None:
    evaluator = ChatEvaluator(ChatEvalConfig(tasks=MMLU, limit=3))
    result = evaluator.evaluate(model, tokenizer)
    (task,) = result.tasks
    assert task.task == "mmlu_tulu" and task.documents == 6  # three per subject
    template = TuluTemplate(tokenizer)
    plain = {i.native_id: i for i in MMLUTuluTask(MMLUTuluConfig(subjects=["anatomy", "virology"],
                                                                  split="validation")).instances()}
    for record in task.records[:8]:
        source = plain[record["native_id"]]
        expected = (f"{tokenizer.eos_token}<|user|>\n{source.contexts[0]}\n<|assistant|>\nThe answer is:")
        assert record["context"] == expected
        assert record["context"] == template.render([{"role": "user", "content": source.contexts[0]}],
                                                    add_generation_prompt=True) + "The answer is:"
        ids = tokenizer.encode(expected)
        assert ids[0] == tokenizer.eos_token_id  # the BOS the models were tuned with
        letter = tokenizer.encode(record["continuation"])
        assert len(letter) == 1
        with torch.no_grad():
            logits = model(torch.tensor([ids]))[0, -1].double()  # every embedding row, as OLMo scores
        assert record["ll"] == pytest.approx(float(torch.log_softmax(logits, -1)[letter[0]]), abs=1e-5)
    assert "ll_uncond" not in task.records[0]  # no unconditional requests through a template


def test_generation_is_greedy_until_eos_or_a_stop_text(model: OLMo, tokenizer: Tokenizer) -> None:
    task = GSM8KTask(GSM8KConfig(shots=0, max_new_tokens=12))
    questions = task.instances()[:3]
    prompts = [q.prompt for q in questions]
    free = score_generation(model, tokenizer, task, questions, prompts, stop=(), max_length=512)
    for record, prompt in zip(free.records, prompts):
        tokens = _continue(model, tokenizer.encode(prompt), 12)
        assert record["tokens"] == 12 and record["output"] == tokenizer.decode(tokens)
        assert record["prediction"] == task.extract(record["output"])
        assert record["hit"] == (record["prediction"].lower().strip(".") == record["answer"])
    assert free.accuracy == sum(r["hit"] for r in free.records) / 3 and free.metric == "exact_match"
    # a stop text written by the model ends generation there, and is cut from the output
    word = free.records[0]["output"].split()[1]
    stopped = score_generation(model, tokenizer, task, questions[:1], prompts[:1], stop=(word,), max_length=512)
    assert stopped.records[0]["output"] == free.records[0]["output"].split(word)[0]
    assert stopped.records[0]["tokens"] < 12


def test_a_long_prompt_is_cut_from_the_left_and_counted(model: OLMo, tokenizer: Tokenizer) -> None:
    task = GSM8KTask(GSM8KConfig(shots=8, max_new_tokens=4))
    questions = task.instances()[:2]
    prompts = [q.prompt for q in questions]
    result = score_generation(model, tokenizer, task, questions, prompts, stop=(), max_length=64)
    assert result.truncated == 2 and result.summary()["truncated"] == 2
    tokens = _continue(model, tokenizer.encode(prompts[0])[-60:], 4)
    assert result.records[0]["output"] == tokenizer.decode(tokens)


def test_the_adaptation_table_puts_a_row_per_model(tokenizer: Tokenizer, tmp_path: Path) -> None:
    evaluator = ChatEvaluator(ChatEvalConfig(tasks={**MMLU, "gsm8k": {"shots": 0, "max_new_tokens": 4}}, limit=4))
    evaluations = {label: evaluator.evaluate(tiny_model(seed=seed), tokenizer) for label, seed in
                   (("base", 0), ("SFT", 1), ("DPO", 2))}
    metrics, report = ChatEvaluator.compare("chat", evaluations, str(tmp_path))
    table = [line for line in report.markdown.splitlines() if line.startswith("| ")]
    assert table[0] == "| model | mmlu_tulu (acc_raw) | gsm8k (exact_match) |"
    assert [row.split(" | ")[0] for row in table[1:]] == ["| base", "| SFT", "| DPO"]
    for label, evaluation in evaluations.items():
        for result in evaluation.tasks:
            assert metrics["chat_accuracy"][label][result.task] == result.accuracy
    assert set(metrics["chat_paired"]) == {"SFT", "DPO"}
    assert "- mmlu_tulu: SFT vs base: " in report.markdown and (tmp_path / "chat.png").exists()
    correct = json.loads((tmp_path / "chat_correct.json").read_text())
    for label, evaluation in evaluations.items():  # right/wrong recomputed from the records' log-likelihoods
        records = evaluation.tasks[0].records
        best = {}
        for r in records:
            if r["doc_id"] not in best or r["ll"] > best[r["doc_id"]][0]:
                best[r["doc_id"]] = (r["ll"], r["choice"] == r["gold"])
        assert correct[label]["mmlu_tulu"] == {str(doc): right for doc, (_, right) in best.items()}
        gsm8k = evaluation.tasks[1].records
        assert correct[label]["gsm8k"] == {str(r["doc_id"]): r["prediction"].strip() == r["answer"] for r in gsm8k}


def test_an_unknown_template_is_named() -> None:
    with pytest.raises(ConfigError, match="template='chatml'"):
        ChatEvaluator(ChatEvalConfig(template="chatml"))


def test_a_tasks_own_limit_overrides_the_evaluators(model: OLMo, tokenizer: Tokenizer) -> None:
    evaluator = ChatEvaluator(ChatEvalConfig(tasks={"mmlu_tulu": {**MMLU["mmlu_tulu"], "limit": 2},
                                                    "gsm8k": {"shots": 0, "max_new_tokens": 1}}, limit=3))
    mmlu, gsm8k = evaluator.evaluate(model, tokenizer).tasks
    assert (mmlu.documents, gsm8k.documents) == (4, 3)  # two per subject; the evaluator's three


def test_a_generation_budget_that_leaves_no_room_for_the_prompt_is_refused(model: OLMo, tokenizer: Tokenizer) -> None:
    task = GSM8KTask(GSM8KConfig(shots=0, max_new_tokens=64))
    with pytest.raises(ConfigError, match="max_new_tokens=64 leaves no room"):
        score_generation(model, tokenizer, task, task.instances()[:1], ["Question:"], stop=(), max_length=64)


def test_mmlu_tulu_refuses_mc() -> None:
    with pytest.raises(ConfigError, match="mc does not apply"):
        MMLUTuluTask(MMLUTuluConfig(mc=True))


def test_a_task_is_asked_through_the_template_once_per_tokenizer(tokenizer: Tokenizer) -> None:
    evaluator = ChatEvaluator(ChatEvalConfig(tasks=MMLU))
    (task,) = evaluator.tasks
    asked = evaluator.ranked(task, tokenizer)
    again = evaluator.ranked(task, tokenizer)
    assert again is asked and again.instances() is asked.instances()  # rendered once, in the training loop too
