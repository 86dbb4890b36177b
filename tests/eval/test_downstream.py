"""Per-choice log-likelihoods equal a direct forward pass over context + continuation, on real task data."""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import pytest
import torch

from olmo_core.errors import ConfigError
from olmo_core.nn.model import OLMo
from olmo_core.plugins import get_host
from olmo_core.tokenizer import Tokenizer

from olmo_eval.downstream import DownstreamEvalConfig, DownstreamEvaluator
from olmo_eval.tasks.base import Instance, subsample

from tests.eval.conftest import TINY_OLMO2, tiny_model

TASKS = ["arc_easy", "boolq", "copa", "hellaswag", "openbookqa", "piqa", "sciq", "winogrande"]


@functools.cache
def reference_ll(model: OLMo, tokenizer: Tokenizer, context: str, continuation: str) -> float:
    """sum log p(continuation | context) from one plain forward over the concatenated tokens."""
    ctx = tokenizer.encode(context) or [tokenizer.eos_token_id]
    cont = tokenizer.encode(continuation)
    with torch.no_grad():
        logits = model(torch.tensor([ctx + cont]))[0, len(ctx) - 1:-1].double()
    logprobs = torch.log_softmax(logits, dim=-1)
    return sum(float(logprobs[i, token]) for i, token in enumerate(cont))


def reference_accuracy(lls: dict[int, list[float]], gold: dict[int, int], lengths: dict[int, list[int]]) -> float:
    hits = 0
    for doc, scores in lls.items():
        normalized = [s / n for s, n in zip(scores, lengths[doc])]
        hits += max(range(len(scores)), key=lambda i: (normalized[i], -i)) == gold[doc]
    return hits / len(lls)


def test_loglikelihoods_equal_a_direct_forward_pass(model: OLMo, tokenizer: Tokenizer) -> None:
    registry = get_host().registry("tasks")
    tasks = [registry.build(name) for name in TASKS]
    config = DownstreamEvalConfig(limit=2, seed=5, batch_tokens=600, max_batch_size=5)
    results = DownstreamEvaluator(config).evaluate(model, tokenizer, tasks).tasks
    unshared = DownstreamEvaluator(dataclasses.replace(config, shared_prefix=False, batch_tokens=4096,
                                                       max_batch_size=64)).evaluate(model, tokenizer, tasks).tasks
    assert [r.task for r in results] == TASKS
    for one, other in zip(results, unshared):
        assert [r["ll"] for r in one.records] == pytest.approx([r["ll"] for r in other.records], abs=1e-5)
        assert one.metrics == other.metrics
    for task, result in zip(tasks, results):
        instances = {i.doc_id: i for i in subsample(task.instances(), 2, 5)}
        assert sorted({r["doc_id"] for r in result.records}) == sorted(instances)
        lls: dict[int, list[float]] = {}
        uncond: dict[int, list[float]] = {}
        for record in result.records:
            instance = instances[record["doc_id"]]
            context, continuation = instance.contexts[record["choice"]], instance.continuations[record["choice"]]
            assert (record["context"], record["continuation"]) == (context, continuation)
            expected = reference_ll(model, tokenizer, context, continuation)
            assert record["ll"] == pytest.approx(expected, abs=1e-5)
            assert record["ll_uncond"] == pytest.approx(reference_ll(model, tokenizer, "Answer:", continuation), abs=1e-5)
            assert record["tokens"] == len(tokenizer.encode(continuation))
            assert record["chars"] == len(continuation) - 1 and record["bytes"] == len(continuation[1:].encode())
            lls.setdefault(record["doc_id"], []).append(expected)
            uncond.setdefault(record["doc_id"], []).append(expected - record["ll_uncond"])
        gold = {d: i.gold for d, i in instances.items()}
        ones = {d: [1] * len(s) for d, s in lls.items()}
        tokens = {d: [len(tokenizer.encode(c)) for c in instances[d].continuations] for d in lls}
        chars = {d: [len(c) - 1 for c in instances[d].continuations] for d in lls}
        assert result.metrics["acc_raw"] == reference_accuracy(lls, gold, ones)
        assert result.metrics["acc_per_token"] == reference_accuracy(lls, gold, tokens)
        assert result.metrics["acc_per_char"] == reference_accuracy(lls, gold, chars)
        assert result.metrics["acc_uncond"] == reference_accuracy(uncond, gold, ones)
        assert result.chance == pytest.approx(sum(1 / len(s) for s in lls.values()) / len(lls))


