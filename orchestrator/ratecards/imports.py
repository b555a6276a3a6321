"""Uploads, exports and builds of rate cards: what the web, API and CLI call.

The heavy work runs as background jobs (``orchestrator.ratecards.tasks``); these
functions check what can be checked at once, keep the uploaded file under
``var_dir/uploads`` and queue the job. See docs/design/ratecards.md.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.errors import ValidationFailed
from orchestrator.jobs import queue
from orchestrator.jobs.models import Job
from orchestrator.ratecards import customer_cards, provider_cards, revisions
from orchestrator.ratecards.deck import mapping as deck_mapping
from orchestrator.ratecards.deck.errors import DeckError
from orchestrator.ratecards.deck.reader import read_deck
from orchestrator.ratecards.deck.store import read_rates
from orchestrator.ratecards.deck.writer import export_bytes
from orchestrator.ratecards.models import CustomerCard, ProviderCard

KINDS = ("provider", "customer")
FORMATS = ("auto", "csv", "xlsx", "orc")
EXPORT_FORMATS = {"csv": ("text/csv", "csv"),
                  "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           "xlsx"),
                  "orc": ("application/json", "json")}
MAX_UPLOAD_BYTES = 256 * 1024 * 1024
UPLOAD_DIR = "uploads"
Card = ProviderCard | CustomerCard


def get_card(session: Session, actor: Actor, kind: str, card_id: int) -> Card:
    if kind == "provider":
        return provider_cards.get_provider_card(session, actor, card_id)
    if kind == "customer":
        return customer_cards.get_customer_card(session, actor, card_id)
    raise ValidationFailed.one("kind", f"must be one of: {', '.join(KINDS)}")


def actor_params(actor: Actor) -> dict[str, Any]:
    return {"user_id": actor.user_id, "username": actor.username, "role": actor.role}


def actor_from(params: Mapping[str, Any]) -> Actor:
    who = params.get("actor") or {}
    return Actor(who.get("user_id"), str(who.get("username", "system")),
                 str(who.get("role", "viewer")))


# uploads ----------------------------------------------------------------------------
def upload_dir() -> Path:
    return queue.current().settings.var_dir / UPLOAD_DIR


def save_upload(content: bytes) -> str:
    """Keep an upload for its job; returns the token that names it."""
    if not content:
        raise ValidationFailed.one("file", "The file is empty (0 bytes).")
    if len(content) > MAX_UPLOAD_BYTES:
        raise ValidationFailed.one("file", f"is larger than {MAX_UPLOAD_BYTES // 2**20} MB")
    directory = upload_dir()
    directory.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(16)
    (directory / f"{token}.upload").write_bytes(content)
    return token


def upload_path(token: str) -> Path:
    if not (len(token) == 32 and all(c in "0123456789abcdef" for c in token)):
        raise ValidationFailed.one("upload", "is not an upload token")
    return upload_dir() / f"{token}.upload"


def _read_options(options: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    fmt = str(options.get("format") or "auto")
    if fmt not in FORMATS:
        errors["format"] = [f"must be one of: {', '.join(FORMATS)}"]
    delimiter = options.get("delimiter") or None
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t"}.get(str(delimiter), str(delimiter))
        if len(delimiter) != 1:
            errors["delimiter"] = ["must be one character (or \\t for tab)"]
    encoding = options.get("encoding") or None
    if encoding is not None:
        import codecs
        try:
            codecs.lookup(str(encoding))
        except LookupError:
            errors["encoding"] = [f"unknown encoding {encoding!r}"]
    sheet = options.get("sheet")
    if errors:
        raise ValidationFailed(errors)
    return {"format": fmt, "encoding": encoding, "delimiter": delimiter,
            "sheet": None if sheet in (None, "") else sheet}


def preview(content: bytes, *, rows: int = 20, **options: Any) -> dict[str, Any]:
    """The first rows as read, what was detected and a suggested mapping (the wizard)."""
    read = _read_options(options)
    try:
        table = read_deck(content, **read)
    except DeckError as exc:
        raise ValidationFailed.one("file", exc.message) from None
    suggested = deck_mapping.suggest_mapping(table)
    return {"format": table.format, "encoding": table.encoding, "delimiter": table.delimiter,
            "sheet": table.sheet, "sheets": list(table.sheets), "width": table.width,
            "rows": [{"row": number, "cells": cells} for number, cells in table.preview(rows)],
            "total_rows": table.height + table.row_offset,
            "mapping": dict(suggested.columns), "first_row": suggested.first_row,
            "fields": list(deck_mapping.MAPPABLE), "required": list(deck_mapping.REQUIRED)}


def clean_mapping(raw: object, first_row: object) -> tuple[dict[str, int | str], int]:
    """The mapping as given (field -> 0-based column index or header text)."""
    errors: dict[str, list[str]] = {}
    columns: dict[str, int | str] = {}
    if not isinstance(raw, Mapping) or not raw:
        errors["mapping"] = ["must be an object from field name to column (header text "
                             "or 0-based index)"]
    else:
        for field, column in raw.items():
            if field not in deck_mapping.MAPPABLE:
                errors[f"mapping.{field}"] = [
                    f"unknown field; one of: {', '.join(deck_mapping.MAPPABLE)}"]
            elif isinstance(column, bool) or not isinstance(column, int | str):
                errors[f"mapping.{field}"] = ["must be a header text or a column index"]
            elif isinstance(column, int) and not 0 <= column < 10_000:
                errors[f"mapping.{field}"] = ["a column index is 0 or more"]
            elif isinstance(column, str) and not column.strip():
                errors[f"mapping.{field}"] = ["must not be empty"]
            else:
                columns[str(field)] = column
        for field in deck_mapping.REQUIRED:
            if field not in raw:
                errors.setdefault(f"mapping.{field}", []).append("is required")
    if isinstance(first_row, bool) or not isinstance(first_row, int) or first_row < 1:
        errors["first_row"] = ["must be a row number, 1 or more"]
    if errors:
        raise ValidationFailed(errors)
    assert isinstance(first_row, int)
    return columns, first_row


def _date_live(value: datetime | None, activate: bool) -> str | None:
    if value is None:
        return None
    if activate:
        raise ValidationFailed.one("date_live", "give either activate or date_live, not both")
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    if moment <= datetime.now(UTC):
        raise ValidationFailed.one("date_live", "must be in the future (or use activate)")
    return moment.isoformat()


def preview_upload(token: str, *, rows: int = 20, **options: Any) -> dict[str, Any]:
    """``preview`` of a file kept with ``save_upload`` (the wizard's later steps)."""
    path = upload_path(token)
    if not path.exists():
        raise ValidationFailed.one("upload", "the uploaded file is gone (imported, or "
                                   "older than a day): upload it again")
    return preview(path.read_bytes(), rows=rows, **options)


def start_import(session: Session, actor: Actor, *, kind: str, card_id: int,
                 content: bytes | None = None, upload: str | None = None,
                 filename: str, mapping: object, first_row: object = 2,
                 activate: bool = False, date_live: datetime | None = None,
                 **options: Any) -> Job:
    """Queue the import of an uploaded deck into a new revision of a card.

    The file is ``content``, or ``upload``: the token of a file kept earlier with
    ``save_upload``. ``options``: format, encoding, delimiter, sheet (see
    ``preview``). Row problems
    are found by the job and end it failed with every problem named; nothing is
    written then. With ``activate`` the new revision goes live at once (customer
    cards: subject to the notice period), with ``date_live`` at that time.
    """
    actor.require("write")
    card = get_card(session, actor, kind, card_id)
    if isinstance(card, CustomerCard) and not card.external:
        raise ValidationFailed.one("card", "a built customer card gets its rates from a "
                                   "build; mark it external to upload rates")
    columns, first = clean_mapping(mapping, first_row)
    read = _read_options(options)
    live = _date_live(date_live, activate)
    if upload is not None:
        if not upload_path(upload).exists():
            raise ValidationFailed.one("upload", "the uploaded file is gone: upload it again")
        token = upload
    else:
        token = save_upload(content or b"")
    from orchestrator.ratecards import tasks
    params = {"kind": kind, "card_id": card.id, "upload": token,
              "filename": (filename or "upload")[:200], "mapping": columns,
              "first_row": first, "activate": bool(activate), "date_live": live,
              "actor": actor_params(actor), **read}
    return tasks.import_deck.enqueue(actor, params, session=session)


def export_revision(session: Session, actor: Actor, *, kind: str, card_id: int,
                    revision_id: int | None, format: str) -> tuple[bytes, str, str]:
    """(content, file name, media type) of a revision (default: the active one)."""
    actor.require("read")
    if format not in EXPORT_FORMATS:
        raise ValidationFailed.one("format", f"must be one of: {', '.join(EXPORT_FORMATS)}")
    card = get_card(session, actor, kind, card_id)
    if revision_id is None:
        revision = revisions.active_revision(session, card)
        if revision is None:
            raise ValidationFailed.one("revision", "the card has no active revision: "
                                       "name one")
    else:
        revision = revisions.get_revision(session, actor, card, revision_id)
    frame = read_rates(session.connection(), revision.id)
    options: dict[str, Any] = ({"name": card.name, "currency": card.currency}
                               if format == "orc" else {})
    media, extension = EXPORT_FORMATS[format]
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in card.name)[:60]
    return (export_bytes(frame, format, **options),
            f"{safe}-r{revision.number}.{extension}", media)


