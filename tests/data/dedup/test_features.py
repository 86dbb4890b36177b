"""``olmo data dedup`` in two phases: features saved per shard, then one job deciding over all of them."""

from __future__ import annotations

import json
import pickle
import re
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from olmo_core.documents import Document
from olmo_core.errors import PluginError
from olmo_core.plugins import PluginHost, set_host

from olmo_data.dedup.base import DocumentRef
from olmo_data.dedup.bloom import BloomConfig, BloomDeduper
from olmo_data.dedup.features import FileFeatures, _add_features, _feature_deduper, decode, encode
from tests.data.dedup.conftest import attribute_rows, marked, planted_corpus, source_documents, write_dataset
from tests.data.dedup.test_command import ALL, SMALL, outputs, without_timings

NAMES = ("exact", "bloom", "minhash")


def test_features_survive_encoding() -> None:
    values = (b"\x00\xffdigest", "https://example.org", None, [(0, 12, -(2**127)), (12, 30, 2**127 - 1)],
              np.array([3, 2**64 - 1], dtype=np.uint64), {"k": np.zeros((2, 3), dtype="<f4")}, True, 0.25)
    back = decode(json.loads(json.dumps(encode(values))))
    assert back[:3] == [b"\x00\xffdigest", "https://example.org", None]
    assert back[3] == [[0, 12, -(2**127)], [12, 30, 2**127 - 1]]
    assert back[4].dtype == np.uint64 and back[4].tolist() == [3, 2**64 - 1]
    assert back[5]["k"].shape == (2, 3) and back[5]["k"].dtype == np.float32
    assert back[6:] == [True, 0.25]
    with pytest.raises(TypeError, match="cannot hold a set"):
        encode({1, 2})


def decided(dataset: Path) -> tuple[dict[str, bytes], dict[str, Any]]:
    """The attribute files and filter a run wrote, and its reports without timings."""
    files = {k: v for k, v in outputs(dataset).items() if not k.startswith(("dedup/features/", "dedup/buckets/"))}
    reports = {n: without_timings(json.loads((dataset / "reports" / f"dedup-{n}.json").read_text())) for n in NAMES}
    return files, reports


@pytest.mark.slow
def test_sharded_features_then_one_decision_equal_one_run(tmp_path: Path, run_dedup: Any) -> None:
    files, originals = planted_corpus()
    wikipedia = files["a-wikipedia"]
    split = {"a-0": wikipedia[:150], "a-1": wikipedia[150:], "b-c4": files["b-c4"], "c-planted": files["c-planted"]}
    one = write_dataset(tmp_path / "one", split)
    run_dedup(one, ALL, *SMALL)
    expected = decided(one)
    for count in (2, 3):
        dataset = write_dataset(tmp_path / f"n{count}", split)
        shards = ",".join(f"{i}/{count}" for i in range(count))
        swept = run_dedup(dataset, ALL, *SMALL, "-m", f"shard={shards}")
        assert "next: the same command with phase=decide" in swept.err
        assert not (dataset / "attributes").exists()
        saved = sorted(p.relative_to(dataset / "dedup" / "features").as_posix()
                       for p in (dataset / "dedup" / "features").rglob("*.jsonl.gz"))
        assert saved == [f"{n}/{f}.jsonl.gz" for n in sorted(NAMES) for f in sorted(split)]
        run_dedup(dataset, ALL, *SMALL, "phase=decide", "workers=2")
        assert decided(dataset) == expected, count
    rows = attribute_rows(one, "minhash")
    assert marked(rows, "minhash__minhash__duplicate") == {k: v.id for k, v in originals.items()}
    exact = attribute_rows(one, "exact")
    assert marked(exact, "exact__exact__duplicate") == {"planted-copy": originals["planted-copy"].id,
                                                        "planted-recrawl": originals["planted-recrawl"].id}


