"""Generation tasks: the model writes an answer (greedy) and the task judges each one, by default by exact
match of the answer it extracts against the reference.

A :class:`GenerationTask` yields :class:`Question` records: the prompt exactly as the model sees it without a
chat template, the reference answer, and the user message that asks the same question through a chat template
(the assistant's turn then starts with the task's ``chat_answer``). The task says where generation stops and
how outputs are judged: :meth:`GenerationTask.judge` gives each document's ``hit`` (it counts toward the
task's metric: a right answer, or for a toxicity task a toxic continuation) and what else the record keeps.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from olmo_core.config import non_negative

from olmo_eval.tasks.base import Task, TaskConfig

__all__ = ["GenerationConfig", "GenerationTask", "Question", "cut_at_stop", "last_number", "normalize_exact_match",
           "strip_thousands"]

_PUNCTUATION = str.maketrans("", "", string.punctuation)


@dataclass(frozen=True, kw_only=True)
class Question:
    """One document of a generation task."""

    doc_id: int
    """Position of the document in the task's split."""
    prompt: str
    """The text the model continues when no chat template is used (ends where the answer starts)."""
    user: str
    """The user message that asks the same question through a chat template."""
    answer: str
    """The reference answer, compared with the extracted prediction."""
    native_id: str = ""
    """The dataset's own id of the document, when it has one."""


def normalize_exact_match(text: str) -> str:
    """Lower-cased, without ASCII punctuation, as the ``exact_match`` metric of Hugging Face ``evaluate`` with
    ``ignore_case`` and ``ignore_punctuation`` compares (open-instruct's GSM8K score)."""
    return text.lower().translate(_PUNCTUATION)


@dataclass(kw_only=True)
class GenerationConfig(TaskConfig):
    """Options every generation task takes."""

    max_new_tokens: int = non_negative(512)
    """Most tokens generated per document (open-instruct's 512)."""


class GenerationTask(Task):
    """A task answered by greedy generation and scored by exact match (``exact_match``, the fraction right).

    Subclasses implement :meth:`load` (returning :class:`Question` records) and :meth:`extract`, and set the
    stopping rules.
    """

    default_metric = "exact_match"
    metrics = ("exact_match",)
    chat_answer = "Answer:"
    stop: tuple[str, ...] = ()
    """Text that ends generation without a chat template (cut from the output); EOS always ends it."""
    chat_stop: tuple[str, ...] = ()
    """Text that ends generation through a chat template (open-instruct relies on the model's EOS there)."""

    def __init__(self, config: TaskConfig | None = None) -> None:
        super().__init__(config if config is not None else GenerationConfig())
        self.max_new_tokens: int = getattr(self.config, "max_new_tokens", 512)
        """Most tokens generated per document."""

    def load(self) -> list[Question]:  # type: ignore[override]
        raise NotImplementedError

    def instances(self) -> list[Question]:  # type: ignore[override]
        return super().instances()  # type: ignore[return-value]

    def extract(self, output: str) -> str:
        """The answer read from the generated text."""
        return output.strip()

    def is_correct(self, prediction: str, answer: str) -> bool:
        """Exact match after :func:`normalize_exact_match`."""
        return normalize_exact_match(prediction) == normalize_exact_match(answer)

    def judge(self, questions: Sequence[Question], outputs: Sequence[str]) -> list[dict[str, Any]]:
        """Per document, ``hit`` (it counts toward the metric) and the fields its record keeps; by default the
        extracted ``prediction`` and whether it matches the answer."""
        predictions = [self.extract(output) for output in outputs]
        return [{"prediction": p, "hit": self.is_correct(p, q.answer)} for q, p in zip(questions, predictions)]

    def texts(self) -> Iterator[str]:
        seen: set[str] = set()
        for question in self.instances():
            for text in (question.user.strip(), question.answer.strip()):
                if text and text not in seen:
                    seen.add(text)
                    yield text


def cut_at_stop(output: str, stop: tuple[str, ...]) -> tuple[str, bool]:
    """``output`` up to the first stop text, and whether one was found."""
    cuts = [i for i in (output.find(s) for s in stop) if i >= 0]
    return (output[:min(cuts)], True) if cuts else (output, False)


def strip_thousands(text: str) -> str:
    """``text`` with the commas between digits removed (``1,234`` is ``1234``), as open-instruct cleans GSM8K's
    answers and outputs."""
    return re.sub(r"(\d),(\d)", r"\1\2", text)


def last_number(output: str) -> str:
    """The last number in ``output`` after removing thousands separators (``1,234`` is ``1234``), or the whole
    output when it has none: open-instruct's GSM8K answer extraction."""
    output = strip_thousands(output)
    numbers = re.findall(r"[-+]?\d*\.\d+|\d+", output)
    return numbers[-1] if numbers else output
