"""olmo-core's built-in components, registered through the same hooks as any plugin."""

from __future__ import annotations

import functools

from olmo_core import model_commands
from olmo_core.nn.register import register_models
from olmo_core.optim.register import register_optimizers, register_schedulers
from olmo_core.pipeline.command import PipelineConfig, pipeline_command
from olmo_core.pipeline.report import ReportConfig, ReportJob
from olmo_core.plugins import hookimpl
from olmo_core.plugins_command import PluginsConfig, plugins_command
from olmo_core.registry import Register
from olmo_core.runtimes import OlmoCheckpoint, TransformersCausalLM, TransformersOLMo
from olmo_core.tokenizer_train import TokenizerTrainConfig, train_tokenizer_command
from olmo_core.tokenizer import BUILTIN, OLMO_RELEASE, TokenizerConfig, build_tokenizer, load_builtin


@hookimpl(trylast=True)
def olmo_register_commands(register: Register) -> None:
    register("plugins", plugins_command, config=PluginsConfig)
    register("tokenizer train", train_tokenizer_command, config=TokenizerTrainConfig)
    register("model init", model_commands.init_command, config=model_commands.InitConfig)
    register("model info", model_commands.info_command, config=model_commands.InfoConfig)
    register("model export-hf", model_commands.export_hf_command, config=model_commands.ExportConfig)
    register("model import-hf", model_commands.import_hf_command, config=model_commands.ImportConfig)
    register("generate", model_commands.generate_command, config=model_commands.GenerateConfig)
    register("pipeline", pipeline_command, config=PipelineConfig)


@hookimpl(trylast=True)
def olmo_register_tokenizers(register: Register) -> None:
    register("file", build_tokenizer, config=TokenizerConfig, help="a tokenizer.json from any path (path=...)")
    for name in BUILTIN:
        register(name, functools.partial(load_builtin, name), help=f"OLMo tokenizer {name!r} from {OLMO_RELEASE.spec}")


@hookimpl(trylast=True)
def olmo_register_optimizers(register: Register) -> None:
    register_optimizers(register)


@hookimpl(trylast=True)
def olmo_register_schedulers(register: Register) -> None:
    register_schedulers(register)


@hookimpl(trylast=True)
def olmo_register_models(register: Register) -> None:
    register_models(register)


@hookimpl(trylast=True)
def olmo_register_jobs(register: Register) -> None:
    register("report", ReportJob, config=ReportConfig)


@hookimpl(trylast=True)
def olmo_register_eval_models(register: Register) -> None:
    register("olmo", OlmoCheckpoint)
    register("hf", TransformersOLMo)
    register("transformers", TransformersCausalLM)
