"""The olmo hook specifications: the whole contract between the host and its plugins.

A plugin is a module (or any object) with functions named after these hooks and marked with
:data:`olmo_core.hookimpl`; it is found through the ``olmo`` entry-point group::

    [project.entry-points.olmo]
    my_filter = "olmo_filter_example.plugin"

Registration hooks receive a ``register`` callback that the host owns, so that name, alias and duplicate
policy stay in one place and a hook can gain arguments without breaking old plugins::

    register(name, factory, *, config=None, aliases=(), presets=None, help=None)

``name``
    The registry name users select the component by (``model=olmo``, ``taggers=[gopher]``).
``factory``
    A callable that builds the component. It is called as ``factory(config, **runtime)`` when ``config`` is
    given, else as ``factory(**runtime)``; ``runtime`` holds the objects the caller owns (a model for an
    optimizer, a trainer for a callback...), as each kind's hook documents.
``config``
    A ``@dataclass(kw_only=True)`` class whose fields, all with defaults, configure the component. It is
    put into Hydra's ConfigStore, so that every field can be overridden from the command line; one that
    cannot be made from its defaults, or that OmegaConf cannot hold (a field of an unsupported type, a default
    or preset value of the wrong type), is refused when registered.
``aliases``
    Other names that select the same component.
``presets``
    ``{preset_name: config_instance}``: named configurations that users select like components
    (``model=olmo1-1b``).
``help``
    One line that ``olmo plugins`` and ``--help`` show; defaults to the first line of the factory's docstring.

A name registered twice, by the same or another plugin, is an error that names both distributions.
First-party packages register their built-ins through these same hooks, marked ``trylast``: a registration
hook is called for them first, so that a name a third party registers again is that plugin's error (it is left
out whole, none of its components kept), while the other hooks (``olmo_select_train_backend``) ask third
parties first, so that they can take over; ``olmo eval`` asks the :func:`olmo_register_eval_models` runtimes in
that order too (plugins' first).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from typing import Any

    from olmo_core.registry import Register

__all__ = ["hookspec"]

PROJECT_NAME = "olmo"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)

# --------------------------------------------------------------------------------------------------------
# Models and optimisation (olmo-core, with the ``torch`` extra)
# --------------------------------------------------------------------------------------------------------


@hookspec
def olmo_register_models(register: Register) -> None:
    """Register model architectures and their presets.

    :param register: the host's callback. ``factory(config)`` returns a ``torch.nn.Module`` whose ``forward``
        takes a ``LongTensor`` of token ids ``(batch, seq)`` and returns logits ``(batch, seq, vocab)``.
        Presets name published shapes (``olmo1-1b``) and small CPU sizes. Selected with ``model=<name>``.
    """


@hookspec
def olmo_register_optimizers(register: Register) -> None:
    """Register optimizers.

    :param register: the host's callback. ``factory(config, model=...)`` returns a ``torch.optim.Optimizer``
        over the model's parameters, with its own parameter groups (for example no weight decay on norms).
    """


@hookspec
def olmo_register_schedulers(register: Register) -> None:
    """Register learning-rate schedules.

    :param register: the host's callback. ``factory(config)`` returns an object whose
        ``lr(step, max_steps, peak_lr)`` gives the learning rate for an optimizer step.
    """


@hookspec
def olmo_register_tokenizers(register: Register) -> None:
    """Register tokenizers.

    :param register: the host's callback. ``factory(config)`` returns an :class:`olmo_core` tokenizer
        (encode, decode, ``eos_token_id``, ``vocab_size`` and an identity hash).
    """


# --------------------------------------------------------------------------------------------------------
# Data curation (olmo-data)
# --------------------------------------------------------------------------------------------------------


@hookspec
def olmo_register_sources(register: Register) -> None:
    """Register document sources.

    :param register: the host's callback. ``factory(config)`` returns a source that fetches (and caches)
        its raw data and yields Dolma documents (``id``, ``text``, ``source``, ``metadata`` ...).
    """


@hookspec
def olmo_register_taggers(register: Register) -> None:
    """Register taggers: components that compute attributes of documents, on which filters act.

    :param register: the host's callback. ``factory(config)`` returns a tagger whose
        ``tag(document)`` returns Dolma-style attributes ``{attribute: [[start, end, value], ...]}``.
        Selected with ``taggers=[<name>, ...]``.
    """


@hookspec
def olmo_register_dedupers(register: Register) -> None:
    """Register deduplicators (exact, Bloom filter, MinHash ...).

    :param register: the host's callback. ``factory(config)`` returns a deduper that marks duplicate
        documents or spans and reports what it removed per source.
    """


@hookspec
def olmo_register_mixers(register: Register) -> None:
    """Register corpus mixers.

    :param register: the host's callback. ``factory(config)`` returns a mixer that samples documents per
        source to target proportions, deterministically by document id.
    """


# --------------------------------------------------------------------------------------------------------
# Training (olmo-train)
# --------------------------------------------------------------------------------------------------------


@hookspec
def olmo_register_train_backends(register: Register) -> None:
    """Register training backends (single device, DDP, FSDP ...).

    :param register: the host's callback. ``factory(config)`` returns a backend that places a plain model
        on its devices and wraps it for (distributed) training. Selected with ``backend=<name>``.
    """


@hookspec(firstresult=True)
def olmo_select_train_backend(device: Any) -> Any:
    """Choose the vendor that training uses on ``device``: the process-group backend and the vendor's safe
    defaults. Stops at the first non-``None`` result. Every built-in backend asks: ``ddp`` and ``fsdp`` when they
    join the process group (backend and defaults), ``single`` (and plugin backends built on it) when it is built
    (defaults only; when no plugin answers for its device, it trains without a vendor).

    olmo-train's built-ins (``trylast``) answer ``nvidia`` (CUDA build of torch: NCCL), ``amd`` (ROCm build,
    ``torch.version.hip``: RCCL through the ``"nccl"`` process-group backend, with attention kernels that are
    known to be safe) and ``gloo`` (CPU); a plugin that returns a vendor first takes over, for instance for
    another accelerator or a site's own defaults.

    :param device: the ``torch.device`` the local process trains on (``cuda:3``, ``cpu`` ...).
    :return: ``None`` to let other plugins decide, or a vendor: an object with ``name`` (a string shown in
        logs), ``process_group_backend`` (the ``torch.distributed`` backend to initialize: ``"nccl"``,
        ``"gloo"`` ...) and ``configure()`` (called once per backend, before the model is built, to apply the
        vendor's defaults), such as :class:`olmo_train.vendors.Vendor`.
    """


@hookspec
def olmo_register_callbacks(register: Register) -> None:
    """Register trainer callbacks (checkpointing, metrics, speed, energy, in-loop evaluation ...).

    :param register: the host's callback. ``factory(config)`` returns an :class:`olmo_core.callbacks.Callback`
        whose methods the trainer calls at the points of its loop (see that module for the order and what a
        callback may read from the trainer); a callback with state saves it in checkpoints. Selected with
        ``callbacks=[<name>, ...]`` on every command that trains.
    """


# --------------------------------------------------------------------------------------------------------
# Evaluation (olmo-eval)
# --------------------------------------------------------------------------------------------------------


@hookspec
def olmo_register_tasks(register: Register) -> None:
    """Register downstream evaluation tasks.

    :param register: the host's callback. ``factory(config)`` returns a task that yields its instances
        (context, choices, gold) in OLMo's format. Selected with ``tasks=[<name>, ...]``.
    """


@hookspec
def olmo_register_evaluators(register: Register) -> None:
    """Register evaluators (downstream rank classification, perplexity / bits per byte ...).

    :param register: the host's callback. ``factory(config)`` returns an evaluator that scores a model and
        returns metrics.
    """


@hookspec
def olmo_register_eval_models(register: Register) -> None:
    """Register kinds of model that ``olmo eval``, ``olmo generate`` and ``olmo chat`` load (olmo checkpoints,
    transformers directories ...); olmo-core registers its own.

    :param register: the host's callback. ``factory()`` returns a runtime with ``find(path) -> directory |
        None`` (what it loads at ``path``, if anything), ``tokenizer(directory) -> Tokenizer | None`` and
        ``load(directory, device) -> (model, step | None)``; the model is called as ``model(input_ids) ->
        logits``. The first runtime that finds a directory loads it; plugins' come before olmo's.
    """


# --------------------------------------------------------------------------------------------------------
# Adaptation (olmo-adapt)
# --------------------------------------------------------------------------------------------------------


@hookspec
def olmo_register_adapters(register: Register) -> None:
    """Register adaptation methods (SFT, DPO ...).

    :param register: the host's callback. ``factory(config)`` returns a method that turns its data into
        training batches and a loss for the trainer of olmo-train.
    """


# --------------------------------------------------------------------------------------------------------
# Pipeline and command line (all packages)
# --------------------------------------------------------------------------------------------------------


@hookspec
def olmo_register_jobs(register: Register) -> None:
    """Register jobs: units of work with typed inputs and outputs, each both an ``olmo`` command and a stage
    of ``olmo pipeline``.

    :param register: the host's callback. ``name`` is the job's name as a pipeline stage (``stages=[tag,...]``,
        ``stages.tag.<option>=...``); ``factory`` is a subclass of :class:`olmo_core.jobs.Job` (built with no
        arguments) that declares ``command`` (the ``olmo`` command it also is, ``"data tag"``; empty for none),
        ``inputs`` and ``outputs`` (slot name to :class:`olmo_core.jobs.Slot` of an artifact type from
        :mod:`olmo_core.artifacts`) and implements ``run(config, inputs, workdir)`` (returns a
        :class:`olmo_core.jobs.JobResult` of outputs and JSON-able metrics) and ``report(result)`` (returns a
        :class:`olmo_core.jobs.Report`: markdown and figures). ``config`` is its kw-only dataclass.
        The host derives the command (inputs as paths, ``output=<dir>``) and the pipeline stage (inputs wired
        from the latest earlier output of the matching type, or named with ``inputs.<stage>.<slot>=...``).
    """


@hookspec
def olmo_register_commands(register: Register) -> None:
    """Register ``olmo`` subcommands.

    :param register: the host's callback. ``name`` is the command as typed, words separated by spaces
        (``"data tag"`` is ``olmo data tag``); ``factory(config)`` runs the command with its composed
        configuration and returns a result (printed by nobody: the command prints what it reports).
        ``config`` is the command's dataclass: every field is a Hydra override (``key=value``), and fields
        made with :func:`olmo_core.config.component` or :func:`olmo_core.config.components` select
        registered components by name. Every command takes ``-m`` sweeps, ``--help`` and ``--cfg job``.
    """
