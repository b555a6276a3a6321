"""htable.* RPCs: key/value tables in Kamailio's shared memory."""

from __future__ import annotations

from orchestrator.kamailio._parse import as_dict, as_list
from orchestrator.kamailio.errors import KamailioFault, KamailioProtocolError
from orchestrator.kamailio.rpc import KamailioRPC

HtValue = str | int

# Kamailio 5.6 fault texts for an absent key (htable.get: 500, htable.delete: 404).
_NO_KEY = ("key name doesn't exist", "key not found")


def _is_missing_key(fault: KamailioFault) -> bool:
    return fault.message.casefold().startswith(_NO_KEY)


def _value(method: str, value: object) -> HtValue:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise KamailioProtocolError(f"{method}: unexpected value {value!r:.100}")
    return value


def get(rpc: KamailioRPC, table: str, key: str) -> HtValue | None:
    """``htable.get <table> <key>``: the value, or None when the key is absent."""
    try:
        result = rpc.call("htable.get", table, key)
    except KamailioFault as fault:
        if _is_missing_key(fault):
            return None
        raise
    item = as_dict("htable.get", as_dict("htable.get", result).get("item"))
    return _value("htable.get", item.get("value"))


def sets(rpc: KamailioRPC, table: str, key: str, value: str) -> None:
    """``htable.sets <table> <key> <string>``."""
    rpc.call("htable.sets", table, key, value)


def seti(rpc: KamailioRPC, table: str, key: str, value: int) -> None:
    """``htable.seti <table> <key> <integer>``."""
    rpc.call("htable.seti", table, key, value)


def delete(rpc: KamailioRPC, table: str, key: str) -> bool:
    """``htable.delete <table> <key>``: True if the key was there, False if absent."""
    try:
        rpc.call("htable.delete", table, key)
    except KamailioFault as fault:
        if _is_missing_key(fault):
            return False
        raise
    return True


def dump(rpc: KamailioRPC, table: str) -> dict[str, HtValue]:
    """``htable.dump <table>``: every item, flattened from Kamailio's hash slots."""
    items: dict[str, HtValue] = {}
    for slot in as_list("htable.dump", rpc.call("htable.dump", table)):
        for item in as_list("htable.dump", as_dict("htable.dump", slot).get("slot", [])):
            entry = as_dict("htable.dump", item)
            items[str(entry.get("name"))] = _value("htable.dump", entry.get("value"))
    return items


def flush(rpc: KamailioRPC, table: str) -> None:
    """``htable.flush <table>``: remove every item."""
    rpc.call("htable.flush", table)


def reload(rpc: KamailioRPC, table: str) -> None:
    """``htable.reload <table>``: reload from the table's database (needs db_url)."""
    rpc.call("htable.reload", table)
