"""The built-in tasks read the real validation splits and format them as OLMo's downstream evaluation does."""

from __future__ import annotations

from typing import Any

import pytest

from olmo_core.plugins import get_host

from olmo_eval.tasks.builtin import hellaswag_preprocess

COUNTS = {"arc_easy": 570, "arc_challenge": 299, "boolq": 3270, "copa": 100, "hellaswag": 10042, "openbookqa": 500,
          "piqa": 1838, "sciq": 1000, "winogrande": 1267, "mmlu": 1531}
TABLE3 = {"arc_easy": "acc_uncond", "arc_challenge": "acc_uncond", "openbookqa": "acc_uncond",
          "hellaswag": "acc_per_token", "piqa": "acc_per_token", "winogrande": "acc_per_token", "boolq": "acc_raw",
          "sciq": "acc_raw", "copa": "acc_raw", "mmlu": "acc_per_char"}


def task(name: str):  # type: ignore[no-untyped-def]
    return get_host().registry("tasks").build(name)


@pytest.mark.parametrize("name", sorted(COUNTS))
def test_counts_and_primary_metrics(name: str) -> None:
    t = task(name)
    assert len(t.instances()) == COUNTS[name] and t.metric == TABLE3[name]
    assert all(c.startswith(" ") for i in t.instances()[:50] for c in i.continuations)


def test_first_documents_as_olmo_formats_them() -> None:
    arc = task("arc_easy").instances()[0]
    assert arc.contexts[0] == "Question: Which technology was developed most recently?\nAnswer:"
    assert arc.continuations == (" cellular telephone", " television", " refrigerator", " airplane") and arc.gold == 0
    boolq = task("boolq").instances()[0]
    assert boolq.contexts[0].endswith("\nQuestion: does ethanol take more energy make that produces?\nAnswer:")
    assert boolq.continuations == (" yes", " no") and boolq.gold == 1  # answer False
    copa = task("copa").instances()[0]
    assert copa.contexts[0] == "The man turned on the faucet therefore"
    assert copa.continuations == (" the toilet filled with water.", " water flowed from the spout.") and copa.gold == 1
    sciq = task("sciq").instances()[0]
    assert sciq.contexts[0] == "\nQuestion: Who proposed the theory of evolution by natural selection?\nAnswer:"
    assert sciq.continuations == (" Linnaeus", " shaw", " Scopes", " darwin") and sciq.gold == 3
    wino = task("winogrande").instances()[0]
    assert wino.contexts == ("Sarah was a much better surgeon than Maria so Sarah",
                             "Sarah was a much better surgeon than Maria so Maria")
    assert wino.continuations == (" always got the easier cases.",) * 2 and wino.gold == 1
    obqa = task("openbookqa").instances()[0]
    assert obqa.contexts[0].endswith("which is why they are known as") and obqa.continuations[0] == " Deep sea animals"
    hella = task("hellaswag").instances()[0]
    assert hella.contexts[0] == "Roof shingle removal: A man is sitting on a roof. He" and hella.gold == 3
    piqa = task("piqa").instances()[0]
    assert piqa.contexts[0] == "Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:"
    assert task("arc_challenge").instances()[0].gold == 3


def test_hellaswag_cleaning() -> None:
    assert hellaswag_preprocess(" Wash hands [title] Rinse  them [step] well. ") == "Wash hands. Rinse them well."


def test_texts_offer_every_context_and_choice_for_decontamination() -> None:
    texts = list(task("copa").texts())
    assert "The man turned on the faucet therefore" in texts and "water flowed from the spout." in texts
    assert len(texts) == len(set(texts))


def test_olmo_data_decontaminates_against_the_tasks() -> None:
    from olmo_data.decontamination import evaluation_texts

    found = list(evaluation_texts([], {"copa": None, "arc_easy": None}))
    assert ("task:arc_easy", "Question: Which technology was developed most recently?\nAnswer:") in found
    assert {origin for origin, _ in found} == {"task:copa", "task:arc_easy"}


def test_mmlu_subjects_are_selectable() -> None:
    registry = get_host().registry("tasks")
    _, config = registry.resolve("mmlu")
    config.subjects = ["anatomy"]
    anatomy = registry.build(config).instances()
    assert len(anatomy) == 14 and anatomy[0].gold == 3 and anatomy[0].continuations[3] == " Homeostasis"


def test_an_evaluator_takes_task_names_or_each_with_fields_of_its_config(olmo_compose: Any) -> None:
    from olmo_eval.downstream import DownstreamEvalConfig, DownstreamEvaluator

    composed = olmo_compose("eval downstream", ["checkpoint=x", "tasks=[mmlu,copa]", "tasks.mmlu.subjects=[anatomy]"])
    built = get_host().registry("evaluators").get("downstream").build(composed).tasks
    literal = DownstreamEvaluator(DownstreamEvalConfig(tasks={"mmlu": {"subjects": ["anatomy"]}, "copa": {}})).tasks
    for tasks in (built, literal):
        assert [t.name for t in tasks] == ["mmlu", "copa"] and len(tasks[0].instances()) == 14
