"""The ``olmo`` command: every subcommand is registered by a plugin and configured by Hydra."""

from olmo_core.cli.main import invoke, main

__all__ = ["invoke", "main"]
