from __future__ import annotations

import functools
import pickle
from pathlib import Path

from olmo_data.dedup.features import compute_features
from olmo_data.layout import Layout


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
