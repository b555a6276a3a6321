"""Live calls: what the switch is carrying now, and hanging a call up (docs/live-calls.md).

The web admin, the REST API and the CLI call ``list_calls`` and ``hangup``. Both read
Kamailio's dialogs over JSON-RPC (``dlg.list``) and, for proxied calls, rtpengine's
counters (ng ``query``). Only the local node is asked for now (the node `make run`
starts); calls of other switch nodes in the inventory are not listed.

Hanging up:
- an answered call: the htable ``hup`` gets key = its Call-ID, value "operator"
  (its CDR says who ended it: templates/kamailio/cdrs.cfg.j2), then ``dlg.end_dlg``
  sends BYE to both sides;
- a ringing call: ``tm.cancel`` (Call-ID, CSeq) sends CANCEL to the carrier being
  tried; the carrier's 487 goes back to the customer ("487 Request Terminated"), and
  no other carrier is tried.
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.audit import service as audit
from orchestrator.calls.dialogs import ANSWERED, Dialog, parse
from orchestrator.calls.media import Media, MediaReader
from orchestrator.carriers.models import Carrier
from orchestrator.customers.models import Customer
from orchestrator.errors import NotFound, ServiceError, ValidationFailed
from orchestrator.kamailio import KamailioError, KamailioFault, KamailioRPC, dlg, htable
from orchestrator.ratecards.models import ProviderCard
from orchestrator.routing.models import IngressRoute
from orchestrator.settings import Settings

log = logging.getLogger(__name__)

NODE = "local"
RPC_TIMEOUT = 5.0
HUP_TABLE = "hup"
HUP_OPERATOR = "operator"
ENDING_SUFFIX = " ending"
OBJECT_TYPE = "call"
MAX_ID_LENGTH = 255
_INTERNAL_ID = re.compile(r"^(\d{1,10})\.(\d{1,10})$")


class CallsUnavailable(ServiceError):
    """Kamailio could not be asked (REST 503): nothing was listed or ended."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the switch (node {NODE}) could not be asked about its calls: "
                         f"{reason}. Start it (`orchestrator stack up`) or check rpc_port, "
                         "then try again")
        self.reason = reason


@dataclass(frozen=True)
class Named:
    id: int
    name: str | None   # None: not in the model (deleted, or another model's switch)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


@dataclass(frozen=True)
class LiveCall:
    dialog: Dialog
    customer: Named | None
    route: Named | None
    carrier: Named | None
    provider_card: Named | None
    media: Media
    now: float

    @property
    def id(self) -> str:
        return self.dialog.id

    @property
    def duration(self) -> int:
        """Whole seconds since the answer (0 while ringing)."""
        answered = self.dialog.answered_at
        return 0 if answered is None else max(0, int(self.now - answered))

    @property
    def age(self) -> int:
        """Whole seconds since the INVITE arrived."""
        return max(0, int(self.now - self.dialog.started_at))

    def to_dict(self) -> dict[str, Any]:
        d = self.dialog
        return {
            "id": d.id, "node": NODE, "call_id": d.call_id, "state": d.state,
            "started_at": _iso(d.started_at),
            "answered_at": None if d.answered_at is None else _iso(d.answered_at),
            "duration": self.duration, "age": self.age,
            "customer": self.customer.to_dict() if self.customer else None,
            "route": self.route.to_dict() if self.route else None,
            "sip_user": d.sip_user, "source_ip": d.source_ip,
            "caller": d.caller, "dialled": d.dialled, "number": d.number,
            "carrier": self.carrier.to_dict() if self.carrier else None,
            "provider_card": self.provider_card.to_dict() if self.provider_card else None,
            "routed_number": d.routed_number,
            "media": self.media.to_dict(),
        }


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _rpc(settings: Settings) -> KamailioRPC:
    return KamailioRPC(settings.rpc_url, timeout=RPC_TIMEOUT, reload_retries=0)


def dialogs(settings: Settings) -> list[Dialog]:
    """The live calls of the local node, by start time (CallsUnavailable when
    Kamailio cannot be asked)."""
    try:
        entries = dlg.list_dialogs(_rpc(settings))
    except KamailioError as exc:
        raise CallsUnavailable(str(exc)) from exc
    found = [d for d in (parse(e) for e in entries) if d is not None]
    return sorted(found, key=lambda d: (d.started_at, d.h_entry, d.h_id))


