"""Every data job reads and writes through fsspec, the tokenizer's parts included.

docs/data.md's sharded recipe ("Beyond one machine": fetch, tag, filter, dedup in two phases, filter, mix,
decontaminate, tokenize, stats in two phases, each per-file step as a sweep over two shards) runs once to local
paths, once to ``memory://`` and once to ``s3://`` on an S3 server (moto) that the test starts on localhost, with
the credentials and the endpoint in the environment (``AWS_ENDPOINT_URL``, which botocore and so s3fs read). Each
remote run leaves the files of the local run, byte for byte; the files that name the run's own location or how
long a step took are compared with both set aside (see :func:`comparable`). Nothing is written to a local
folder named after a URL (``memory:``, ``s3:``), and no scratch file is left behind.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest

from olmo_core.artifacts import TokenArrays
from olmo_core.cli import invoke
from olmo_core.token_arrays import open_token_array, part_urls

from tests.conftest import stdlib_documents

SWEEP = ["-m", "shard=0/2,1/2"]
URL_FOLDERS = re.compile(r"^(memory|s3|file):")
"""A local file or folder named like a URL's protocol: what a ``Path(url)`` makes."""


def write_inputs(root: str) -> None:
    """The user's own files, on the same storage: a JSON-lines source whose documents come twice (exact duplicates
    for dedup) and an evaluation set holding one of their paragraphs (for decontamination)."""
    records = stdlib_documents()
    with fsspec.open(f"{root}/inputs/copies.jsonl", "wt", encoding="utf-8") as f:
        for copy in ("a", "b"):
            f.writelines(json.dumps({**r, "id": f"{r['id']}-{copy}"}) + "\n" for r in records)
    paragraph = max(str(records[0]["text"]).split("\n\n"), key=len)
    with fsspec.open(f"{root}/eval/eval.jsonl", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"id": "eval-0", "text": paragraph, "source": "eval"}) + "\n")


def curate(root: str) -> None:
    """The recipe of docs/data.md's "Beyond one machine" on a small built-in sample, every path under ``root``."""
    write_inputs(root)
    steps = [
        ["data", "fetch", "sources=[c4,wikipedia,jsonl]", "limits={c4: 20, wikipedia: 10}",
         f"sources.jsonl.path={root}/inputs/copies.jsonl", "sources.jsonl.name=copies", "documents_per_file=10",
         f"output={root}/ds"],
        ["data", "tag", f"input={root}/ds", "taggers=[language,gopher_quality]", *SWEEP],
        ["data", "filter", f"input={root}/ds", f"output={root}/clean", "exclude=['language__language__en < 0.5']",
         *SWEEP],
        ["data", "dedup", f"input={root}/clean", "dedupers=[exact,minhash]", *SWEEP],
        ["data", "dedup", f"input={root}/clean", "dedupers=[exact,minhash]", "phase=decide"],
        ["data", "filter", f"input={root}/clean", f"output={root}/unique",
         "exclude=['exact__exact__duplicate == 1','minhash__minhash__duplicate == 1']", *SWEEP],
        ["data", "mix", f"input={root}/unique", f"output={root}/mix", "mixer.factors={c4: 1.5, wikipedia: 0.5}",
         *SWEEP],
        ["data", "decontaminate", f"input={root}/mix", f"output={root}/decon", f"eval=[{root}/eval]", *SWEEP],
        ["data", "tokenize", f"input={root}/decon", f"output={root}/tokens", *SWEEP],
        ["data", "stats", f"input={root}/decon", f"output={root}/stats", *SWEEP],
        ["data", "stats", f"input={root}/decon", f"output={root}/stats", "phase=merge"],
    ]
    for step in steps:
        invoke(step)


def files_under(root: str) -> dict[str, bytes]:
    """Every file under ``root``, by its path below it."""
    fs, path = fsspec.core.url_to_fs(root)
    path = path.rstrip("/")
    return {found[len(path) + 1:]: fs.cat_file(found) for found in fs.find(path)}


TIMINGS = {"seconds", "docs_per_second", "sweep"}
"""Keys whose values differ from run to run: how long a step took, and a sweep job's sweep id."""
RECORDS = re.compile(r"(^|/)(result\.json|report\.md|sweep\.json)$|/reports/[^/]+\.json$|\.meta\.json$"
                     r"|\.bloom\.json$|^/stats/stats[^/]*\.json$|/dedup/features/")
