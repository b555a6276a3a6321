"""Sending one SMS through the configured HTTP gateway (orchestrator.notify.config).

The body template's ``{to}``, ``{text}``, ``{from}`` are replaced by the values,
URL-encoded for a form body or a URL, JSON-escaped for a JSON body. Any 2xx answer is
success; anything else (or no answer) is an ``SmsError`` with the status and the
start of the gateway's answer.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlsplit

import requests

from orchestrator.notify.config import SmsConfig
from orchestrator.notify.smtp import NotConfigured

MAX_ANSWER = 300


class SmsError(RuntimeError):
    """The gateway refused the message or could not be reached."""


def render(template: str, values: dict[str, str], escape: str) -> str:
    """Fill ``{to}``/``{text}``/``{from}``; escape ``url`` or ``json`` (no quotes added)."""
    out = template
    for name, value in values.items():
        piece = json.dumps(value)[1:-1] if escape == "json" else quote(value, safe="")
        out = out.replace("{" + name + "}", piece)
    return out


def _where(url: str) -> str:
    """scheme://host:port of a URL (the path may hold the number or the text)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def send(config: SmsConfig, to: str, text: str) -> str:
    """Send ``text`` to ``to`` (E.164); the gateway's answer (shortened) on success."""
    if not config.url:
        raise NotConfigured("the SMS gateway is not configured: set its URL in Settings -> "
                            "SMS (or PUT /api/v1/settings/sms)")
    values = {"to": to, "text": text, "from": config.sender}
    url = render(config.url, values, "url")
    headers: dict[str, str] = {}
    auth: tuple[str, str] | None = None
    if config.auth == "basic":
        auth = (config.username, config.password)
    elif config.auth == "bearer":
        headers["Authorization"] = f"Bearer {config.password}"
    data: str | None = None
    if config.method == "POST":
        if config.content_type == "json":
            data = render(config.body_template, values, "json")
            headers["Content-Type"] = "application/json"
        else:
            data = render(config.body_template, values, "url")
            headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        answer = requests.request(config.method, url, data=data.encode() if data else None,
                                  headers=headers, auth=auth,
                                  timeout=config.timeout_seconds)
    except requests.Timeout as exc:
        raise SmsError(f"no answer from the gateway {_where(url)} within "
                       f"{config.timeout_seconds} s") from exc
    except requests.ConnectionError as exc:
        reason = "connection refused" if "refused" in str(exc).lower() else str(exc)
        raise SmsError(f"gateway {_where(url)} not reached: {reason}") from exc
    except requests.RequestException as exc:
        raise SmsError(f"gateway {_where(url)} not reached: {exc}") from exc
    excerpt = answer.text[:MAX_ANSWER]
    if not 200 <= answer.status_code < 300:
        raise SmsError(f"gateway answered HTTP {answer.status_code}: {excerpt}")
    return excerpt