def _names(session: Session, model: Any, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(model.id, model.name).where(model.id.in_(wanted)))
    return {row[0]: row[1] for row in rows}


def _named(ident: int | None, names: dict[int, str]) -> Named | None:
    return None if ident is None else Named(ident, names.get(ident))


def list_calls(session: Session, settings: Settings, *, actor: Actor | None = None,
               customer_id: int | None = None, carrier_id: int | None = None,
               now: float | None = None) -> list[LiveCall]:
    """The calls the switch carries now (ringing and answered), by start time, with
    names from the model and the media state from rtpengine; filtered by customer
    and carrier (the answering one, or the one being tried)."""
    if actor is not None:
        actor.require("read")
    found = [d for d in dialogs(settings)
             if (customer_id is None or d.customer_id == customer_id)
             and (carrier_id is None or d.carrier_id == carrier_id)]
    moment = time.time() if now is None else now
    reader = MediaReader(settings, moment)
    customers = _names(session, Customer, (d.customer_id for d in found))
    routes = _names(session, IngressRoute, (d.route_id for d in found))
    carriers = _names(session, Carrier, (d.carrier_id for d in found))
    cards = _names(session, ProviderCard, (d.provider_card_id for d in found))
    return [LiveCall(d, _named(d.customer_id, customers), _named(d.route_id, routes),
                     _named(d.carrier_id, carriers), _named(d.provider_card_id, cards),
                     reader.media(d.media, d.media_set, d.call_id, d.from_tag, d.to_tag),
                     moment)
            for d in found]


def check_id(ident: str) -> str:
    """The id as given, stripped; ValidationFailed when it cannot name a call."""
    text = ident.strip() if isinstance(ident, str) else ""
    if not text:
        raise ValidationFailed.one("id", "give a call's id (as the list shows it, "
                                   "e.g. 1234.5678) or its Call-ID")
    if len(text) > MAX_ID_LENGTH or not text.isprintable() or any(c.isspace() for c in text):
        raise ValidationFailed.one("id", f"not a call id or Call-ID: at most "
                                   f"{MAX_ID_LENGTH} printable characters without spaces")
    return text


def _matching(found: list[Dialog], ident: str) -> list[Dialog]:
    internal = _INTERNAL_ID.match(ident)
    if internal:
        h_entry, h_id = int(internal.group(1)), int(internal.group(2))
        hits = [d for d in found if (d.h_entry, d.h_id) == (h_entry, h_id)]
        if hits:
            return hits
    return [d for d in found if d.call_id == ident]


def find_call(session: Session, settings: Settings, ident: str,
              actor: Actor | None = None) -> LiveCall:
    """One live call by id or Call-ID (what a hang-up confirmation shows)."""
    wanted = check_id(ident)
    calls = list_calls(session, settings, actor=actor)
    hits = _matching([c.dialog for c in calls], wanted)
    if not hits:
        raise NotFound("call", wanted)
    return next(c for c in calls if c.dialog is hits[0])


def _end(rpc: KamailioRPC, d: Dialog, reason: str = HUP_OPERATOR) -> bool:
    """BYE to both sides of an answered call; False when it is gone already, or being
    hung up already: the dialog stays listed (state confirmed) until both sides answered
    the BYEs, and a second end_dlg would send them again. The CDR script consumes the
    hup key at once (dialog:end runs within end_dlg), so a second key, "<Call-ID>
    ending" (a Call-ID has no space), marks a call being ended; hup's autoexpire
    (120 s) removes it."""
    ending = f"{d.call_id}{ENDING_SUFFIX}"
    try:
        if htable.get(rpc, HUP_TABLE, ending) is not None:
            return False
        htable.sets(rpc, HUP_TABLE, ending, reason)
        htable.sets(rpc, HUP_TABLE, d.call_id, reason)
    except KamailioFault as fault:
        # a configuration from before CDRs (no hup table): end the call all the same
        log.warning("call %s: no hang-up reason for its CDR (%s)", d.call_id, fault)
    try:
        dlg.end_dlg(rpc, d.h_entry, d.h_id)
    except KamailioFault:
        with contextlib.suppress(KamailioFault):
            htable.delete(rpc, HUP_TABLE, d.call_id)
            htable.delete(rpc, HUP_TABLE, ending)
        return False
    return True


