"""Vendors: which process-group backend and which defaults training uses on a device.

torch is not built for one vendor: the same install may be a CUDA or a ROCm build, or run on CPUs. The
vendor is chosen at run time through the firstresult hook ``olmo_select_train_backend(device)``; olmo-train's
built-ins answer last (``trylast``), so a plugin can take over for another accelerator or a site's defaults.
Every built-in backend asks: ``ddp`` and ``fsdp`` as they join the process group (the vendor's process-group
backend and defaults), ``single`` as it is built (the defaults only: a ROCm GPU gets AMD's on one device too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from olmo_core.errors import ConfigError
from olmo_core.plugins import get_host

__all__ = ["AMD", "GLOO", "NVIDIA", "Vendor", "builtin_vendor", "configure_vendor", "select_vendor"]


def _no_defaults() -> None:
    pass


@dataclass(frozen=True, kw_only=True)
class Vendor:
    """A device vendor as distributed training sees it."""

    name: str
    """Shown in logs and errors (``nvidia``, ``amd``, ``gloo`` ...)."""
    process_group_backend: str
    """The ``torch.distributed`` backend to initialize (``nccl``, ``gloo`` ...)."""
    defaults: Callable[[], None] = field(default=_no_defaults, compare=False)
    """Applies the vendor's safe defaults; called by :meth:`configure`."""

    def configure(self) -> None:
        """Apply the vendor's defaults, once, before the model is built."""
        self.defaults()


def _amd_defaults() -> None:
    """Known-safe defaults on ROCm.

    The flash scaled-dot-product-attention kernel of ROCm builds (AOTriton) has produced training losses that
    diverge from the math and memory-efficient kernels on MI250X/MI300X, and OLMo's AMD runs kept flash
    attention and ``torch.compile`` off for the same reason (its configs: "causes instability on AMD GPUs").
    It is disabled here, so attention runs the memory-efficient (or math) kernel, which matches the NVIDIA
    results; a plugin that trusts a newer ROCm can select its own vendor through the hook.
    """
    torch.backends.cuda.enable_flash_sdp(False)


NVIDIA = Vendor(name="nvidia", process_group_backend="nccl")
AMD = Vendor(name="amd", process_group_backend="nccl", defaults=_amd_defaults)  # RCCL answers to "nccl" on ROCm
GLOO = Vendor(name="gloo", process_group_backend="gloo")


def builtin_vendor(device: torch.device) -> Vendor | None:
    """The built-in vendor of ``device``: ``amd`` on a ROCm build's GPU, ``nvidia`` on a CUDA build's,
    ``gloo`` on the CPU; ``None`` for other devices."""
    if device.type == "cuda":
        return AMD if getattr(torch.version, "hip", None) else NVIDIA
    if device.type == "cpu":
        return GLOO
    return None


def select_vendor(device: torch.device) -> Vendor:
    """Ask the plugins (``olmo_select_train_backend``) which vendor trains on ``device``."""
    vendor = get_host().pm.hook.olmo_select_train_backend(device=device)
    if vendor is None:
        raise ConfigError(f"no plugin provides a distributed backend for device {device}: install one that "
                          f"implements olmo_select_train_backend, or train on cpu or cuda")
    return vendor  # type: ignore[no-any-return]


def configure_vendor(device: torch.device) -> Vendor | None:
    """Apply the defaults of the vendor the plugins choose for ``device`` (a single-device backend, which needs no
    process group); ``None``, and nothing applied, when no plugin answers for ``device`` (``mps`` ...), since one
    device trains without a vendor. On the CPU the built-in vendor (``gloo``) changes nothing."""
    vendor = get_host().pm.hook.olmo_select_train_backend(device=device)
    if vendor is not None:
        vendor.configure()
    return vendor  # type: ignore[no-any-return]