@pytest.mark.slow
def test_phases_refuse_what_cannot_be_decided(tmp_path: Path, run_dedup: Any, olmo_cli: Any) -> None:
    files, _ = planted_corpus()
    dataset = write_dataset(tmp_path / "ds", {"b-c4": files["b-c4"][:20], "c-planted": files["c-planted"]})

    def dedup(*overrides: str) -> Any:
        return olmo_cli("data", "dedup", f"input={dataset}", *overrides)

    early = dedup("dedupers=[exact]", "phase=decide")
    assert early.exit_code == 2 and "phase=decide: the features of exact are missing for 2 files (first: " \
        "b-c4.jsonl.gz): run phase=features dedupers=[exact] (shard=i/N)" in early.err
    run_dedup(dataset, "dedupers=[exact]", "shard=0/2")
    half = dedup("dedupers=[exact]", "phase=decide")
    assert half.exit_code == 2 and "features of exact are missing for 1 file (first: c-planted.jsonl.gz)" in half.err
    run_dedup(dataset, "dedupers=[exact]", "shard=1/2")
    more = dedup("dedupers=[exact,bloom]", "phase=resolve")  # a deduper whose features were never computed
    assert more.exit_code == 2 and "phase=resolve: the features of bloom are missing for 2 files" in more.err
    changed = dedup("dedupers=[exact]", "dedupers.exact.normalize=simple", "phase=decide")
    assert changed.exit_code == 2 and "run phase=features again with these settings" in changed.err
    assert "(normalize: 'none' -> 'simple')" in changed.err  # the setting that changed, not both configs
    both = dedup("dedupers=[exact]", "shard=0/2", "phase=decide")
    assert both.exit_code == 2 and "phase=decide takes no shard" in both.err
    ordered = dedup("dedupers=[exact]", "shard=0/2", "phase=all")
    assert ordered.exit_code == 2 and "dedupers exact decide against every earlier document" in ordered.err
    bad = dedup("dedupers=[exact]", "shard=0-2")
    assert bad.exit_code == 2 and "shard='0-2' must look like i/N" in bad.err
    run_dedup(dataset, "dedupers=[exact]", "phase=decide")
    assert marked(attribute_rows(dataset, "exact"), "exact__exact__duplicate") == {}  # the originals are not here


def test_file_features_pickle_back_whole() -> None:
    """A worker's FileFeatures reach the deciding process equal, document references and the default of
    ``seconds`` included (they are pickled as columns)."""
    documents = [DocumentRef(d.id, d.source, len(d.text), "documents/a.jsonl.gz")
                 for d in source_documents("wikipedia")[:5]]
    found = FileFeatures(6, Counter({"invalid JSON": 1}), documents, {"bloom": [(b"\x01" * 16, b"\x02" * 16)] * 5},
                         items={"bloom": 5})
    found.seconds["bloom"] += 0.5
    back = pickle.loads(pickle.dumps(found))
    assert back == found
    assert back.documents[0].file == "documents/a.jsonl.gz" and back.documents[4].id == documents[4].id
    back.seconds["minhash"] += 1.0
    assert back.seconds == {"bloom": 0.5, "minhash": 1.0}


def test_a_deduper_failing_inside_a_batch_names_the_document() -> None:
    """Features are computed a batch of documents at a time; a deduper's error still names the first document whose
    features fail, and the file."""

    class Failing(BloomDeduper):
        def features(self, document: Document) -> Any:
            if document.id == "bad":
                raise ValueError("no features")
            return super().features(document)

    documents = [Document(id=d.id, text=d.text) for d in source_documents("wikipedia")[:4]]
    documents.insert(2, Document(id="bad", text="any text at all, long enough"))
    result = FileFeatures(features={"failing": [], "bloom": []})
    with pytest.raises(PluginError, match="deduper 'failing' failed on document 'bad' of f.jsonl: ValueError: no "
                                          "features"):
        _add_features({"failing": Failing(BloomConfig(normalize="whitespace"))}, documents, result, "f.jsonl")
    _add_features({"bloom": BloomDeduper(BloomConfig(normalize="none"))}, documents, result, "f.jsonl")
    assert len(result.features["bloom"]) == 5 and result.features["failing"] == []