"""The files that legitimately differ between runs at different places: the job records (``result.json``: the
work directory, the seconds; ``report.md``: the paths it names; a sweep job's ``sweep.json``: its sweep's id),
the steps' reports (the input and output paths,
seconds and documents per second), the token parts' metadata (the input file's path), the evaluation filter's
description (the evaluation files' paths), the statistics (the input's path) and the dedup features' headers
(the seconds each file took). Everything else (documents, attributes, dropped and quarantined lines, Bloom
filters, tokens and their sidecars, partial counts, figures) must be the same bytes."""


def comparable(name: str, data: bytes, spellings: list[str]) -> Any:
    """A record file with the run's location (each of its ``spellings``) written ``<root>`` and every timing
    value ``None``; parsed when it is JSON or JSON lines."""
    text = (gzip.decompress(data) if name.endswith(".gz") else data).decode("utf-8")
    for spelling in spellings:
        text = text.replace(spelling, "<root>")
    if name.endswith(".md"):
        return text
    if name.endswith(".json"):
        return untimed(json.loads(text))
    return [untimed(json.loads(line)) for line in text.splitlines()]


def untimed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: None if k in TIMINGS else untimed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [untimed(v) for v in value]
    return value


def spellings(root: str) -> list[str]:
    """How paths under ``root`` are written: as given, and as fsspec writes them back (``memory:///x``)."""
    fs, path = fsspec.core.url_to_fs(root)
    return sorted({root, fs.unstrip_protocol(path)}, key=len, reverse=True)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The working directory of the runs, with the system's temporary directory inside it, so that the tests see
    everything written locally."""
    folder = tmp_path_factory.mktemp("cwd")
    (folder / "tmp").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.setattr(tempfile, "tempdir", str(folder / "tmp"))
        yield folder


@pytest.fixture(scope="module")
def local_run(scratch: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, bytes]]:
    """Where the recipe ran with every path local, and the files it left."""
    root = tmp_path_factory.mktemp("local") / "run"
    curate(str(root))
    return root, files_under(str(root))


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """An S3 API on localhost (moto's server, on a free port), with test credentials and its endpoint in the
    environment, and a bucket ``olmo``."""
    import s3fs
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as mp:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            mp.delenv(name, raising=False)
        mp.setenv("AWS_ACCESS_KEY_ID", "olmo-test")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "olmo-test-secret")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_ENDPOINT_URL", endpoint)
        s3fs.S3FileSystem.clear_instance_cache()
        fsspec.filesystem("s3").mkdir("olmo")
        try:
            yield endpoint
        finally:
            s3fs.S3FileSystem.clear_instance_cache()
            server.stop()


def assert_same_files(local_run: tuple[Path, dict[str, bytes]], remote_root: str) -> None:
    local_root, local = local_run
    remote = files_under(remote_root)
    logs = {name for name in local if name.endswith("log.txt")}
    assert logs and set(remote) == set(local) - logs  # a remote work directory keeps no log.txt (olmo_core.logs)
    raw = sorted(name for name in remote if remote[name] != local[name])
    assert [name for name in raw if not RECORDS.search(f"/{name}")] == []
    for name in raw:
        assert comparable(name, remote[name], spellings(remote_root)) == \
            comparable(name, local[name], [str(local_root)]), name
    assert any(name.startswith("tokens/part-") and name.endswith(".npy") for name in remote)
    assert any(name.endswith(".png") for name in remote)


def assert_nothing_local(scratch: Path) -> None:
    assert [p for p in scratch.rglob("*") if URL_FOLDERS.match(p.name)] == []
    assert list((scratch / "tmp").iterdir()) == []  # every scratch file of an upload was removed


@pytest.mark.slow
def test_the_recipe_on_memory_leaves_the_files_of_the_local_run(local_run: tuple[Path, dict[str, bytes]],
                                                                 scratch: Path) -> None:
    root = f"memory://olmo-{uuid.uuid4().hex[:8]}/run"
    try:
        curate(root)
        assert_same_files(local_run, root)
        assert_nothing_local(scratch)
    finally:
        fsspec.filesystem("memory").rm(fsspec.core.url_to_fs(root)[1], recursive=True)


@pytest.mark.slow
def test_the_recipe_on_s3_leaves_the_files_of_the_local_run(local_run: tuple[Path, dict[str, bytes]],
                                                             scratch: Path, s3_endpoint: str) -> None:
    root = "s3://olmo/run"
    curate(root)
    assert_same_files(local_run, root)
    assert_nothing_local(scratch)
    tokens = [open_token_array(url) for url in part_urls(f"{root}/tokens")]
    assert [t.url for t in tokens] == [f"{root}/tokens/part-{i:05d}.npy" for i in range(len(tokens))]
    local = [open_token_array(local_run[0] / "tokens" / t.path.name) for t in tokens]
    assert [t.tokens.tolist() for t in tokens] == [t.tokens.tolist() for t in local]
    assert [t.ids for t in tokens] == [t.ids for t in local]
    training = pytest.importorskip("olmo_train.data.dataset")  # the trainer reads the parts where they are
    remote_data = training.FSLDataset([f"{root}/tokens"], seq_len=64)
    local_data = training.FSLDataset([local_run[0] / "tokens"], seq_len=64)
    assert len(remote_data) == len(local_data) == sum(len(t) // 64 for t in local) > 0
    assert remote_data.fingerprint() == local_data.fingerprint()
    assert [remote_data.tokens(i).tolist() for i in range(len(local_data))] == \
        [local_data.tokens(i).tolist() for i in range(len(local_data))]
    assert remote_data.provenance(len(local_data) - 1) == local_data.provenance(len(local_data) - 1)


def test_tokenize_writes_memory_parts_to_memory_not_to_a_local_folder(
        dataset: Path, tmp_path: Path, olmo_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    local, root = tmp_path / "tokens", f"memory://olmo-{uuid.uuid4().hex[:8]}/tok"
    assert olmo_cli("data", "tokenize", f"input={dataset}", f"output={local}").exit_code == 0
    try:
        result = olmo_cli("data", "tokenize", f"input={dataset}", f"output={root}")
        assert result.exit_code == 0, result.err
        assert f"output={root} is held in this process's memory: it is gone when the command ends" in result.err
        assert [p.name for p in tmp_path.iterdir() if URL_FOLDERS.match(p.name)] == []
        fs = fsspec.filesystem("memory")
        for name in ("part-00000.npy", "part-00000.csv.gz", "part-00000.meta.json"):
            assert fs.cat_file(f"{root}/{name}") == (local / name).read_bytes(), name
        assert part_urls(root) == [f"{root}/part-00000.npy"]
        part, expected = open_token_array(f"{root}/part-00000.npy"), open_token_array(local / "part-00000.npy")
        assert part.tokens.tolist() == expected.tokens.tolist() and part.ids == expected.ids
        assert (part.url, part.path.name) == (f"{root}/part-00000.npy", "part-00000.npy")
        again = olmo_cli("data", "tokenize", f"input={dataset}", f"output={root}")
        assert again.exit_code == 0 and "1 part already complete" in again.err
        assert json.loads(fs.cat_file(f"{root}/tokenize.json"))["tokens"] == len(expected)
        arrays = TokenArrays(path=root)  # what `olmo train data=[memory://...]` checks its input with
        assert arrays.problem() is None and arrays.files() == [f"{root}/part-00000.meta.json"]
    finally:
        fsspec.filesystem("memory").rm(fsspec.core.url_to_fs(root)[1], recursive=True)


def test_a_remote_write_is_whole_or_absent_and_as_a_local_one(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from olmo_core.io import open_atomic

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    root = f"memory://olmo-{uuid.uuid4().hex[:8]}"
    fs = fsspec.filesystem("memory")
    try:
        with pytest.raises(RuntimeError), open_atomic(f"{root}/half.jsonl.gz", "wt", compression="infer") as f:
            f.write('{"id": "a"}\n')
            raise RuntimeError("interrupted")
        assert not fs.exists(f"{root}/half.jsonl.gz")
        for target in (f"{root}/docs.jsonl.gz", str(tmp_path / "docs.jsonl.gz")):
            with open_atomic(target, "wt", compression="infer", encoding="utf-8") as f:
                f.write('{"id": "a", "text": "one"}\n')
        assert fs.cat_file(f"{root}/docs.jsonl.gz") == (tmp_path / "docs.jsonl.gz").read_bytes()
        assert gzip.decompress((tmp_path / "docs.jsonl.gz").read_bytes()) == b'{"id": "a", "text": "one"}\n'
        assert list((tmp_path / "tmp").iterdir()) == []
    finally:
        fs.rm(fsspec.core.url_to_fs(root)[1], recursive=True)


def test_a_missing_bucket_is_refused_not_created(dataset: Path, olmo_cli: Any, s3_endpoint: str) -> None:
    result = olmo_cli("data", "tokenize", f"input={dataset}", "output=s3://olmo-misspelled/tok")
    assert result.exit_code == 2
    assert ("s3://olmo-misspelled/tok: the bucket 'olmo-misspelled' does not exist (olmo creates no buckets)"
            in result.err)
    assert not fsspec.filesystem("s3").exists("olmo-misspelled")
