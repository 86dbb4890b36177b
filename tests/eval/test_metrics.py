"""Every accuracy from the same records, with numbers worked out by hand."""

from __future__ import annotations

import pytest

from olmo_eval.metrics import accuracies, chance, predictions


def record(doc: int, choice: int, gold: int, ll: float, tokens: int, chars: int, nbytes: int, uncond: float) -> dict:
    return {"doc_id": doc, "choice": choice, "gold": gold, "ll": ll, "tokens": tokens, "chars": chars,
            "bytes": nbytes, "ll_uncond": uncond}


RECORDS = [
    # doc 0, gold 1: raw picks 0 (-4 > -6); per token picks 1 (-6/3 = -2 > -4/1); per char picks 1 (-6/12 > -4/2);
    # per byte: -4/8 = -0.5 vs -6/12 = -0.5, a tie -> the first; uncond: -4-(-1) = -3 vs -6-(-5) = -1 -> 1.
    record(0, 0, 1, -4.0, 1, 2, 8, -1.0),
    record(0, 1, 1, -6.0, 3, 12, 12, -5.0),
    # doc 1, gold 0 of three choices: raw picks 0; per token -3/1, -8/4 = -2, -9/9 = -1 -> 2; per char
    # -3/3, -8/16, -9/3 -> 1; per byte same as chars here -> 1; uncond -3+2 = -1, -8+9 = 1, -9+7 = -2 -> 1.
    record(1, 0, 0, -3.0, 1, 3, 3, -2.0),
    record(1, 1, 0, -8.0, 4, 16, 16, -9.0),
    record(1, 2, 0, -9.0, 9, 3, 3, -7.0),
]


def test_each_normalization_picks_as_worked_out() -> None:
    assert predictions(RECORDS, "acc_raw") == {0: 0, 1: 0}
    assert predictions(RECORDS, "acc_per_token") == {0: 1, 1: 2}
    assert predictions(RECORDS, "acc_per_char") == {0: 1, 1: 1}
    assert predictions(RECORDS, "acc_per_byte") == {0: 0, 1: 1}
    assert predictions(RECORDS, "acc_uncond") == {0: 1, 1: 1}
    assert accuracies(list(reversed(RECORDS))) == {"acc_raw": 0.5, "acc_per_token": 0.5, "acc_per_char": 0.5,
                                                   "acc_per_byte": 0.0, "acc_uncond": 0.5}


def test_chance_is_the_mean_of_one_over_choices() -> None:
    assert chance(RECORDS) == pytest.approx((1 / 2 + 1 / 3) / 2)


def test_without_unconditional_scores_there_is_no_acc_uncond() -> None:
    plain = [{k: v for k, v in r.items() if k != "ll_uncond"} for r in RECORDS]
    assert "acc_uncond" not in accuracies(plain) and accuracies(plain)["acc_raw"] == 0.5