def _cancel(rpc: KamailioRPC, d: Dialog, reason: str = HUP_OPERATOR) -> bool:
    """CANCEL to the carrier being tried; False when no such transaction is pending.
    The hup key makes the attempt's CDR (487) say hangup = operator."""
    with contextlib.suppress(KamailioFault):
        htable.sets(rpc, HUP_TABLE, d.call_id, reason)
    try:
        rpc.call("tm.cancel", d.call_id, d.cseq or "1")
    except KamailioFault:
        with contextlib.suppress(KamailioFault):
            htable.delete(rpc, HUP_TABLE, d.call_id)
        return False
    return True


def _stop(rpc: KamailioRPC, d: Dialog, settings: Settings) -> str | None:
    """End one call: "bye", "cancel", or None when it ended meanwhile."""
    if d.state == ANSWERED:
        return "bye" if _end(rpc, d) else None
    if _cancel(rpc, d):
        return "cancel"
    # answered between the listing and the CANCEL?
    now = [x for x in dialogs(settings) if (x.h_entry, x.h_id) == (d.h_entry, d.h_id)]
    if now and now[0].state == ANSWERED:
        return "bye" if _end(rpc, now[0]) else None
    return None


def end_answered(settings: Settings, customer_id: int, reason: str) -> list[str]:
    """End every answered call of a customer (BYE both ways; the CDRs say ``reason``):
    the Call-IDs ended. For the control plane's own use (credit control), not audited
    as an operator's hang-up. Raises CallsUnavailable when Kamailio cannot be asked."""
    rpc = _rpc(settings)
    ended: list[str] = []
    try:
        for d in dialogs(settings):
            if d.customer_id == customer_id and d.state == ANSWERED and _end(rpc, d, reason):
                ended.append(d.call_id)
    except KamailioError as exc:
        raise CallsUnavailable(str(exc)) from exc
    return ended


def hangup(session: Session, actor: Actor, settings: Settings, ident: str) -> dict[str, Any]:
    """End the call of ``ident`` (its id "h_entry.h_id" or its Call-ID): BYE to both
    sides when answered, CANCEL toward the carrier when ringing. Audited.

    ValidationFailed for an id that cannot be one, NotFound when no live call has it
    (or it ended meanwhile), CallsUnavailable when Kamailio cannot be asked.
    Answers ``{"id", "call_id", "state", "action": "bye" | "cancel", "customer"...}``.
    """
    actor.require("write")
    wanted = check_id(ident)
    targets = _matching(dialogs(settings), wanted)
    if not targets:
        raise NotFound("call", wanted)
    rpc = _rpc(settings)
    done: list[tuple[Dialog, str]] = []
    try:
        for d in targets:
            action = _stop(rpc, d, settings)
            if action is not None:
                done.append((d, action))
    except KamailioError as exc:
        raise CallsUnavailable(str(exc)) from exc
    if not done:
        raise NotFound("call", f"{wanted} (it has ended, or is being hung up)")
    first, action = done[0]
    customers = _names(session, Customer, [first.customer_id])
    carriers = _names(session, Carrier, [first.carrier_id])
    who = customers.get(first.customer_id or 0) or f"customer {first.customer_id}"
    customer = _named(first.customer_id, customers)
    carrier = _named(first.carrier_id, carriers)
    state = ANSWERED if action == "bye" else first.state   # answered meanwhile: BYE
    result = {"id": first.id, "node": NODE, "call_id": first.call_id, "state": state,
              "action": action, "caller": first.caller, "dialled": first.dialled,
              "customer": customer.to_dict() if customer else None,
              "carrier": carrier.to_dict() if carrier else None}
    verb = "hung up" if action == "bye" else "cancelled"
    audit.record(session, actor, "hangup", OBJECT_TYPE, None,
                 summary=f"{verb} the {state} call {first.call_id} of {who} "
                         f"({first.caller} -> {first.dialled})",
                 after={k: v for k, v in result.items() if k != "node"})
    return result
