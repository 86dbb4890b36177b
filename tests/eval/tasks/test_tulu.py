"""The Tulu suite's tasks, string for string as open-instruct's ``eval/mmlu`` and ``eval/gsm`` build them, and
GSM8K's answer extraction and exact match as open-instruct scores them."""

from __future__ import annotations

import pytest

from olmo_core.errors import ConfigError

from olmo_eval.tasks.generation import cut_at_stop, last_number, normalize_exact_match
from olmo_eval.tasks.tulu import GSM8KConfig, GSM8KTask, MMLUTuluConfig, MMLUTuluTask

ANATOMY_1_SHOT = (
    "The following are multiple choice questions (with answers) about  anatomy.\n\n"
    "What is the embryological origin of the hyoid bone?\nA. The first pharyngeal arch\n"
    "B. The first and second pharyngeal arches\nC. The second pharyngeal arch\n"
    "D. The second and third pharyngeal arches\nAnswer: D\n\n"
    "A lesion causing compression of the facial nerve at the stylomastoid foramen will cause ipsilateral\n"
    "A. paralysis of the facial muscles.\nB. paralysis of the facial muscles and loss of taste.\n"
    "C. paralysis of the facial muscles, loss of taste and lacrimation.\n"
    "D. paralysis of the facial muscles, loss of taste, lacrimation and decreased salivation.\nAnswer:")
"""open-instruct's ``gen_prompt(dev, "anatomy", 1) + format_example(test, 0, include_answer=False)``: Hendrycks'
header with its double space, one dev question with its letter, then the first test question."""


def test_mmlu_tulu_is_open_instructs_prompt_scored_on_the_letter() -> None:
    task = MMLUTuluTask(MMLUTuluConfig(subjects=["anatomy"], shots=1))
    first = task.instances()[0]
    assert first.contexts == (ANATOMY_1_SHOT,) * 4
    assert first.continuations == (" A", " B", " C", " D")
    assert (first.gold, first.native_id, first.group) == (0, "anatomy-0", "anatomy")
    assert len(task.instances()) == 135  # anatomy's test split
    assert task.metric == "acc_raw" and task.chat_answer == "The answer is:"


def test_mmlu_tulu_zero_shot_and_validation() -> None:
    task = MMLUTuluTask(MMLUTuluConfig(subjects=["anatomy"], split="validation"))
    context = task.instances()[0].contexts[0]
    assert context.startswith("The following are multiple choice questions (with answers) about  anatomy.\n\n")
    assert context.count("\nAnswer:") == 1 and context.endswith("\nAnswer:")
    assert len(task.instances()) == 14
    with pytest.raises(ConfigError, match="test or validation"):
        MMLUTuluTask(MMLUTuluConfig(split="dev"))


def test_gsm8k_prompts_are_open_instructs() -> None:
    task = GSM8KTask(GSM8KConfig(shots=2))
    questions = task.instances()
    assert len(questions) == 1319
    first = questions[0]
    assert first.prompt == (
        "Answer the following questions.\n\n"
        "Question: There are 15 trees in the grove. Grove workers will plant trees in the grove today. After they "
        "are done, there will be 21 trees. How many trees did the grove workers plant today?\n"
        "Answer: There are 15 trees originally. Then there were 21 trees after some more were planted. So there "
        "must have been 21 - 15 = 6. So the answer is 6.\n\n"
        "Question: If there are 3 cars in the parking lot and 2 more cars arrive, how many cars are in the parking "
        "lot?\nAnswer: There are originally 3 cars. 2 more cars arrive. 3 + 2 = 5. So the answer is 5.\n\n"
        "Question: Janet’s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins "
        "for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh "
        "duck egg. How much in dollars does she make every day at the farmers' market?\nAnswer:")
    assert first.user == first.prompt.removesuffix("\nAnswer:") and task.chat_answer == "Answer:"
    assert (first.answer, first.native_id) == ("18", "0")
    assert questions[489].answer == "-10"  # the number after '####', thousands separators removed
    zero = GSM8KTask(GSM8KConfig(shots=0)).instances()[0]
    assert zero.prompt.startswith("Answer the following question.\n\nQuestion: Janet’s ducks")
    eight = GSM8KTask().instances()[0].prompt
    assert eight.count("Question: ") == 9 and "So the answer is 8.\n\n" in eight  # the eighth exemplar (Olivia)
    with pytest.raises(ConfigError, match="0 to 8"):
        GSM8KTask(GSM8KConfig(shots=9))


@pytest.mark.parametrize(("output", "prediction"), [
    (" She sells 9 eggs, so 9 * 2 = $18. So the answer is 18.", "18"),
    (" It costs 1,234 dollars, then 2,000.", "2000"),
    (" The change is -3.5 degrees", "-3.5"),
    (" no number here", " no number here"),
])
def test_gsm8k_reads_the_last_number(output: str, prediction: str) -> None:
    assert last_number(output) == prediction
    assert GSM8KTask().extract(output) == prediction


def test_exact_match_ignores_case_and_punctuation() -> None:
    assert normalize_exact_match("The Answer, 18.") == "the answer 18"
    task = GSM8KTask()
    assert task.is_correct("18", "18") and task.is_correct("18.", "18") and not task.is_correct("180", "18")


def test_stop_text_cuts_the_output() -> None:
    assert cut_at_stop(" 6 trees.\nQuestion: more", ("\n",)) == (" 6 trees.", True)
    assert cut_at_stop(" 6 trees.", ("\n",)) == (" 6 trees.", False)
    assert cut_at_stop("a\n\nb\nc", ("\n", "\n\n")) == ("a", True)

