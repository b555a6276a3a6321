"""Topology-hiding checks: what one side of a call must never see of the other side.

    secrets = side_secrets(customer_messages, ip=customer_ip, port=customer_port)
    assert leaks(carrier_messages, secrets) == []

A secret is a literal (an address, a port after a colon, a Call-ID, a Via branch, a
Contact URI) found anywhere in a message received by the other side: first line,
headers or SDP.  Each leak names the secret, the message and the line it is in.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from tests.support.sipp import SipMessage


def _ip_pattern(ip: str) -> re.Pattern[str]:
    return re.compile(r"(?<![\d.])" + re.escape(ip) + r"(?![\d])")


def _literal(text: str) -> re.Pattern[str]:
    return re.compile(re.escape(text))


def side_secrets(sent: Iterable[SipMessage], *, ip: str, port: int) -> dict[str, re.Pattern[str]]:
    """What identifies one side: its address, its port (after a colon), and the Call-IDs,
    Via branches and Contact URIs of the messages it sent."""
    secrets = {f"address {ip}": _ip_pattern(ip),
               f"port :{port}": re.compile(rf":{port}(?!\d)")}
    for message in sent:
        if message.direction != "sent":
            continue
        call_id = message.call_id
        if call_id:
            secrets[f"Call-ID {call_id}"] = _literal(call_id)
        if not message.is_response:
            via = message.header("Via") or ""
            branch = re.search(r"branch=([^;,\s]+)", via)
            if branch:
                secrets[f"Via branch {branch.group(1)}"] = _literal(branch.group(1))
        contact = message.header("Contact") or message.header("m")
        if contact:
            uri = re.search(r"<?(sips?:[^>;\s]+)", contact)
            if uri:
                secrets[f"Contact {uri.group(1)}"] = _literal(uri.group(1))
    return secrets


def leaks(received: Iterable[SipMessage],
          secrets: Mapping[str, re.Pattern[str]]) -> list[str]:
    """Every secret found in a received message: "<secret> in <first line>: <line>"."""
    found = []
    for message in received:
        if message.direction != "received":
            continue
        for line in message.text.splitlines():
            for label, pattern in secrets.items():
                if pattern.search(line):
                    found.append(f"{label} in {message.first_line!r}: {line.strip()!r}")
    return found
