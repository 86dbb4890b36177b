from __future__ import annotations

from pathlib import Path

from olmo_core.artifacts import Checkpoint, Dataset, EvalResults, JobRecord, TokenArrays, checkpoint_step_dir
from olmo_core.jobs import markdown_table, text_table
from olmo_core.token_arrays import TokenArrayWriter


def test_each_artifact_is_complete_only_with_its_contents_and_without_the_incomplete_marker(tmp_path: Path) -> None:
    empty, full = tmp_path / "empty", tmp_path / "full"
    empty.mkdir()
    full.mkdir()
    (full / "a.jsonl").write_text('{"id": "1", "text": "one"}\n')
    writer = TokenArrayWriter(full / "part-0", tokenizer={"name": "t"}, eos_token_id=9, vocab_size=10)
    writer.add([1, 2, 3], document_id="1", source="s", line=1)
    writer.close(input="a.jsonl")
    for marker in ("manifest.json", "results.json", "result.json"):
        (full / marker).write_text("{}")
    types = (Dataset, TokenArrays, Checkpoint, EvalResults, JobRecord)
    assert [t(path=str(empty)).is_complete() for t in types] == [False] * 5
    assert [t(path=str(tmp_path / "missing")).is_complete() for t in types] == [False] * 5
    assert [t(path=str(full)).is_complete() for t in types] == [True] * 5
    assert Dataset(path=str(full / "*.jsonl")).is_complete()  # a glob names a dataset too
    (full / ".incomplete").write_text("")
    assert [t(path=str(full)).is_complete() for t in types] == [False] * 5


def test_markdown_table() -> None:
    assert markdown_table(["run", "loss"], [["a", 1.5], ("b", None)]) == \
        ["| run | loss |", "|---|---|", "| a | 1.5 |", "| b | None |"]


def test_text_table() -> None:
    rows = [["source", "docs", "note"], ["c4", "1,000", "web"], ["wikipedia", "12", ""]]
    assert text_table(rows, right=[1]) == ["source      docs  note", "c4         1,000  web", "wikipedia     12  "]
    assert text_table(rows, right=[1, 2])[2] == "wikipedia     12      "
    assert text_table([]) == []


def test_a_run_directory_is_a_complete_checkpoint_while_it_holds_one(tmp_path: Path) -> None:
    run = tmp_path / "run"
    (run / "checkpoints" / "step000002").mkdir(parents=True)
    (run / ".incomplete").write_text("")  # a later command there was refused or failed
    assert Checkpoint(path=str(run)).problem() == \
        f"{run} is incomplete: the last run there did not finish (see {run}/log.txt)"
    (run / "checkpoints" / "step000002" / "manifest.json").write_text("{}")
    assert Checkpoint(path=str(run)).problem() is None
    assert checkpoint_step_dir(str(run)) == str(run / "checkpoints" / "step000002")
    # what a rerun compares: the files of the checkpoint the run directory names, not of the run directory
    assert Checkpoint(path=str(run)).files() == [str(run / "checkpoints" / "step000002" / "manifest.json")]


def test_files_are_what_each_artifact_holds(tmp_path: Path) -> None:
    (tmp_path / "ds" / "documents").mkdir(parents=True)
    (tmp_path / "ds" / "documents" / "a.jsonl").write_text('{"id": "1", "text": "one"}\n')
    assert Dataset(path=str(tmp_path / "ds")).files() == [str(tmp_path / "ds" / "documents" / "a.jsonl")]
    (tmp_path / "eval").mkdir()
    assert EvalResults(path=str(tmp_path / "eval")).files() == []
    (tmp_path / "eval" / "results.json").write_text("{}")
    assert EvalResults(path=str(tmp_path / "eval")).files() == [str(tmp_path / "eval" / "results.json")]


def test_a_path_of_another_type_says_what_it_is_and_how_to_make_the_needed_one(tmp_path: Path) -> None:
    (tmp_path / "ds" / "documents").mkdir(parents=True)
    (tmp_path / "ds" / "documents" / "a.jsonl").write_text('{"id": "1", "text": "one"}\n')
    ds = tmp_path / "ds"
    assert TokenArrays(path=str(ds)).problem() == (f"{ds} is a dataset (documents/), not token arrays: run "
                                                   f"`olmo data tokenize input={ds} output=<dir>` first")
    (tmp_path / "empty").mkdir()
    assert TokenArrays(path=str(tmp_path / "empty")).problem() == \
        f"{tmp_path / 'empty'} does not hold token arrays: run `olmo data tokenize input=<dir> output=<dir>` first"
    assert EvalResults(path=str(tmp_path / "empty")).problem() == \
        f"{tmp_path / 'empty'} does not hold evaluation results"
    weights = tmp_path / "step000049" / "model.safetensors"
    weights.parent.mkdir()
    weights.write_bytes(b"not a directory")
    assert Checkpoint(path=str(weights)).problem() == (f"{weights} does not hold a checkpoint: `olmo train "
                                                       f"data=[<token arrays dir>] output=<dir>` writes one")
    assert TokenArrays(path=str(tmp_path / "absent")).problem() == f"{tmp_path / 'absent'} does not exist"


def test_a_training_run_a_token_part_and_non_checkpoints_are_named_for_what_they_are(tmp_path: Path) -> None:
    import json

    import pytest

    from olmo_core.artifacts import require_checkpoint
    from olmo_core.errors import ConfigError

    run = tmp_path / "run"
    (run / "checkpoints" / "step000002").mkdir(parents=True)
    (run / "checkpoints" / "step000002" / "manifest.json").write_text("{}")
    (run / "checkpoints" / "step000002" / "model.safetensors").write_bytes(b"")
    assert TokenArrays(path=str(run)).problem() == (f"{run} is a training run, not token arrays: run `olmo data "
                                                    f"tokenize input=<dir> output=<dir>` first")
    tokens = tmp_path / "tokens"
    writer = TokenArrayWriter(tokens / "part-00000", tokenizer={"name": "t"}, eos_token_id=9, vocab_size=10)
    writer.add([1, 2, 3], document_id="1", source="s", line=1)
    writer.close(input="a.jsonl")
    part = tokens / "part-00000.npy"
    assert TokenArrays(path=str(part)).problem() == \
        f"{part} is one part of the token arrays {tokens}: give the folder ({tokens})"
    with pytest.raises(ConfigError) as refused:
        require_checkpoint(str(tokens), key="init_from")
    assert str(refused.value) == (f"init_from: {tokens} is token arrays, not a checkpoint: `olmo train "
                                  f"data=[<token arrays dir>] output=<dir>` writes one")
    failed = tmp_path / "failed"
    failed.mkdir()
    (failed / ".incomplete").write_text("")
    with pytest.raises(ConfigError) as refused:
        require_checkpoint(str(failed))
    assert str(refused.value) == \
        f"checkpoint: {failed} is incomplete: the last run there did not finish (see {failed}/log.txt)"
    hf = tmp_path / "hf"
    hf.mkdir()
    (hf / "config.json").write_text(json.dumps({"model_type": "olmo2", "architectures": ["Olmo2ForCausalLM"]}))
    with pytest.raises(ConfigError) as refused:
        require_checkpoint(str(hf))
    assert str(refused.value) == (f"checkpoint: {hf} is a transformers model (model_type olmo2), not an olmo "
                                  f"checkpoint: `olmo model import-hf checkpoint={hf} output=<dir>` converts it")
    assert require_checkpoint(str(run)) == str(run / "checkpoints" / "step000002")
