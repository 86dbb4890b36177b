"""The held-out slice is a pure function of document ids, and the built-in sets read it from real sources."""

from __future__ import annotations

import hashlib

from olmo_eval.perplexity.heldout import held_out_documents, is_held_out


def test_held_out_is_a_function_of_the_id() -> None:
    ids = [f"wikipedia-{i}" for i in range(20000)]
    held = [i for i in ids if is_held_out(i)]
    assert 0.04 < len(held) / len(ids) < 0.06
    for doc_id in ids[:200]:
        value = int.from_bytes(hashlib.blake2b(doc_id.encode(), digest_size=8).digest(), "big") / 2**64
        assert is_held_out(doc_id) == (value < 0.05) and is_held_out(doc_id, 1.0) and not is_held_out(doc_id, 0.0)


def test_built_in_sets_hold_out_real_documents_by_domain() -> None:
    found = list(held_out_documents({"c4": None, "wikipedia": "topic"}, max_documents=5))
    assert len(found) == 10
    assert all(is_held_out(d.id) for d, _ in found)
    assert {domain for d, domain in found if d.source == "c4"} == {"c4"}
    assert all(domain == d.metadata["topic"] for d, domain in found if d.source == "wikipedia")
