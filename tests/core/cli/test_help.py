from __future__ import annotations

from dataclasses import dataclass, field, make_dataclass
from types import ModuleType
from typing import Any

from olmo_core import hookimpl
from olmo_core.cli.help import OFFERED, field_docs, plain
from olmo_core.config import component


def _flat(text: str) -> str:
    """``text`` with every run of whitespace as one space, so that wrapped lines read as one."""
    return " ".join(text.split())


@dataclass(kw_only=True)
class BaseOptions:
    depth: int = 2
    """How deep to go.

    A second paragraph that --help leaves out."""
    width: int = 8
    """How wide."""
    plain: int = 0


@dataclass(kw_only=True)
class Options(BaseOptions):
    width: int = 16
    """How wide, redefined."""
    names: list[str] = field(default_factory=list)
    """The names, in order."""


def test_field_docs_read_the_class_and_its_bases() -> None:
    docs = field_docs(Options)
    assert docs == {"depth": "How deep to go.\n\nA second paragraph that --help leaves out.",
                    "width": "How wide, redefined.", "names": "The names, in order."}
    assert field_docs(Options) is docs  # cached


def test_field_docs_of_a_class_without_source_come_from_its_bases() -> None:
    made = make_dataclass("Made", [("extra", int, field(default=0))], bases=(BaseOptions,), kw_only=True)
    assert field_docs(made) == {"depth": "How deep to go.\n\nA second paragraph that --help leaves out.",
                                "width": "How wide."}


class SweepPlugin:
    """A command whose docstring's first sentence spans two lines."""

    def sweep(self, config: Options) -> None:
        """Sweep the options over a grid that is described at some length, so that this first sentence
        goes on past the first line of the docstring. A second sentence that the summary leaves out."""

    @hookimpl
    def olmo_register_commands(self, register: Any) -> None:
        register("sweep", self.sweep, config=Options)


def test_main_help_shows_the_first_sentence_whole(olmo_cli: Any, register_plugin: Any) -> None:
    register_plugin(SweepPlugin(), "sweep-plugin")
    out = _flat(olmo_cli("--help").out)
    assert ("sweep Sweep the options over a grid that is described at some length, so that this first sentence "
            "goes on past the first line of the docstring. ") in out
    assert "A second sentence" not in out


def test_command_help_documents_every_key(olmo_cli: Any, register_plugin: Any) -> None:
    register_plugin(SweepPlugin(), "sweep-plugin")
    out = _flat(olmo_cli("sweep", "--help").out)
    assert "depth: 2 How deep to go. " in out and "A second paragraph" not in out
    assert "width: 16 How wide, redefined. " in out and "names: [] The names, in order." in out
    assert "plain: 0 " in out


def test_command_help_documents_the_chosen_components_keys(olmo_cli: Any) -> None:
    result = olmo_cli("data", "tag", "taggers=[language]", "--help")
    assert result.exit_code == 0, result.err
    out = _flat(result.out)
    assert "taggers=[a,b]: document taggers and filters (default: none)" in out
    assert "language Scores of the configured languages and the most likely language, per document and per " \
           "paragraph. keys: max_document_bytes, languages, paragraphs" in out
    assert "taggers: [language] " in out
    assert "taggers.language.languages: [en] Languages whose score is always recorded" in out
    assert "input: ??? a dataset directory" in out


def test_command_help_documents_a_third_party_components_keys(olmo_cli: Any, register_plugin: Any,
                                                               example_plugin: ModuleType) -> None:
    register_plugin(example_plugin, "example_length")
    out = _flat(olmo_cli("data", "tag", "taggers=[example_length]", "--help").out)
    assert "example_length Word count of a document, and 1 if it has at least `min_words` words, else 0. " \
           "keys: min_words" in out
    assert ("taggers.example_length.min_words: 10 Documents with fewer whitespace-separated words than this are "
            "marked for dropping.") in out


def test_unchosen_components_of_a_nested_group_are_left_out(olmo_cli: Any) -> None:
    out = _flat(olmo_cli("train", "callbacks=[metrics]", "--help").out)
    assert "callbacks: [metrics] " in out and "callbacks.metrics.file: metrics.jsonl " in out
    assert "callbacks.evaluate" not in out


def test_help_shows_docstring_markup_plainly(olmo_cli: Any) -> None:
    out = olmo_cli("data", "tokenize", "--help").out + olmo_cli("data", "sources", "--help").out
    assert "``" not in out and ":func:`" not in out and ":class:`" not in out
    assert plain("at least ``min_words`` words (:func:`~olmo_data.parallel.split_file`, :class:`a.B`)") == \
        "at least `min_words` words (`split_file`, `a.B`)"


def test_a_key_that_names_a_registered_component_lists_the_installed_names(olmo_cli: Any) -> None:
    out = _flat(olmo_cli("data", "tokenize", "--help").out)
    assert "Installed: dolma2, file, olmo-v1.5." in out
    assert "Installed: dolma2, file, olmo-v1.5." in _flat(olmo_cli("data", "mix", "--help").out)


def test_output_help_says_where_a_job_writes_without_it(olmo_cli: Any) -> None:
    outputs = {}
    for command in (["train"], ["eval", "downstream"], ["data", "tag"]):
        text = _flat(olmo_cli(*command, "--help").out)
        outputs[command[-1]] = text[text.index("output: null"):].split(" output: ")[0]
    assert "The directory the job writes into. Default: runs/train." in outputs["train"]
    assert "The directory the job writes into. Required." in outputs["downstream"]
    assert "Default: <dataset>/reports/tag/ of the input dataset (loose files need output=)." in outputs["tag"]


def test_a_list_of_components_with_defaults_says_how_to_add_to_them(olmo_cli: Any) -> None:
    text = olmo_cli("train", "--help").out
    assert "(default: loss_guard, speed, energy, metrics, tensorboard, progress, checkpoint, plots; +callbacks=[c] " \
           "adds to them)" in text


@dataclass(kw_only=True)
class OneBackendOptions:
    backend: Any = field(default=None, metadata={**component("train_backends", default="single").metadata,
                                                 OFFERED: ("single",)})


class OneBackendPlugin:
    def one_backend(self, config: OneBackendOptions) -> None:
        """Run on the single backend alone."""

    @hookimpl
    def olmo_register_commands(self, register: Any) -> None:
        register("one-backend", self.one_backend, config=OneBackendOptions)


def test_a_component_field_that_offers_some_components_lists_those_alone(olmo_cli: Any,
                                                                          register_plugin: Any) -> None:
    register_plugin(OneBackendPlugin(), "one-backend-plugin")
    result = olmo_cli("one-backend", "--help")
    assert result.exit_code == 0, result.err
    assert "\n    single " in result.out
    assert "\n    ddp " not in result.out and "\n    fsdp " not in result.out
