"""Where the customer import wizard keeps an uploaded file between its steps.

``<var_dir>/imports/<token>.csv`` next to ``<token>.json`` (who uploaded it, the
options and the chosen columns); only the random token is in the session cookie.
Files older than ``KEEP_SECONDS`` are swept by any wizard request.
"""

from __future__ import annotations

import json
import os
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from flask import session

from webui.state import web_state

KEEP_SECONDS = 3600
SESSION_KEY = "customer_import"
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def check_content(content: bytes) -> tuple[str, str | None]:
    """(encoding the service will read it in, a problem that stops the import or None)."""
    if not content.strip():
        return "", "The file is empty."
    if content.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
        return "", ("This is a spreadsheet workbook (Excel or similar), not a CSV file: "
                    "save it as \u201cCSV UTF-8\u201d and upload that file.")
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "", ("The file is UTF-16 text, which cannot be read: save it as "
                    "\u201cCSV UTF-8\u201d and upload it again.")
    if b"\x00" in content:
        line = content[:content.index(b"\x00")].count(b"\n") + 1
        return "", (f"The file contains NUL bytes (first on line {line}): it is not a "
                    "text CSV file. Save it as \u201cCSV UTF-8\u201d and upload it again.")
    try:
        content.decode("utf-8-sig")
        return "UTF-8", None
    except UnicodeDecodeError as exc:
        utf8_error = exc
    try:
        content.decode("cp1252")
        return "Windows-1252", None
    except UnicodeDecodeError as exc:
        line = content[:exc.start].count(b"\n") + 1
        byte = content[exc.start]
        first = content[:utf8_error.start].count(b"\n") + 1
        return "", (f"The file is neither UTF-8 nor Windows-1252 text: byte 0x{byte:02X} on "
                    f"line {line} cannot be read (the first non-UTF-8 byte is on line "
                    f"{first}). Save it as \u201cCSV UTF-8\u201d and upload it again.")


# -- the uploaded file between the steps ------------------------------------------------


@dataclass
class Upload:
    token: str
    user_id: int
    filename: str
    size: int
    header: bool
    encoding: str
    created: float
    mapping: dict[str, str] | None = None  # column -> field, once chosen
    defaults: dict[str, str] = field(default_factory=dict)

    @property
    def header_row(self) -> int | None:
        return 1 if self.header else None


def upload_dir() -> Path:
    path = web_state().settings.var_dir / "imports"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    return path


def sweep() -> None:
    """Remove uploads older than KEEP_SECONDS (whoever left them)."""
    limit = time.time() - KEEP_SECONDS
    for path in upload_dir().iterdir():
        try:
            if path.suffix in (".csv", ".json", ".tmp") and path.stat().st_mtime < limit:
                path.unlink()
        except FileNotFoundError:
            continue  # another request removed it first


def write_meta(upload: Upload) -> None:
    target = upload_dir() / f"{upload.token}.json"
    temp = target.with_suffix(".tmp")
    temp.write_text(json.dumps(asdict(upload)), encoding="utf-8")
    os.replace(temp, target)


def discard(token: str | None) -> None:
    if token and TOKEN.match(token):
        for suffix in (".csv", ".json"):
            (upload_dir() / f"{token}{suffix}").unlink(missing_ok=True)


def load(user_id: int | None) -> tuple[Upload, bytes] | None:
    """This session's upload, if it still exists, is recent and belongs to this user."""
    token = session.get(SESSION_KEY)
    if not isinstance(token, str) or not TOKEN.match(token):
        return None
    folder = upload_dir()
    try:
        upload = Upload(**json.loads((folder / f"{token}.json").read_text(encoding="utf-8")))
        content = (folder / f"{token}.csv").read_bytes()
    except (OSError, ValueError, TypeError):
        return None
    if upload.user_id != user_id:
        return None
    if upload.created < time.time() - KEEP_SECONDS:
        discard(token)
        return None
    return upload, content
