"""Code: the Python standard library's modules, read from this machine's Python (nothing is downloaded)."""

from __future__ import annotations

import io
import os
import platform
import sysconfig
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from olmo_core.documents import Document, Quarantined

from olmo_data.sources.base import Source, SourceConfig

__all__ = ["PythonStdlibConfig", "PythonStdlibSource"]

TEST_FOLDERS = frozenset({"test", "tests", "idle_test"})
SKIPPED_TOP = frozenset({"site-packages", "dist-packages"})


@dataclass(kw_only=True)
class PythonStdlibConfig(SourceConfig):
    """Options of the Python standard-library source."""

    include_tests: bool = False
    """Also read the test suites (``test/``, ``tests/``, ``idle_test/`` folders: 1,056 more files on 3.11)."""


class PythonStdlibSource(Source):
    """The ``.py`` files of the running Python's standard library (``sysconfig.get_paths()["stdlib"]``).

    Installed packages (``site-packages``) and the build's generated configuration (``_sysconfigdata_*``,
    ``config-*``) are left out, and so are test suites unless ``include_tests``; 3.11.7 gives 732 files. Files
    are decoded by their PEP 263 declaration. Ids are ``python-stdlib-<path relative to the stdlib>``; the pin
    is the Python version.
    """

    name = "python-stdlib"
    description = "Python standard-library source code (.py) of this machine's Python"
    license = "PSF-2.0"

    def __init__(self, config: PythonStdlibConfig | None = None) -> None:
        super().__init__(config or PythonStdlibConfig())
        self.root = Path(sysconfig.get_paths()["stdlib"])

    @property
    def pin(self) -> str:
        return f"python {platform.python_version()}"

    @property
    def download_bytes(self) -> None:
        return None

    def files(self) -> list[str]:
        """The files read, as paths relative to the stdlib folder, sorted."""
        found = []
        for folder, subfolders, names in os.walk(self.root):
            relative = Path(folder).relative_to(self.root)
            if relative == Path("."):
                subfolders[:] = [d for d in subfolders if d not in SKIPPED_TOP and not d.startswith("config-")]
            if not self.config.include_tests:
                subfolders[:] = [d for d in subfolders if d not in TEST_FOLDERS]
            found += [(relative / n).as_posix() for n in names
                      if n.endswith(".py") and not n.startswith("_sysconfigdata_")]
        return sorted(found)

    def read(self) -> Iterator[Document]:
        for relative in self.files():
            data = (self.root / relative).read_bytes()
            try:
                encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
                text = data.decode(encoding)
            except (SyntaxError, LookupError, UnicodeDecodeError):
                self.quarantined.append(Quarantined(file=str(self.root / relative), line=0,
                                                    reason="not decodable text", raw=data))
                continue
            module = relative[: -len(".py")].replace("/", ".").removesuffix(".__init__")
            yield self.document(relative, text.lstrip("\ufeff"), language="python", path=relative, module=module)
