"""`orchestrator customers verify send|code|reset|status`: a customer's email and mobile
verification (orchestrator/verification, docs/verification.md)."""

from __future__ import annotations

from typing import Any

import click

from orchestrator.cli.customers import _emit, _find, _message, _session, cli_actor
from orchestrator.verification import codes, subjects
from orchestrator.verification.models import CHANNELS

CHANNEL = click.Choice(CHANNELS)
APPLY_HINT = ("the customer's calls are accepted once the switch changes are applied: "
              "run `orchestrator apply`")


def _status_text(state: dict[str, Any]) -> str:
    lines = [f"customer {state['customer_id']} {state['name']}: verification "
             f"{'required' if state['verification_required'] else 'not required'}"
             + (", calls refused until verified" if state["needs_verification"] else "")]
    for channel in CHANNELS:
        info = state["channels"][channel]
        shown = info["target"] or "(none)"
        verdict = "verified" if info["verified"] else "not verified"
        line = f"  {channel:<6} {shown}  {verdict}"
        if info["code_expires_at"]:
            line += (f"; code pending until {info['code_expires_at']}, "
                     f"{info['attempts_left']} attempts left")
        if info["resend_after"]:
            line += f"; new code after {info['resend_after']}"
        lines.append(line)
    return "\n".join(lines)


@click.group("verify")
def verify() -> None:
    """Verify a customer's email or mobile with a code (docs/verification.md)."""


@verify.command("send")
@click.argument("customer")
@click.argument("channel", type=CHANNEL)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def send(customer: str, channel: str, as_json: bool) -> None:
    """Send CUSTOMER (id or name) a 6-digit code by email or SMS (mobile)."""
    actor = cli_actor()
    with _session() as session:
        found = _find(session, actor, customer)
        data = codes.send_code(session, actor, subjects.customer(found.id), channel).to_dict()
    _emit(data, as_json, lambda: (
        f"code queued for {data['target']} ({channel}, message {data['message_id']}): "
        f"valid until {data['expires_at']}; the job worker delivers it"))


@verify.command("code")
@click.argument("customer")
@click.argument("channel", type=CHANNEL)
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def code(customer: str, channel: str, code: str, as_json: bool) -> None:
    """Enter the CODE CUSTOMER received: its email or mobile becomes verified.

    A wrong code counts as one of the code's attempts."""
    actor = cli_actor()
    with _session() as session:
        found = _find(session, actor, customer)
        result = codes.check_code(session, actor, subjects.customer(found.id), channel, code)
        state = codes.state(session, actor, subjects.customer(found.id))
    if result.error is not None:  # the attempt was committed with the session above
        raise click.ClickException(_message(result.error))
    _emit(state, as_json, lambda: f"{channel} {result.target} verified" + (
        f"; {APPLY_HINT}" if result.apply_needed else ""))


@verify.command("reset")
@click.argument("customer")
@click.option("--email", is_flag=True, help="The email becomes unverified.")
@click.option("--mobile", is_flag=True, help="The mobile becomes unverified.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def reset(customer: str, email: bool, mobile: bool, as_json: bool) -> None:
    """Make CUSTOMER's email and/or mobile unverified (both when neither is given)."""
    actor = cli_actor()
    chosen = [c for c, on in (("email", email), ("mobile", mobile)) if on] or list(CHANNELS)
    with _session() as session:
        found = _find(session, actor, customer)
        codes.reset(session, actor, found.id, chosen)
        state = codes.state(session, actor, subjects.customer(found.id))
    _emit(state, as_json, lambda: f"verification reset ({', '.join(chosen)})\n"
          + _status_text(state))


@verify.command("status")
@click.argument("customer")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(customer: str, as_json: bool) -> None:
    """CUSTOMER's email and mobile, whether verified, and any pending code."""
    actor = cli_actor()
    with _session() as session:
        found = _find(session, actor, customer)
        state = codes.state(session, actor, subjects.customer(found.id))
    _emit(state, as_json, lambda: _status_text(state))
