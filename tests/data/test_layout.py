from __future__ import annotations

import functools
import pickle
from pathlib import Path

import pytest
from olmo_core.errors import ConfigError

from olmo_data.dedup.features import compute_features
from olmo_data.layout import Layout, check_output_apart


def test_a_worker_task_carries_the_dataset_folders_not_its_list_of_files(tmp_path: Path) -> None:
    """Each task sent to a worker is pickled with its layout: without the list of files it stays small however many
    files the input has, and every path a worker derives is the same."""
    files = [f"{tmp_path}/documents/cc/part-{i:05d}.jsonl.gz" for i in range(10_000)] + [f"{tmp_path}/other.parquet"]
    layout = Layout(files, str(tmp_path), f"{tmp_path}/documents", {f"{tmp_path}/documents/dir": "a directory"})
    slim = layout.for_workers()
    assert slim.files == [] and slim.skipped == {} and len(layout.files) == 10_001 and layout.skipped
    for file in files[:3] + files[-1:]:
        assert slim.attributes("bloom", file) == layout.attributes("bloom", file)
        assert slim.quarantine(file) == layout.quarantine(file)
        assert slim.jsonl(file) == layout.jsonl(file)
    task = functools.partial(compute_features, layout=slim, dedupers={"bloom": {"_name_": "bloom"}})
    assert len(pickle.dumps(task)) < 2_000 < len(pickle.dumps(functools.partial(task, layout=layout)))


@pytest.mark.parametrize(("input", "output", "refused"), [
    ("ds", "ds/", "is the input dataset"),
    ("ds/documents", "ds", "is the input dataset"),
    ("ds/documents/*.jsonl.gz", "ds/documents", "lies in the input's documents"),
    ("ds/documents/c4/part-0.jsonl.gz", "ds/documents/clean", "lies in the input's documents"),
    ("ds", "ds/filtered", None),  # the dataset's own subfolder, apart from its documents
    ("ds", "ds-filtered", None),
    ("ds", ".", None),
    ("loose", "loose", "is the input dataset"),  # a folder of files: its documents are the folder
    ("loose", "loose/filtered", "lies in the input's documents"),
    ("loose/*.jsonl", "loose-filtered", None),
])
def test_an_output_that_would_overwrite_the_input_is_refused(tmp_path: Path, input: str, output: str,
                                                              refused: str | None) -> None:
    (tmp_path / "ds" / "documents" / "c4").mkdir(parents=True)
    (tmp_path / "loose").mkdir()
    if refused is None:
        check_output_apart(str(tmp_path / input), str(tmp_path / output), "data filter")
        return
    with pytest.raises(ConfigError, match=f"{refused} .*: data filter writes a new dataset"):
        check_output_apart(str(tmp_path / input), str(tmp_path / output), "data filter")


@pytest.mark.parametrize(("input", "output", "refused"), [("s3://b/ds/documents/*.gz", "s3://b/ds", True),
                                                           ("s3://b/ds/documents", "s3://b/ds/documents/x", True),
                                                           ("s3://b/ds/documents", "s3://b/ds/out", False),
                                                           ("s3://b/ds/documents", "/b/ds", False)])
def test_urls_are_compared_as_they_are(input: str, output: str, refused: bool) -> None:
    if not refused:
        check_output_apart(input, output, "data mix")
        return
    with pytest.raises(ConfigError, match="data mix writes a new dataset"):
        check_output_apart(input, output, "data mix")


def test_amounts_read_as_english() -> None:
    from olmo_data.layout import amount

    assert [amount(n, "file") for n in (0, 1, 2, 1233)] == ["0 files", "1 file", "2 files", "1,233 files"]