def start_build(session: Session, actor: Actor, card_id: int, *,
                activate: bool = False) -> Job:
    """Queue a build of a customer card from its parents' active revisions."""
    actor.require("write")
    card = customer_cards.get_customer_card(session, actor, card_id)
    if card.external:
        raise ValidationFailed.one("card", "an external card is uploaded, not built")
    if not card.parents:
        raise ValidationFailed.one("parents", "add at least one provider card to build from")
    from orchestrator.ratecards import tasks
    return tasks.build_cards.enqueue(actor, {"card_ids": [card.id], "activate": activate,
                                             "actor": actor_params(actor)}, session=session)


def start_bulk_build(session: Session, actor: Actor, card_ids: list[int] | None = None, *,
                     activate: bool = False) -> Job:
    """Queue builds of many cards: the given ones, or every stale built card."""
    actor.require("write")
    if card_ids is None:
        cards = session.query(CustomerCard).filter(CustomerCard.external.is_(False)).all()
        card_ids = [c.id for c in cards if c.parents and revisions.stale(session, c)]
    else:
        for card_id in card_ids:
            card = customer_cards.get_customer_card(session, actor, card_id)
            if card.external:
                raise ValidationFailed.one("card_ids", f"{card.name} is external: not built")
    if not card_ids:
        raise ValidationFailed.one("card_ids", "no card to build (none is stale)")
    from orchestrator.ratecards import tasks
    return tasks.build_cards.enqueue(actor, {"card_ids": sorted(set(card_ids)),
                                             "activate": activate,
                                             "actor": actor_params(actor)}, session=session)
