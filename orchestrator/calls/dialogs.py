"""One call as Kamailio's dialog module reports it (RPC ``dlg.list``), read into plain
values: no database, no network (unit-testable).

Every call is a dialog (``dlg_manage()`` in route START, templates/kamailio/
carriers.cfg.j2). What the script keeps in the dialog's variables:

- ``cdr``  "t0|call-id|from-tag|cseq|source ip|customer id|route id|sip user|caller|
  dialled|number|tariff|media|mset" (cdrs.cfg.j2, only with the ``cdrs`` setting on;
  ``<null>`` or empty for unset, caller and dialled URI-escaped)
- ``ans``  "carrier id|provider card id|routed number", set at the 200 OK; ``ta`` the
  answer time (unix seconds with decimals)
- ``kc``   "k<carrier id>" of the carrier being tried (or that answered); ``cc``
  "c<customer id>", ``rc`` "r<route id>" (channel counters, set whatever ``cdrs`` says)
- ``media`` proxy | direct | late, ``mset`` the rtpengine set (0 = local rtpengine)

Dialog states (Kamailio 5.6 dialog module): 1 unconfirmed (INVITE relayed, no reply
yet), 2 early (provisional reply), 3 confirmed without ACK, 4 confirmed, 5 deleted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

RINGING = "ringing"
ANSWERED = "answered"
# dialog module states -> what the operator sees; 5 (deleted) is not a live call
STATES = {1: RINGING, 2: RINGING, 3: ANSWERED, 4: ANSWERED}
_UNSET = ("", "<null>")
CDR_FIELDS = ("t0", "call_id", "from_tag", "cseq", "source_ip", "customer", "route",
              "sip_user", "caller", "dialled", "number", "tariff", "media", "mset")


@dataclass(frozen=True)
class Dialog:
    """What one ``dlg.list`` entry says about a call (ids are the model's ids)."""

    h_entry: int
    h_id: int
    call_id: str
    from_tag: str
    to_tag: str          # "" until a callee answered (or sent a tagged provisional)
    cseq: str            # the caller's CSeq number of the INVITE ("1")
    state: str           # RINGING | ANSWERED
    started_at: float    # unix seconds: INVITE arrival
    answered_at: float | None
    customer_id: int | None
    route_id: int | None
    sip_user: str | None
    source_ip: str | None
    caller: str
    dialled: str         # as the customer dialled it (tech prefix included)
    number: str | None   # after the tech prefix was stripped
    carrier_id: int | None       # the answering carrier, else the one being tried
    provider_card_id: int | None
    routed_number: str | None    # the number sent to the answering carrier
    media: str           # proxy | direct | late | "" (unknown)
    media_set: int | None
    # under credit control: (sell rate per minute, mcd, pulse, connect fee), rate units
    rate: tuple[int, int, int, int] | None = None

    @property
    def id(self) -> str:
        """The call's id in URLs: "<h_entry>.<h_id>" (unique while the call lasts)."""
        return f"{self.h_entry}.{self.h_id}"


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _opt(value: str | None) -> str | None:
    return None if value is None or value in _UNSET else value


def _int(value: str | None, prefix: str = "") -> int | None:
    text = _opt(value)
    if text is None or not text.startswith(prefix):
        return None
    digits = text[len(prefix):]
    return int(digits) if digits.isdigit() else None


def _float(value: str | None) -> float | None:
    text = _opt(value)
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _uri_user(uri: str) -> str:
    """The user part of "sip:user@host:port" ("" when there is none)."""
    rest = uri.split(":", 1)[1] if ":" in uri else uri
    return unquote(rest.split("@", 1)[0]) if "@" in rest else ""


def variables(entry: dict[str, Any]) -> dict[str, str]:
    """The dialog's variables: ``[{"cdr": "..."}, {"ans": "..."}]`` -> one dict."""
    found: dict[str, str] = {}
    raw = entry.get("variables") or []
    items = raw if isinstance(raw, list) else [raw]
    for item in items:
        if isinstance(item, dict):
            for name, value in item.items():
                found[str(name)] = _text(value)
    return found


def _packed(text: str | None, names: tuple[str, ...]) -> dict[str, str | None]:
    parts = (text or "").split("|") if _opt(text) else []
    return {name: _opt(parts[i]) if i < len(parts) else None for i, name in enumerate(names)}


def _number(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


def _leg(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def parse(entry: dict[str, Any]) -> Dialog | None:
    """A live call from one ``dlg.list`` entry; None for a dialog that is not one
    (deleted, or too malformed to name)."""
    state = STATES.get(_number(entry.get("state")))
    h_entry, h_id = _number(entry.get("h_entry")), _number(entry.get("h_id"))
    call_id = _text(entry.get("call-id"))
    if state is None or h_entry < 0 or h_id < 0 or not call_id:
        return None
    caller_leg, callee_leg = _leg(entry.get("caller")), _leg(entry.get("callee"))
    var = variables(entry)
    cdr = _packed(var.get("cdr"), CDR_FIELDS)
    ans = _packed(var.get("ans"), ("carrier", "card", "routed"))
    init_ts = max(0, _number(entry.get("init_ts")))
    start_ts = max(0, _number(entry.get("start_ts")))
    started = _float(cdr["t0"]) or float(init_ts)
    answered = _float(var.get("ta")) if state == ANSWERED else None
    if state == ANSWERED and answered is None and start_ts > 0:
        answered = float(start_ts)
    caller = cdr["caller"]
    dialled = cdr["dialled"]
    carrier = _int(ans["carrier"]) if state == ANSWERED else None
    if carrier is None:
        carrier = _int(var.get("kc"), "k")
    return Dialog(
        h_entry=h_entry, h_id=h_id, call_id=call_id,
        from_tag=_text(caller_leg.get("tag")), to_tag=_text(callee_leg.get("tag")),
        cseq=_text(caller_leg.get("cseq")) or (cdr["cseq"] or ""),
        state=state, started_at=started, answered_at=answered,
        customer_id=_int(cdr["customer"]) or _int(var.get("cc"), "c"),
        route_id=_int(cdr["route"]) or _int(var.get("rc"), "r"),
        sip_user=cdr["sip_user"], source_ip=cdr["source_ip"],
        caller=unquote(caller) if caller is not None else _uri_user(
            _text(entry.get("from_uri"))),
        dialled=unquote(dialled) if dialled is not None else _uri_user(
            _text(entry.get("to_uri"))),
        number=cdr["number"],
        carrier_id=carrier,
        provider_card_id=_int(ans["card"]) if state == ANSWERED else None,
        routed_number=ans["routed"] if state == ANSWERED else None,
        media=_opt(var.get("media")) or cdr["media"] or "",
        media_set=_int(var.get("mset")) if _opt(var.get("mset")) else _int(cdr["mset"]),
        rate=_rate(var.get("rate")),
    )


def _rate(text: str | None) -> tuple[int, int, int, int] | None:
    """``$dlg_var(rate)`` = "sell|mcd|pulse|fee" (templates/kamailio/credit.cfg.j2)."""
    parts = (text or "").split("|")
    if len(parts) != 4 or not all(p.isdigit() for p in parts):
        return None
    sell, mcd, pulse, fee = (int(p) for p in parts)
    return (sell, mcd, max(1, pulse), fee)
