"""Standard errors, 95% intervals and the paired test of two models, against numbers worked out by hand."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from scipy.stats import binomtest

from olmo_core.stats import Z95, interval, mcnemar, mean_stderr, paired, plus_minus, stderr
from olmo_eval.downstream import DownstreamEvaluator, DownstreamResult
from olmo_eval.task_results import TaskResult
from olmo_eval.metrics import correct
from olmo_eval.perplexity.evaluator import PerplexityEvaluator, aggregate


def test_stderr_is_the_sample_std_over_root_n_and_the_interval_1_96_of_it() -> None:
    # 5 of 8 right: mean 0.625, squared deviations 5 * 0.375^2 + 3 * 0.625^2 = 1.875; 1.875 / 7 / 8 = 15 / 448
    se = stderr([1, 0, 1, 1, 0, 0, 1, 1])
    assert se == pytest.approx(math.sqrt(15 / 448)) == pytest.approx(0.18298, abs=1e-5)
    lo, hi = interval(0.625, se)
    assert (lo, hi) == (pytest.approx(0.625 - 1.96 * 0.18298, abs=1e-4),
                        pytest.approx(0.625 + 1.96 * 0.18298, abs=1e-4))
    assert stderr([1.0, 1.0]) == 0.0  # two documents, both right: measured, no spread
    # 1 right in 5: se sqrt((4 * 0.2^2 + 0.8^2) / 4 / 5) = 0.2; 0.2 - 1.96 * 0.2 < 0, cut to the values it can take
    assert interval(0.2, stderr([1, 0, 0, 0, 0])) == pytest.approx((0.2 - Z95 * 0.2, 0.2 + Z95 * 0.2))
    assert interval(0.2, stderr([1, 0, 0, 0, 0]), bounds=(0.0, 1.0)) == pytest.approx((0.0, 0.2 + Z95 * 0.2))


def test_fewer_than_two_values_have_no_standard_error_and_nothing_built_on_it_claims_one() -> None:
    assert stderr([]) is None and stderr([1.0]) is None
    assert interval(1.0, None) is None
    assert mean_stderr([0.3, None]) is None and mean_stderr([]) is None
    assert mean_stderr([0.3, 0.4]) == pytest.approx(0.25)  # sqrt(0.09 + 0.16) / 2
    assert plus_minus(1.0, None) == "1.000" and plus_minus(0.625, math.sqrt(15 / 448)) == "0.625 ± 0.359"
    assert plus_minus(1.5, None, 4) == "1.5000"


def test_mcnemar_is_the_exact_binomial_p_of_the_discordant_pairs() -> None:
    assert mcnemar(1, 6) == pytest.approx((1 + 7) / 2 ** 7 * 2) == pytest.approx(binomtest(1, 7, 0.5).pvalue)
    assert mcnemar(0, 6) == pytest.approx(2 / 2 ** 6) == pytest.approx(binomtest(0, 6, 0.5).pvalue)
    assert mcnemar(3, 3) == 1.0 and mcnemar(0, 0) == 1.0
    a = {0: True, 1: True, 2: False, 3: False, 4: False, 5: False, 6: False, 7: False}
    b = {0: True, 1: False, 2: True, 3: True, 4: True, 5: True, 6: True, 7: False, 99: True}  # 99: only in b
    # discordant: only a gets 1 right, only b gets 2..6 right; p = 2 * (C(6, 0) + C(6, 1)) / 2^6
    assert paired(a, b) == {"difference": pytest.approx((5 - 1) / 8), "p": pytest.approx(14 / 64), "examples": 8,
                            "beyond_noise": False}


def _task(name: str, right: list[bool]) -> TaskResult:
    """Two choices per document, gold 0; the model prefers choice 0 where ``right``."""
    records = [{"doc_id": d, "choice": c, "gold": 0, "ll": -1.0 if (c == 0) == ok else -2.0, "tokens": 1,
                "chars": 1, "bytes": 1} for d, ok in enumerate(right) for c in (0, 1)]
    assert correct(records, "acc_raw") == dict(enumerate(right))
    return TaskResult(task=name, metric="acc_raw", metrics={"acc_raw": sum(right) / len(right)}, chance=0.5,
                      documents=len(right), requests=len(records), records=records)


def test_the_comparison_shows_intervals_and_says_whether_each_model_differs_from_the_first(tmp_path: Path) -> None:
    base = [True] * 3 + [False] * 7
    evaluations = {label: DownstreamResult(meta={"step": 1}, tasks=[_task("copa", right)])
                   for label, right in {"base": base, "SFT": [True] * 9 + [False], "DPO": base}.items()}
    assert evaluations["base"].tasks[0].summary()["stderr"] == pytest.approx(math.sqrt(0.3 * 0.7 / 9))
    metrics, report = DownstreamEvaluator.compare("downstream", evaluations, str(tmp_path))
    assert metrics["accuracy"]["SFT"] == {"copa": 0.9}  # the numbers themselves are unchanged
    assert metrics["stderr"]["SFT"]["copa"] == pytest.approx(0.1)
    assert metrics["paired"]["SFT"]["copa"]["p"] == pytest.approx(2 / 64)  # 6 discordant, all for SFT
    # base: 0.3 +- 1.96 sqrt(0.21 / 9) = 0.299; SFT: 0.9 +- 1.96 * 0.1
    assert "| copa | acc_raw | 0.500 | 0.300 ± 0.299 | 0.900 ± 0.196 | 0.300 ± 0.299 |" in report.markdown
    assert ("- copa: SFT vs base: +0.600 (p=0.031, beyond noise); DPO vs base: +0.000 (p=1, within noise)"
            in report.markdown)
    assert (tmp_path / "accuracy.png").is_file()
    assert json.loads(Path(metrics["correct"]).read_text())["SFT"]["copa"] == {str(d): d < 9 for d in range(10)}


def test_bits_per_byte_carries_the_ratio_estimators_standard_error() -> None:
    def doc(domain: str, bits: float, nbytes: int) -> dict:
        return {"source": "s", "domain": domain, "ll": -bits * math.log(2), "tokens": 1, "bytes": nbytes}

    result = aggregate([doc("a", 10, 10), doc("a", 30, 20), doc("a", 20, 10), doc("b", 8, 8), doc("b", 8, 8)])
    # domain a: 60 bits / 40 bytes = 1.5; residuals 10-15, 30-30, 20-15 -> sqrt(50 / 2 / 3) * 3 / 40
    a = result.domains["s"]["a"]
    assert a["bits_per_byte"] == pytest.approx(1.5)
    assert a["bits_per_byte_stderr"] == pytest.approx(math.sqrt(50 / 6) * 3 / 40)
    assert result.domains["s"]["b"]["bits_per_byte_stderr"] == 0.0  # both documents at exactly 1 bit per byte
    assert result.sources["s"]["bits_per_byte"] == pytest.approx(1.25)
    assert result.bits_per_byte_stderr == result.sources["s"]["bits_per_byte_stderr"] == \
        pytest.approx(math.sqrt(50 / 6) * 3 / 40 / 2)
    assert "| s | a | 1.5000 ± " in result.table()


def test_a_task_scored_over_groups_takes_the_standard_error_of_the_mean_of_groups() -> None:
    # MMLU-style subjects: a = [1, 1, 0, 0], b = [1, 0, 0, 0, 0, 0]
    result = _task("mmlu", [True, True, False, False, True, False, False, False, False, False])
    for record in result.records:
        record["group"] = "a" if record["doc_id"] < 4 else "b"
    se_a, se_b = math.sqrt(0.5 * 0.5 / 3), math.sqrt((1 / 6) * (5 / 6) / 5)  # sample std over root n, per subject
    assert result.stderr == pytest.approx(math.sqrt(se_a ** 2 + se_b ** 2) / 2)


def _cells(markdown: str, first: str) -> list[str]:
    """The cells of the markdown table row that starts with ``first``."""
    line = next(line for line in markdown.splitlines() if line.startswith(f"| {first} |"))
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_the_comparison_is_tasks_by_models_with_the_average_last_also_as_csv(tmp_path: Path) -> None:
    base = {"copa": [True] * 3 + [False] * 7, "sciq": [True] * 4}
    sft = {"copa": [True] * 9 + [False], "sciq": [True, False, True, False]}
    evaluations = {label: DownstreamResult(meta={"step": 1}, tasks=[_task(t, right) for t, right in tasks.items()])
                   for label, tasks in {"base": base, "SFT": sft}.items()}
    metrics, report = DownstreamEvaluator.compare("downstream", evaluations, str(tmp_path))
    # base: copa 0.3 (se sqrt(0.21 / 9)), sciq 1.0 (se 0, four documents); average 0.65, se sqrt(0.21 / 9) / 2
    # SFT: copa 0.9 (se 0.1), sciq 0.5 (se sqrt(1/3) / 2); average 0.7, se sqrt(0.01 + 1 / 12) / 2
    assert metrics["base_mean_accuracy"] == 0.65 and metrics["SFT_mean_accuracy"] == 0.7
    assert metrics["mean_accuracy_stderr"]["base"] == pytest.approx(math.sqrt(0.21 / 9) / 2)
    assert metrics["mean_accuracy_stderr"]["SFT"] == pytest.approx(math.sqrt(0.01 + 1 / 12) / 2)
    assert _cells(report.markdown, "task") == ["task", "metric", "chance", "base", "SFT"]
    assert _cells(report.markdown, "average") == [
        "average", "", "0.500", f"0.650 ± {Z95 * math.sqrt(0.21 / 9) / 2:.3f}",
        f"0.700 ± {Z95 * math.sqrt(0.01 + 1 / 12) / 2:.3f}"]
    assert "sqrt(sum se²) / n_tasks, the tasks taken as independent" in report.markdown
    table = [[cell.strip() for cell in line.strip("|").split("|")]
             for line in report.markdown.splitlines() if line.startswith("| ")]
    assert [row[0] for row in table] == ["task", "copa", "sciq", "average"]  # the average is the last row
    with (tmp_path / "accuracy.csv").open(newline="") as f:
        assert list(csv.reader(f)) == table


def test_a_task_of_one_document_is_shown_without_an_interval_everywhere(tmp_path: Path) -> None:
    one = DownstreamResult(meta={"step": 1}, tasks=[_task("copa", [True]), _task("sciq", [True, False, True])])
    assert one.tasks[0].stderr is None and one.tasks[0].interval is None
    summary = json.loads(json.dumps(one.summary(), allow_nan=False))  # strict JSON: null, never NaN
    assert summary["tasks"]["copa"]["stderr"] is None and summary["tasks"]["copa"]["interval"] is None
    # se sqrt((2/3) / 2 / 3) = 1/3: 2/3 + 1.96/3 > 1, and an accuracy's interval ends at 1
    assert summary["tasks"]["sciq"]["interval"] == pytest.approx([2 / 3 - Z95 / 3, 1.0])
    assert _cells(one.table(), "copa")[2:5] == ["1.0000", "-", "0.5000"]
    metrics, report = DownstreamEvaluator.compare("downstream", {"base": one, "SFT": one}, str(tmp_path))
    json.dumps(metrics, allow_nan=False)
    assert metrics["stderr"]["base"]["copa"] is None and metrics["mean_accuracy_stderr"]["base"] is None
    # a known interval where there is one; none, not "± 0.000", where there is not (nor on the average over it)
    assert _cells(report.markdown, "copa")[3:] == ["1.000", "1.000"]
    assert _cells(report.markdown, "sciq")[3] == f"0.667 ± {Z95 / 3:.3f}"
    assert _cells(report.markdown, "average")[3:] == ["0.833", "0.833"]
    assert (tmp_path / "accuracy.png").is_file()


def test_a_domain_of_one_document_has_no_bits_per_byte_interval(tmp_path: Path) -> None:
    def doc(domain: str, bits: float, nbytes: int) -> dict:
        return {"source": "s", "domain": domain, "ll": -bits * math.log(2), "tokens": 1, "bytes": nbytes}

    result = aggregate([doc("a", 10, 10), doc("a", 20, 20), doc("c", 20, 10)])
    assert result.domains["s"]["c"]["bits_per_byte_stderr"] is None
    assert result.domains["s"]["a"]["bits_per_byte_stderr"] == pytest.approx(0.0)  # both at 1 bit per byte
    assert result.sources["s"]["bits_per_byte_stderr"] is None and result.bits_per_byte_stderr is None
    assert json.loads(json.dumps(result.summary(), allow_nan=False))["bits_per_byte_stderr"] is None
    assert _cells(result.table(), "s")[1:3] == ["(mean of 2)", "1.5000"]  # the source row: no ±
    assert "| s | a | 1.0000 ± 0.0000 |" in result.table() and "| s | c | 2.0000 | " in result.table()
    metrics, report = PerplexityEvaluator.compare("perplexity", {"base": result}, str(tmp_path))
    json.dumps(metrics, allow_nan=False)
    assert _cells(report.markdown, "s") == ["s", "1.500"] and _cells(report.markdown, "**mean**")[1] == "**1.500**"
    assert (tmp_path / "bits_per_byte.png").is_file()
    assert report.markdown.startswith("Bits per byte on held-out text") and "| held-out source | base |" in \
        report.markdown  # aggregate's result scored no input=
    result.meta["input"] = "data/my-docs"
    _, report = PerplexityEvaluator.compare("perplexity", {"base": result}, str(tmp_path))
    assert report.markdown.startswith("Bits per byte on the documents of data/my-docs (lower is better)")
    assert "| source | base |" in report.markdown


def test_an_unknown_half_width_draws_no_error_bar_and_a_zero_one_does(tmp_path: Path) -> None:
    from matplotlib.image import imread
    from olmo_core.plots import bar_plot

    values = {"base": {"copa": 0.5, "sciq": 0.7}, "SFT": {"copa": 0.4, "sciq": 0.6}}

    def draw(name: str, errors: dict | None) -> object:
        return imread(bar_plot(tmp_path / f"{name}.png", values, title="t", ylabel="accuracy", errors=errors))

    plain = draw("plain", None)
    assert (draw("unknown", {"base": {"copa": None, "sciq": None}, "SFT": {"copa": None}}) == plain).all()
    assert not (draw("zero", {"base": {"copa": 0.0}}) == plain).all()  # a measured zero draws its caps


def test_many_paired_tests_come_with_the_chance_of_false_alarms() -> None:
    from olmo_core.stats import multiple_comparisons

    assert multiple_comparisons(1) == ""
    note = multiple_comparisons(10)
    assert "about 0.5 would be beyond noise by chance" in note and "p < 0.005" in note


def test_the_average_takes_only_shared_higher_is_better_tasks(tmp_path: Path) -> None:
    from olmo_eval.task_results import GenerationResult

    def toxic(hits: list[bool]) -> GenerationResult:
        records = [{"doc_id": d, "hit": h} for d, h in enumerate(hits)]
        return GenerationResult(task="toxicity", metric="toxic", metrics={"toxic": sum(hits) / len(hits)},
                                chance=0.0, documents=len(hits), requests=len(hits), records=records)

    evaluations = {
        "base": DownstreamResult(tasks=[_task("copa", [True, False]), _task("sciq", [True] * 4),
                                        toxic([True, True, False, False])]),
        "SFT": DownstreamResult(tasks=[_task("copa", [True, True]), toxic([False] * 4)]),  # no sciq
    }
    metrics, report = DownstreamEvaluator.compare("downstream", evaluations, str(tmp_path))
    # only copa is shared and higher-is-better: base 0.5, SFT 1.0
    assert (metrics["base_mean_accuracy"], metrics["SFT_mean_accuracy"]) == (0.5, 1.0)
    assert _cells(report.markdown, "toxicity")[:2] == ["toxicity", "toxic (lower is better)"]
    assert _cells(report.markdown, "sciq")[-1] == "-"
    assert "- toxicity: SFT vs base: -0.500" in report.markdown


def test_the_figures_error_bars_are_cut_to_0_and_1_as_the_tables_intervals_are(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import olmo_core.plots
    from olmo_eval.chat import ChatEvaluator

    drawn: list[dict[str, dict[str, object]]] = []
    real = olmo_core.plots.bar_plot

    def bar_plot(*args: object, errors: dict[str, dict[str, object]], **kwargs: object) -> Path:
        drawn.append(errors)
        return real(*args, errors=errors, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(olmo_core.plots, "bar_plot", bar_plot)
    low = [True] + [False] * 4  # 0.2 ± 0.392: the interval's low end cut at 0
    high = [True] * 4 + [False]  # 0.8 ± 0.392: its high end cut at 1
    evaluations = {"base": DownstreamResult(meta={"step": 1}, tasks=[_task("copa", low), _task("sciq", high)])}
    width = Z95 * 0.2
    for compare in (DownstreamEvaluator.compare, ChatEvaluator.compare):
        compare("downstream", evaluations, str(tmp_path))
        bars = drawn[-1]["base"]
        assert bars["copa"] == pytest.approx((0.2, width)) and bars["sciq"] == pytest.approx((width, 0.2))
    average = drawn[0]["base"]["average"]  # 0.5 ± 1.96 * sqrt(0.2² + 0.2²) / 2: within [0, 1]
    assert average == pytest.approx((Z95 * math.sqrt(0.08) / 2,) * 2)
    assert (tmp_path / "accuracy.png").is_file() and (tmp_path / "downstream.png").is_file()
