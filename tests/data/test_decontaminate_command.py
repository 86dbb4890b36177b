from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from olmo_core import hookimpl
from olmo_core.plugins import get_host


@pytest.fixture(scope="module")
def leads() -> list[Any]:
    source = get_host().registry("sources").build({"_name_": "wikipedia", "limit": 120})
    return [d for d in source.documents() if len(d.text) > 200]


def write(path: Path, documents: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.writelines(json.dumps(d) + "\n" for d in documents)


@dataclass(kw_only=True)
class QuizConfig:
    """Options of the quiz task (tasks are selected as components, so each has a config)."""

    split: str = "validation"


class QuizTasks:
    """A task plugin whose task offers the evaluation passage as text."""

    def __init__(self, passage: str) -> None:
        self.passage = passage

    @hookimpl
    def olmo_register_tasks(self, register: Any) -> None:
        passage = self.passage

        class Quiz:
            def __init__(self, config: QuizConfig) -> None:
                self.config = config

            def texts(self) -> list[str]:
                return [passage, "Which is correct?"]

        register("quiz", Quiz, config=QuizConfig)
        register("opaque", lambda config: object(), config=QuizConfig)


def test_a_document_with_an_evaluation_paragraph_is_dropped(leads: list[Any], tmp_path: Path, olmo_cli: Any,
                                                           register_plugin: Any) -> None:
    c4 = get_host().registry("sources").build({"_name_": "c4", "limit": 20})
    pages = [d.to_json() for d in c4.documents()]
    evaluation, training = leads[:10], leads[10:]
    passage = max(evaluation[3].text.split("\n"), key=len)
    assert len(passage) > 100
    edited = passage.upper().replace(",", "")  # the normalization still matches a re-cased, re-punctuated copy
    pages[5]["text"] = pages[5]["text"] + "\n" + edited + "\nMore text after the copied paragraph."
    write(tmp_path / "ds" / "documents" / "web.jsonl.gz", pages)
    write(tmp_path / "ds" / "documents" / "wiki.jsonl.gz", [d.to_json() for d in training])
    write(tmp_path / "eval" / "eval.jsonl.gz", [d.to_json() for d in evaluation])

    out = tmp_path / "clean"
    result = olmo_cli("data", "decontaminate", f"input={tmp_path / 'ds'}", f"output={out}",
                      f"eval=[{tmp_path / 'eval'}]")
    assert result.exit_code == 0, result.err
    # its own last line names its report; the filter step's ("documents: ... report: .../filter.json") is left out
    assert "reports/decontaminate.json" in result.err and "reports/filter.json" not in result.err
    report = json.loads((out / "reports" / "decontaminate.json").read_text())
    assert report["contaminated_documents"] == 1 and report["kept"] == len(pages) - 1 + len(training)
    with gzip.open(out / "dropped" / "web.jsonl.gz", "rt") as f:
        dropped = [json.loads(line) for line in f]
    assert [d["id"] for d in dropped] == [pages[5]["id"]]

    register_plugin(QuizTasks(passage), "quiz-tasks")
    by_task = olmo_cli("data", "decontaminate", f"input={tmp_path / 'ds'}", f"output={tmp_path / 'clean2'}",
                       "tasks=[quiz]")
    assert by_task.exit_code == 0, by_task.err
    assert json.loads((tmp_path / "clean2" / "reports" / "decontaminate.json").read_text())[
        "contaminated_documents"] == 1
    opaque = olmo_cli("data", "decontaminate", f"input={tmp_path / 'ds'}", f"output={tmp_path / 'x'}", "tasks=[opaque]")
    assert opaque.exit_code == 2 and "task 'opaque' offers no texts()" in opaque.err


def test_shards_share_one_filter_and_write_what_one_run_writes(leads: list[Any], tmp_path: Path,
                                                               olmo_cli: Any) -> None:
    pages = [d.to_json() for d in get_host().registry("sources").build({"_name_": "c4", "limit": 20}).documents()]
    evaluation, training = leads[:10], leads[10:40]
    passages = [max(d.text.split("\n"), key=len) for d in evaluation[:2]]
    pages[3]["text"] += "\n" + passages[0]
    pages[14]["text"] = passages[1].lower() + "\n" + pages[14]["text"]
    files = {"web-0": pages[:10], "web-1": pages[10:], "wiki": [d.to_json() for d in training]}
    write(tmp_path / "eval" / "eval.jsonl.gz", [d.to_json() for d in evaluation])
    written = {}
    for count in (1, 2, 3):
        for name, documents in files.items():
            write(tmp_path / f"ds{count}" / "documents" / f"{name}.jsonl.gz", documents)
        args = ["data", "decontaminate", f"input={tmp_path / f'ds{count}'}", f"output={tmp_path / f'clean{count}'}",
                f"eval=[{tmp_path / 'eval'}]"]
        if count > 1:
            args += ["-m", "shard=" + ",".join(f"{i}/{count}" for i in range(count))]
        result = olmo_cli(*args)
        assert result.exit_code == 0, result.err
        clean = tmp_path / f"clean{count}"
        written[count] = ({p.relative_to(clean).as_posix(): gzip.decompress(p.read_bytes())
                           for p in sorted(clean.rglob("*.jsonl.gz"))},
                          (clean / "reports" / "decontamination" / "dedup" / "decontamination.bloom").read_bytes())
        reports = sorted((clean / "reports").glob("decontaminate*.json"))
        assert len(reports) == count
        assert sum(json.loads(r.read_text())["contaminated_documents"] for r in reports) == 2
        assert sum(json.loads(r.read_text())["kept"] for r in reports) == len(pages) + len(training) - 2
    assert written[2] == written[1] and written[3] == written[1]
    dropped = [json.loads(line)["id"] for f in ("web-0", "web-1")
               for line in written[1][0][f"dropped/{f}.jsonl.gz"].decode().splitlines()]
    assert dropped == [pages[3]["id"], pages[14]["id"]]
    description = json.loads((tmp_path / "clean3" / "reports" / "decontamination" / "dedup" /
                              "decontamination.bloom.json").read_text())
    assert description["spec"]["eval"] == [str(tmp_path / "eval")] and len(description["paragraphs"]) == 1


def test_evaluation_texts_too_short_for_a_paragraph_are_named(tmp_path: Path) -> None:
    from olmo_core.errors import ConfigError
    from olmo_data.decontamination import evaluation_filter

    quiz = tmp_path / "quiz.jsonl"
    quiz.write_text("".join(json.dumps({"id": str(i), "text": f"Q{i}? A{i}."}) + "\n" for i in range(3)))
    with pytest.raises(ConfigError, match=r"every paragraph of the 3 evaluation texts is shorter than min_chars=20"):
        evaluation_filter([str(quiz)], {}, settings={"normalize": "simple", "min_chars": 20})
    with pytest.raises(ConfigError, match=r"give eval=\[paths\] or tasks=\[\.\.\.\]"):
        evaluation_filter([], {}, settings={"normalize": "simple", "min_chars": 20})


def test_an_unreadable_evaluation_record_is_refused_with_its_file_and_line(tmp_path: Path) -> None:
    """Decontaminating against the readable part of the evaluation data would miss what the rest holds."""
    from olmo_core.errors import ConfigError
    from olmo_data.decontamination import evaluation_filter

    quiz = tmp_path / "eval" / "quiz.jsonl"
    quiz.parent.mkdir()
    passage = "The evaluation passage that a training document must not contain, long enough to count."
    quiz.write_text(json.dumps({"id": "1", "text": passage}) + "\n" + '{"id": "2", "text": "cut off\n')
    with pytest.raises(ConfigError) as info:
        evaluation_filter([str(tmp_path / "eval")], {}, settings={"normalize": "simple", "min_chars": 20})
    assert str(info.value).startswith(f"eval={tmp_path / 'eval'}: {quiz} line 2 is unreadable (")
    quiz.write_text(json.dumps({"id": "1", "text": passage}) + "\n")
    _, per_origin = evaluation_filter([str(tmp_path / "eval")], {}, settings={"normalize": "simple", "min_chars": 20})
    assert per_origin == {str(quiz): 1}
    with pytest.raises(ConfigError, match=r"^eval='.*books' matches no document files"):  # the key that names it
        evaluation_filter([str(tmp_path / "books")], {}, settings={"normalize": "simple", "min_chars": 20})