def test_olmo2_with_grouped_query_attention(tokenizer: Tokenizer) -> None:
    model = tiny_model(TINY_OLMO2, seed=3)
    task = get_host().registry("tasks").build("hellaswag")
    config = DownstreamEvalConfig(limit=2, unconditional=False)
    result, = DownstreamEvaluator(config).evaluate(model, tokenizer, [task]).tasks
    for record in result.records:
        assert record["ll"] == pytest.approx(reference_ll(model, tokenizer, record["context"],
                                                          record["continuation"]), abs=1e-5)
    assert "acc_uncond" not in result.metrics and result.requests == 8


def test_long_contexts_are_cut_from_the_left(model: OLMo, tokenizer: Tokenizer) -> None:
    context = " ".join(["word"] * 60) + " end"
    instance = Instance.shared(0, context, [" one two three", " four"], gold=1)

    class Long:
        name, metric = "long", "acc_raw"

        def instances(self) -> list[Instance]:
            return [instance]

    result, = DownstreamEvaluator(DownstreamEvalConfig(max_length=20, unconditional=False)).evaluate(
        model, tokenizer, [Long()]).tasks  # type: ignore[list-item]
    ctx = tokenizer.encode(context)
    for record in result.records:
        cont = tokenizer.encode(record["continuation"])
        longest = 3  # " one two three" is the longest continuation of the shared context
        query = ctx[-(20 - longest + 1):] + cont
        with torch.no_grad():
            logprobs = torch.log_softmax(model(torch.tensor([query]))[0].double(), dim=-1)
        start = len(query) - len(cont) - 1
        assert record["ll"] == pytest.approx(sum(float(logprobs[start + i, t]) for i, t in enumerate(cont)), abs=1e-5)
        assert not math.isnan(record["ll"])


def test_the_subset_is_seeded_and_kept_in_order() -> None:
    instances = [Instance.shared(i, "c", [" a", " b"], 0) for i in range(10)]
    first = [i.doc_id for i in subsample(instances, 4, 1234)]
    assert first == sorted(first) and len(set(first)) == 4
    assert first == [i.doc_id for i in subsample(instances, 4, 1234)]
    assert first != [i.doc_id for i in subsample(instances, 4, 1)]
    assert len(subsample(instances, None, 0)) == len(subsample(instances, 50, 0)) == 10


def test_a_grouped_task_takes_the_limit_from_every_group_as_olmo_eval_samples_each_subject() -> None:
    import random

    instances = [Instance.shared(i, "c", [" a", " b"], 0, group="ab"[i % 2]) for i in range(20)]
    chosen = [i.doc_id for i in subsample(instances, 3, 1234)]
    evens = [list(range(0, 20, 2))[k] for k in random.Random(1234).sample(range(10), 3)]
    odds = [list(range(1, 20, 2))[k] for k in random.Random(1234).sample(range(10), 3)]
    assert chosen == sorted(evens + odds)
    assert len(subsample(instances, 12, 0)) == 20


def test_a_model_that_only_returns_logits_is_scored_request_by_request(model: OLMo, tokenizer: Tokenizer) -> None:
    from olmo_core.nn.hf import to_hf

    tasks = [get_host().registry("tasks").build(name) for name in ("copa", "winogrande")]
    config = DownstreamEvalConfig(limit=2, unconditional_prompt="")
    ours = DownstreamEvaluator(config).evaluate(model, tokenizer, tasks).tasks
    transformers_model = DownstreamEvaluator(config).evaluate(to_hf(model), tokenizer, tasks).tasks
    for one, other in zip(ours, transformers_model):
        assert [r["ll"] for r in other.records] == pytest.approx([r["ll"] for r in one.records], abs=1e-5)
        assert one.metrics == other.metrics


def test_a_generation_task_is_answered_after_its_plain_prompt_beside_ranked_tasks(model: OLMo,
                                                                                  tokenizer: Tokenizer) -> None:
    from olmo_eval.tasks.tulu import GSM8KConfig, GSM8KTask

    evaluator = DownstreamEvaluator(DownstreamEvalConfig(tasks={"copa": {}, "gsm8k": {"shots": 0,
                                                                                       "max_new_tokens": 6}},
                                                         limit=2))
    copa, gsm8k = evaluator.evaluate(model, tokenizer).tasks
    assert (copa.task, copa.documents, gsm8k.task, gsm8k.metric) == ("copa", 2, "gsm8k", "exact_match")
    questions = {q.doc_id: q for q in GSM8KTask(GSM8KConfig(shots=0)).instances()}
    for record in gsm8k.records:
        assert record["prompt"] == questions[record["doc_id"]].prompt  # no template: the plain prompt
        assert "\n" not in record["output"] and record["tokens"] <= 6