def test_a_worker_builds_each_deduper_once_per_host(dedup_plugin: None) -> None:
    """compute_features builds a deduper from its config once per process and plugin host (building validates the
    config, about a millisecond per file otherwise): the same config gives the same instance, another config or
    another host a new one."""
    spec = {"_name_": "bloom", "normalize": "none", "min_chars": 20}
    first = _feature_deduper(spec)
    assert isinstance(first, BloomDeduper) and first.config.min_chars == 20
    assert _feature_deduper(dict(spec)) is first
    other = _feature_deduper({**spec, "min_chars": 30})
    assert other is not first and isinstance(other, BloomDeduper) and other.config.min_chars == 30
    previous = set_host(PluginHost())
    try:
        assert _feature_deduper(spec) is not first
    finally:
        set_host(previous)
    assert _feature_deduper(spec) is not first  # rebuilt for the test's host again


def _flip_middle_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _unzipped_outputs(root: Path) -> dict[str, Any]:
    """Every file a dedup run wrote but its reports, gzipped ones decompressed (their gzip header has a time), the
    saved features as lines with the header's seconds left out."""
    import gzip

    found: dict[str, Any] = {}
    for name, data in outputs(root).items():
        data = gzip.decompress(data) if name.endswith(".gz") else data
        if name.startswith("dedup/features/"):
            header, *rows = data.decode().splitlines()
            found[name] = [{k: v for k, v in json.loads(header).items() if k != "seconds"}, *rows]
        else:
            found[name] = data
    return found


def test_a_corrupted_features_file_is_computed_again_by_the_decide_phase(
        tmp_path: Path, run_dedup: Any, olmo_cli: Any) -> None:
    files, _ = planted_corpus()
    split = {"b-c4": files["b-c4"][:20], "c-planted": files["c-planted"]}
    clean, damaged = write_dataset(tmp_path / "clean", split), write_dataset(tmp_path / "damaged", split)
    for dataset in (clean, damaged):
        run_dedup(dataset, "dedupers=[exact]", "phase=features")
    saved = damaged / "dedup" / "features" / "exact" / "c-planted.jsonl.gz"
    _flip_middle_byte(saved)
    run_dedup(clean, "dedupers=[exact]", "phase=decide")
    decided = run_dedup(damaged, "dedupers=[exact]", "phase=decide")
    assert re.search(rf"{re.escape(str(saved))} is corrupted \((BadGzipFile|IsalError): [^\n]+\): computing its "
                     rf"features again\n", decided.err)  # which depends on the byte flipped
    assert _unzipped_outputs(damaged) == _unzipped_outputs(clean)


def test_a_corrupted_features_file_that_is_not_recomputed_is_a_one_line_error_naming_it(
        tmp_path: Path, run_dedup: Any) -> None:
    from olmo_data.dedup.features import CorruptedFeatures, load_features, saved_header
    from olmo_data.layout import find_layout

    files, _ = planted_corpus()
    dataset = write_dataset(tmp_path / "ds", {"c-planted": files["c-planted"]})
    run_dedup(dataset, "dedupers=[exact]", "phase=features")
    saved = dataset / "dedup" / "features" / "exact" / "c-planted.jsonl.gz"
    _flip_middle_byte(saved)
    layout = find_layout(str(dataset), str(dataset))
    file = layout.files[0]
    with pytest.raises(CorruptedFeatures) as raised:
        load_features(file, layout=layout, dedupers={"exact": {"_name_": "exact"}}, recompute=False)
    message = str(raised.value)
    assert re.fullmatch(rf"{re.escape(str(saved))} is corrupted \((BadGzipFile|IsalError): [^\n]+\): delete it and "
                        rf"run phase=features again for c-planted\.jsonl\.gz", message)
    assert pickle.loads(pickle.dumps(raised.value)).args == raised.value.args
    saved.write_bytes(saved.read_bytes()[:20])  # the header itself cut off
    with pytest.raises(CorruptedFeatures, match=r"c-planted.jsonl.gz is corrupted \(EOFError: "):
        saved_header(file, layout=layout, name="exact")
