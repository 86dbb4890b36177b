"""Install hints name commands that work both from the package index and from a clone of olmo."""

from __future__ import annotations

import sys

import pytest

from olmo_core.errors import MissingDependencyError, install_command


def test_a_third_party_distribution_is_installed_by_name() -> None:
    assert install_command("pyarrow") == "`uv pip install pyarrow`"
    assert install_command("olmo-ghost-jobs") == "`uv pip install olmo-ghost-jobs`"


def test_olmo_packages_also_name_their_folder_in_a_clone() -> None:
    assert install_command("olmo-eval") == ("`uv pip install olmo-eval`, or from a clone of olmo "
                                            "`uv pip install ./packages/olmo-eval`")
    assert install_command("olmo-core[hf]") == ("`uv pip install 'olmo-core[hf]'`, or from a clone of olmo "
                                                "`uv pip install './packages/olmo-core[hf]'`")


def test_a_missing_extra_is_one_line_naming_it() -> None:
    message = str(MissingDependencyError("the tensorboard callback", distribution="olmo-train", extra="tensorboard"))
    assert message == ("the tensorboard callback needs olmo-train[tensorboard]: install it with `uv pip install "
                       "'olmo-train[tensorboard]'`, or from a clone of olmo `uv pip install "
                       "'./packages/olmo-train[tensorboard]'`")


def test_hf_interop_without_transformers_names_the_hf_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from olmo_core.nn import hf

    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependencyError) as error:
        hf.load_hf("unused")
    assert str(error.value).startswith("HF interop needs olmo-core[hf]: install it with `uv pip install "
                                       "'olmo-core[hf]'`, or from a clone of olmo")
    assert "\n" not in str(error.value)