@pytest.mark.parametrize("prefix", ["", "evaluators.downstream.", "stages.evaluate.evaluators.downstream.",
                                    "callbacks.evaluate.evaluators.downstream.", "evaluators.chat."])
def test_every_evaluator_selects_tasks_as_a_component_list(olmo_compose: Any, prefix: str) -> None:
    command, base = {"": ("eval downstream", ["checkpoint=x"]), "evaluators.": ("eval compare", ["checkpoints=[x]"]),
                     "stages.": ("pipeline", []), "callbacks.": ("train", ["data=[x]", "callbacks=[evaluate]"])
                     }[prefix.partition(".")[0] + "." if prefix else ""]
    chat = prefix.endswith("chat.")
    if chat:
        base = [*base, "evaluators=[chat]"]
    option = "tasks.gsm8k.max_new_tokens=4" if chat else "tasks.mmlu.subjects=[anatomy]"
    chosen = "[gsm8k]" if chat else "[mmlu,copa]"
    config = olmo_compose(command, [*base, f"{prefix}tasks={chosen}", prefix + option])
    holder = {"": lambda c: c, "evaluators.": lambda c: c.evaluators[prefix.split(".")[1]],
              "stages.": lambda c: c.stages["evaluate"].evaluators["downstream"],
              "callbacks.": lambda c: c.callbacks["evaluate"].evaluators["downstream"]}[
        prefix.partition(".")[0] + "." if prefix else ""](config)
    assert list(holder.tasks) == chosen.strip("[]").split(",")
    assert holder.tasks["gsm8k"].max_new_tokens == 4 if chat else holder.tasks["mmlu"].subjects == ["anatomy"]
    for wrong, said in [(f"{prefix}tasks={{mmlu: {{subjects: [anatomy]}}, copa: {{}}}}", "selects with a list"),
                        (f"{prefix}tasks=[{{_name_: mmlu, subjects: [anatomy]}}]", "selects with a list"),
                        (f"{prefix}tasks.mmlu.subjects=[anatomy]", "does not select")]:
        with pytest.raises(ConfigError, match=said) as error:
            olmo_compose(command, [*base, wrong])
        assert "\n" not in str(error.value) and f"{prefix}tasks" in str(error.value)


def test_a_preset_selects_tasks_with_a_list(olmo_compose: Any) -> None:
    evaluators = olmo_compose("pipeline", ["pipeline=smoke"]).stages["evaluate"].evaluators
    assert list(evaluators["downstream"].tasks) == ["copa", "sciq"]  # the preset's `tasks: [copa, sciq]`
    assert list(evaluators["chat"].tasks) == ["mmlu_tulu", "gsm8k", "toxicity"]
    assert evaluators["chat"].tasks["gsm8k"].max_new_tokens == 4


def test_a_metric_that_needs_unconditional_scoring_is_refused_or_its_swap_said(caplog: Any) -> None:
    chosen = DownstreamEvalConfig(tasks={"arc_easy": {"metric": "acc_uncond"}}, unconditional=False)
    with pytest.raises(ConfigError, match=r"tasks.arc_easy.metric=acc_uncond needs the unconditional requests that "
                                          r"unconditional=false skips"):
        DownstreamEvaluator(chosen).tasks  # noqa: B018
    with caplog.at_level("WARNING", logger="olmo_eval.downstream"):
        DownstreamEvaluator(DownstreamEvalConfig(tasks=["arc_easy", "copa"], unconditional=False)).tasks  # noqa: B018
    assert "arc_easy's primary metric acc_uncond needs the unconditional requests" in caplog.text
    assert "arc_easy reports acc_raw instead" in caplog.text and "copa" not in caplog.text


def test_a_max_length_past_the_models_sequence_length_is_refused(model: OLMo, tokenizer: Tokenizer) -> None:
    evaluator = DownstreamEvaluator(DownstreamEvalConfig(tasks=["copa"], limit=1, max_length=1024))
    with pytest.raises(ConfigError, match=r"^max_length=1024 is past the model's maximum sequence length, 512 "
                                          r"tokens: give max_length=512 or less"):
        evaluator.evaluate(model, tokenizer)
    fits = DownstreamEvaluator(DownstreamEvalConfig(tasks=["copa"], limit=1, max_length=512))
    assert fits.evaluate(model, tokenizer).tasks[0].documents == 1
