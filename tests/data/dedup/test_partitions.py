"""``phase=decide partition=i/N`` then ``phase=resolve``: the same files and reports as one deciding job."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from olmo_core.documents import Document
from olmo_core.errors import ConfigError

from olmo_data.dedup.base import DocumentRef
from olmo_data.dedup.minhash import MinHashConfig, MinHashDeduper
from olmo_data.dedup.partition import BucketIndex, Groups
from tests.data.dedup.conftest import attribute_rows, copy, marked, planted_corpus, source_documents, write_dataset
from tests.data.dedup.test_command import ALL, SMALL
from tests.data.dedup.test_features import decided


def test_bucket_index_groups_shared_hashes_in_corpus_order() -> None:
    index = BucketIndex()
    index.add(np.array([4, 7, 7], dtype=np.uint64), np.array([10, 10, 12]))  # one file's pairs, sorted by hash
    index.add(np.array([4, 7, 10, 13], dtype=np.uint64), np.array([13, 14, 12, 13]))
    assert index.pairs == 7
    assert [g.tolist() for g in index.groups()] == [[10, 13], [10, 12, 14]]  # 10 and 13 occur once
    assert (BucketIndex().pairs, list(BucketIndex().groups())) == (0, [])
    groups = Groups(np.array([10, 13, 10, 12, 14]), np.array([2, 3]), documents=15)
    assert [groups.of(p) for p in range(15)] == [[]] * 10 + [[0, 1], [], [1], [0], [1]]
    assert groups.last.tolist() == [13, 14]
    with pytest.raises(ConfigError, match="hold more than the 15 documents"):
        groups.of(15)
    with pytest.raises(ConfigError, match="hold 14 documents, the partitions saw 15"):
        groups.check_all_seen(14)


def test_minhash_resolver_takes_no_candidate_from_a_hash_collision() -> None:
    deduper = MinHashDeduper(MinHashConfig())
    first = np.arange(1, 113, dtype=np.uint64) * np.uint64(7919)
    second = first.copy()
    second[np.arange(14) * 8 + 3] += np.uint64(1)  # 98 of 112 values equal (0.875), yet no band of 8 equal
    near = first.copy()
    near[np.arange(1, 14) * 8] += np.uint64(1)  # band 0 equal, 99 of 112 values (0.884)
    documents = [DocumentRef(f"d{i}", "s", 10, "f") for i in range(3)]
    resolver = deduper.resolver(Groups(np.array([0, 1, 2]), np.array([3]), documents=3))  # as if the hashes collided
    marks = [resolver.mark(d, (v, None)) for d, v in zip(documents, (first, second, near), strict=True)]
    assert [m.duplicate for m in marks] == [False, False, True]
    assert marks[2].attributes["duplicate_of"] == [[0, 10, "d0"]]
    assert marks[1].attributes["similarity"] == [[0, 10, 0]]  # d0 was no candidate of d1
    single = MinHashDeduper(MinHashConfig())
    assert [single.mark(d, (v, None)).duplicate for d, v in zip(documents, (first, second, near), strict=True)] == \
        [False, False, True]
    assert resolver.end() == single.end()


def chains() -> dict[str, list[Document]]:
    """Near-duplicate chains and a text/URL chain across three files, from documents the planted corpus lacks.

    MinHash (14 bands of 8): ``chain-2b`` edits 7 words of ``chain-2a`` (estimated similarity 0.79, 2 bands
    shared), ``chain-2c`` 7 more of ``chain-2b`` (0.73 to it, 1 band; 0.56 to ``chain-2a``, none); ``chain-4*``
    likewise (0.84 and 3 bands, 0.86 and 5 bands, 0.71 and 1 band). Keep-first marks each ``b`` and keeps each
    ``c``: its only close candidate was not kept. Exact: ``url-y`` repeats ``url-x``'s URL, ``url-z`` repeats
    ``url-y``'s text (but ``url-y`` was not kept, so ``url-z`` is), ``url-w`` repeats ``url-z``'s text.
    """
    leads = [d for d in source_documents("wikipedia")[300:] if len(d.text.split()) >= 250]

    def edit(text: str, start: int, word: str) -> str:
        words = text.split(" ")
        for band in range(start, 14, 2):
            words[int(len(words) * (band + 0.5) / 14)] = word
        return " ".join(words)

    found: dict[str, list[Document]] = {"d-chains": [], "e-chains": [], "f-chains": []}
    for j in (2, 4):
        edited = edit(leads[j].text, 0, "zeppelin")
        found["d-chains"].append(copy(leads[j], f"chain-{j}a"))
        found["e-chains"].append(copy(leads[j], f"chain-{j}b", edited))
        found["f-chains"].append(copy(leads[j], f"chain-{j}c", edit(edited, 1, "quokka")))
    found["d-chains"].append(copy(leads[0], "url-x", url="https://example.org/x"))
    found["e-chains"].append(copy(leads[1], "url-y", url="https://example.org/x"))
    found["f-chains"] += [copy(leads[1], "url-z", url="https://example.org/z"), copy(leads[1], "url-w")]
    return found


def partitioned(dataset: Path, count: int, run_dedup: Any) -> tuple[dict[str, bytes], dict[str, Any]]:
    """What ``count`` partitions and a resolve write, from the features already saved under ``dataset``."""
    for written in ("attributes", "dedup/partial"):
        shutil.rmtree(dataset / written, ignore_errors=True)
    (dataset / "dedup" / "bloom.bloom").unlink()
    sweep = ",".join(f"{i}/{count}" for i in range(count))
    run_dedup(dataset, ALL, *SMALL, "phase=decide", "-m", f"partition={sweep}")
    assert not (dataset / "attributes").exists()
    for i in range(count):
        report = json.loads((dataset / "reports" / f"dedup-decide-{i}-of-{count}.json").read_text())
        assert report["complete"] and report["documents"] == 415 and report["peak_rss_bytes"] > 0
        assert sorted(report["dedupers"]) == ["exact", "minhash"]  # bloom is decided by resolve
    resolved = run_dedup(dataset, ALL, *SMALL, "phase=resolve", "workers=2")
    assert f"from {count} partitions" in resolved.err
    written, reports = decided(dataset)
    return {k: v for k, v in written.items() if not k.startswith("dedup/partial/")}, reports


@pytest.mark.slow
def test_partitions_then_resolve_equal_one_decision(tmp_path: Path, run_dedup: Any, olmo_cli: Any) -> None:
    files, originals = planted_corpus()
    wikipedia = files["a-wikipedia"]
    split = {"a-0": wikipedia[:150], "a-1": wikipedia[150:], "b-c4": files["b-c4"], "c-planted": files["c-planted"],
             **chains()}
    dataset = write_dataset(tmp_path / "ds", split)
    run_dedup(dataset, ALL, *SMALL, "-m", "shard=0/3,1/3,2/3")
    run_dedup(dataset, ALL, *SMALL, "phase=decide")
    expected = decided(dataset)
    exact = marked(attribute_rows(dataset, "exact"), "exact__exact__duplicate")
    assert exact == {"planted-copy": originals["planted-copy"].id, "planted-recrawl": originals["planted-recrawl"].id,
                     "url-y": "url-x", "url-w": "url-z"}
    minhash = marked(attribute_rows(dataset, "minhash"), "minhash__minhash__duplicate")
    assert minhash == {**{k: v.id for k, v in originals.items()}, "chain-2b": "chain-2a", "chain-4b": "chain-4a",
                       "url-z": "url-y", "url-w": "url-y"}
    for count in (1, 2, 3):
        assert partitioned(dataset, count, run_dedup) == expected, count

    def dedup(*overrides: str) -> Any:
        return olmo_cli("data", "dedup", f"input={dataset}", ALL, *SMALL, *overrides)

    (dataset / "dedup" / "partial" / "decide-1-of-3" / "minhash.jsonl.gz").unlink()
    missing = dedup("phase=resolve")
    assert missing.exit_code == 2 and "1 of 3 partitions of 'minhash' are missing (first: partition=1/3)" in missing.err
    run_dedup(dataset, "dedupers=[exact]", "phase=decide", "partition=0/2")
    mixed = olmo_cli("data", "dedup", f"input={dataset}", "dedupers=[exact]", "phase=resolve")  # no bloom options
    assert mixed.exit_code == 2 and "holds partitions of runs with N = 2, 3" in mixed.err
    changed = dedup("dedupers.minhash.threshold=0.5", "phase=decide", "partition=0/3")
    assert changed.exit_code == 2 and "run phase=features again with these settings" in changed.err
    for wrong, message in (("phase=all", "partition=0/2 goes with phase=decide"),
                           ("phase=resolve", "partition=0/2 goes with phase=decide")):
        refused = dedup(wrong, "partition=0/2")
        assert refused.exit_code == 2 and message in refused.err, wrong
    bad = dedup("phase=decide", "partition=2/2")
    assert bad.exit_code == 2 and "partition='2/2' must look like i/N" in bad.err
    only_bloom = olmo_cli("data", "dedup", f"input={dataset}", "dedupers=[bloom]", *SMALL, "phase=decide",
                          "partition=0/2")
    assert only_bloom.exit_code == 2 and "none of the dedupers bloom decides in partitions" in only_bloom.err


@pytest.mark.slow
def test_partitions_with_verified_jaccard_equal_one_decision(tmp_path: Path, run_dedup: Any) -> None:
    files, _ = planted_corpus()
    dataset = write_dataset(tmp_path / "ds", {"b-c4": files["b-c4"], "c-planted": files["c-planted"], **chains()})
    options = ("dedupers=[minhash]", "dedupers.minhash.verify=true")
    run_dedup(dataset, *options, "-m", "shard=0/2,1/2")
    run_dedup(dataset, *options, "phase=decide")
    expected = (dataset / "attributes" / "minhash").rglob("*.jsonl.gz")
    expected_bytes = {p.name: p.read_bytes() for p in expected}
    report = json.loads((dataset / "reports" / "dedup-minhash.json").read_text())
    shutil.rmtree(dataset / "attributes")
    run_dedup(dataset, *options, "phase=decide", "-m", "partition=0/2,1/2")
    run_dedup(dataset, *options, "phase=resolve")
    assert {p.name: p.read_bytes() for p in (dataset / "attributes" / "minhash").rglob("*.jsonl.gz")} == expected_bytes
    resolved = json.loads((dataset / "reports" / "dedup-minhash.json").read_text())
    assert (resolved["details"], resolved["duplicate_documents"]) == (report["details"], report["duplicate_documents"])
    assert marked(attribute_rows(dataset, "minhash"), "minhash__minhash__duplicate")["chain-2b"] == "chain-2a"


def test_resolve_refuses_partitions_of_other_features(tmp_path: Path, run_dedup: Any, olmo_cli: Any) -> None:
    files, _ = planted_corpus()
    dataset = write_dataset(tmp_path / "ds", {"b-c4": files["b-c4"], "c-planted": files["c-planted"]})
    options = ("dedupers=[exact]",)
    run_dedup(dataset, *options, "phase=features")
    run_dedup(dataset, *options, "phase=decide", "-m", "partition=0/2,1/2")
    planted = dataset / "documents" / "c-planted.jsonl.gz"
    write_dataset(dataset, {"c-planted": files["c-planted"][:-1]})  # the file changed since its features
    stale = olmo_cli("data", "dedup", f"input={dataset}", *options, "phase=resolve")
    assert stale.exit_code == 2 and f"{planted} changed since its features were saved" in stale.err
    run_dedup(dataset, *options, "phase=features")  # features of the new content; the partitions are older
    older = olmo_cli("data", "dedup", f"input={dataset}", *options, "phase=resolve")
    assert older.exit_code == 2 and "decided over other saved features" in older.err
    run_dedup(dataset, *options, "phase=decide", "-m", "partition=0/2,1/2")
    run_dedup(dataset, *options, "phase=resolve")
    (dataset / "dedup" / "buckets" / "exact" / "b-c4.jsonl.gz.buckets").unlink()
    missing = olmo_cli("data", "dedup", f"input={dataset}", *options, "phase=decide", "partition=0/2")
    assert missing.exit_code == 2 and "1 saved bucket file is missing" in missing.err
