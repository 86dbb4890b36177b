"""The vendor is chosen at run time through ``olmo_select_train_backend``; a plugin can take over."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from olmo_core import hookimpl
from olmo_train.vendors import AMD, GLOO, NVIDIA, Vendor, builtin_vendor, select_vendor

from tests.train.conftest import config, make_trainer


def test_builtin_vendors_follow_the_device_and_the_torch_build() -> None:
    assert select_vendor(torch.device("cpu")) is GLOO and GLOO.process_group_backend == "gloo"
    assert builtin_vendor(torch.device("cuda", 0)) is (AMD if torch.version.hip else NVIDIA)
    assert NVIDIA.process_group_backend == AMD.process_group_backend == "nccl"  # RCCL is "nccl" on ROCm
    assert builtin_vendor(torch.device("meta")) is None


def test_amd_defaults_turn_off_the_flash_attention_kernel() -> None:
    before = torch.backends.cuda.flash_sdp_enabled()
    try:
        torch.backends.cuda.enable_flash_sdp(True)
        AMD.configure()
        assert not torch.backends.cuda.flash_sdp_enabled()
        NVIDIA.configure()
        assert not torch.backends.cuda.flash_sdp_enabled()  # NVIDIA changes nothing
    finally:
        torch.backends.cuda.enable_flash_sdp(before)


def test_a_third_party_vendor_wins_the_firstresult_call(register_plugin: Any, tokens: Path, tmp_path: Path) -> None:
    configured: list[str] = []

    class SiteVendor:
        @staticmethod
        @hookimpl
        def olmo_select_train_backend(device: torch.device) -> Vendor | None:
            if device.type != "cpu":
                return None
            return Vendor(name="site", process_group_backend="gloo", defaults=lambda: configured.append(str(device)))

    class Abstains:
        @staticmethod
        @hookimpl
        def olmo_select_train_backend(device: torch.device) -> None:
            return None

    register_plugin(Abstains, "abstains")
    assert select_vendor(torch.device("cpu")) is GLOO
    register_plugin(SiteVendor, "site")
    assert select_vendor(torch.device("cpu")).name == "site"
    trainer = make_trainer(config(tokens, tmp_path, "site", backend="ddp", max_steps=1, callbacks="[metrics,checkpoint]"))
    try:
        assert trainer.backend.group.vendor.name == "site" and configured == ["cpu"]
        assert trainer.fit()[0]["loss"] > 0
    finally:
        trainer.backend.close()


def test_a_single_device_run_applies_its_vendors_defaults(register_plugin: Any, tokens: Path, tmp_path: Path) -> None:
    """backend=single (and a plugin backend built on it) asks for the vendor too: a ROCm GPU gets AMD's defaults
    on one device as with ddp/fsdp. On the CPU the built-in gloo vendor changes nothing."""
    from olmo_train.backends.configs import SingleDeviceConfig
    from olmo_train.backends.single import SingleDevice

    assert SingleDevice(SingleDeviceConfig(device="cpu")).vendor is GLOO  # harmless on the CPU
    configured: list[str] = []

    class SiteVendor:
        @staticmethod
        @hookimpl
        def olmo_select_train_backend(device: torch.device) -> Vendor | None:
            return Vendor(name="site", process_group_backend="gloo", defaults=lambda: configured.append(str(device)))

    register_plugin(SiteVendor, "site")
    trainer = make_trainer(config(tokens, tmp_path, "single", backend="single", max_steps=1, callbacks="[metrics]"))
    try:
        assert configured == ["cpu"] and trainer.backend.vendor.name == "site"  # once, before the model is built
    finally:
        trainer.close()


def test_a_device_no_vendor_answers_for_trains_alone(register_plugin: Any) -> None:
    """One device needs no process group: a device without a vendor (mps, a plugin's accelerator) is not refused."""
    from olmo_train.vendors import configure_vendor

    assert configure_vendor(torch.device("meta")) is None
