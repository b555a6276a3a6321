"""`orchestrator settings smtp|sms|verification show|set|test`: thin over
orchestrator.notify.config and orchestrator.notify.testsend (docs/notifications.md)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import click
from sqlalchemy.orm import Session

from orchestrator.actor import Actor
from orchestrator.cli.carriers import _echo_json, _run, json_option
from orchestrator.cli.common import load_settings
from orchestrator.notify import config, testsend

PASSWORD_HELP = ("Read the {what} from standard input (one line), e.g. "
                 "`printf %s \"$PW\" | orchestrator settings {group} set --password-stdin`; "
                 "never on the command line, where other users could see it.")


@click.group()
def settings() -> None:
    """Delivery settings an admin changes at run time: email, SMS, verification.

    Stored in the database (passwords encrypted); the web admin's Settings page and
    /api/v1/settings/... change the same values. See docs/notifications.md.
    """


def _show(values: dict[str, Any], as_json: bool) -> None:
    if as_json:
        _echo_json(values)
        return
    width = max(len(k) for k in values)
    for key, value in values.items():
        click.echo(f"{key:<{width}}  {value}")


def _read_password(use_stdin: bool, clear: bool) -> dict[str, str]:
    if use_stdin and clear:
        raise click.UsageError("--password-stdin and --clear-password exclude each other")
    if clear:
        return {"password": ""}
    if not use_stdin:
        return {}
    line = sys.stdin.readline().rstrip("\r\n")
    if not line:
        raise click.UsageError("--password-stdin read an empty line: use --clear-password "
                               "to remove the password")
    return {"password": line}


def _given(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def _report_test(result: testsend.SendResult, as_json: bool) -> None:
    if as_json:
        _echo_json({"sent": result.sent, "error": result.error,
                    "message_id": result.message.id})
    elif result.sent:
        click.echo(f"sent to {result.message.recipient} (message {result.message.id})")
    else:
        click.echo(f"not sent: {result.error} (message {result.message.id})", err=True)
    if not result.sent:
        sys.exit(1)


def _set(as_json: bool, change: Callable[[Session, Actor], Any]) -> None:
    _show(config.view(_run(as_json, change)), as_json)


# --- smtp ----------------------------------------------------------------------------

@settings.group()
def smtp() -> None:
    """The SMTP server every email goes through."""


@smtp.command("show")
@json_option
def smtp_show(as_json: bool) -> None:
    """Show the SMTP settings (the password only as password_set)."""
    app = load_settings()
    _show(_run(as_json, lambda s, a: config.view(config.smtp_config(s, app))), as_json)


@smtp.command("set")
@click.option("--host", help="Server name or IP; an empty string turns email off.")
@click.option("--port", type=int, help="25, 587 (starttls) or 465 (tls).")
@click.option("--security", type=click.Choice(config.SECURITY),
              help="none, starttls (upgrade after connecting) or tls (implicit TLS).")
@click.option("--username", help="Login; an empty string: no authentication.")
@click.option("--password-stdin", is_flag=True,
              help=PASSWORD_HELP.format(what="password", group="smtp"))
@click.option("--clear-password", is_flag=True, help="Remove the stored password.")
@click.option("--from-address", help="From of every email: switch@example.com or "
              "'Switch <switch@example.com>'.")
@click.option("--timeout", "timeout_seconds", type=int, help="Seconds, 1-300.")
@json_option
def smtp_set(password_stdin: bool, clear_password: bool, as_json: bool,
             **values: Any) -> None:
    """Change the given SMTP settings; the others keep their value.

    Every value is checked before anything is saved: a bad one is named and nothing
    changes (exit code 1). Then try it with `orchestrator settings smtp test TO`.
    """
    data = _given(**values) | _read_password(password_stdin, clear_password)
    app = load_settings()
    _set(as_json, lambda s, a: config.update_smtp(s, a, app, data))


@smtp.command("test")
@click.argument("to")
@json_option
def smtp_test(to: str, as_json: bool) -> None:
    """Send ONE test email to TO now, with the saved settings.

    Prints the exact error when it fails (exit code 1): connection refused,
    authentication failed, certificate not trusted... The message is logged
    (`orchestrator messages list --purpose test`).
    """
    app = load_settings()
    _report_test(_run(as_json, lambda s, a: testsend.send_test_email(s, a, app, to)),
                 as_json)


# --- sms -----------------------------------------------------------------------------

@settings.group()
def sms() -> None:
    """The HTTP gateway every SMS goes through (Twilio or any HTTP API)."""


@sms.command("show")
@json_option
def sms_show(as_json: bool) -> None:
    """Show the SMS gateway settings (the password or token only as password_set)."""
    _show(_run(as_json, lambda s, a: config.view(config.sms_config(s))), as_json)


@sms.command("set")
@click.option("--preset", type=click.Choice(config.SMS_PRESETS),
              help="twilio fills url, method, content type, body and auth for Twilio's "
              "form API (then replace YOUR_ACCOUNT_SID in --url).")
@click.option("--url", help="http(s) address of the gateway; may hold {to} {text} {from}; "
              "an empty string turns SMS off.")
@click.option("--method", type=click.Choice(config.SMS_METHODS))
@click.option("--content-type", type=click.Choice(config.SMS_CONTENT_TYPES),
              help="form (URL-encoded) or json.")
@click.option("--body-template", help="Body with {to}, {text} and {from}, e.g. "
              "'to={to}&text={text}' or '{\"to\": \"{to}\", \"text\": \"{text}\"}'.")
@click.option("--auth", type=click.Choice(config.SMS_AUTH),
              help="basic (username + password) or bearer (password = token).")
@click.option("--username", help="Basic auth user (Twilio: the Account SID).")
@click.option("--password-stdin", is_flag=True,
              help=PASSWORD_HELP.format(what="password or token", group="sms"))
@click.option("--clear-password", is_flag=True, help="Remove the stored password or token.")
@click.option("--sender", help="{from}: the sender number or name.")
@click.option("--timeout", "timeout_seconds", type=int, help="Seconds, 1-120.")
@json_option
def sms_set(password_stdin: bool, clear_password: bool, as_json: bool,
            **values: Any) -> None:
    """Change the given SMS gateway settings; the others keep their value.

    Every value is checked before anything is saved: a bad one is named and nothing
    changes (exit code 1). Then try it with `orchestrator settings sms test +E164`.
    """
    data = _given(**values) | _read_password(password_stdin, clear_password)
    _set(as_json, lambda s, a: config.update_sms(s, a, data))


@sms.command("test")
@click.argument("to")
@json_option
def sms_test(to: str, as_json: bool) -> None:
    """Send ONE test SMS to TO (E.164, e.g. +447400123456) now, with the saved settings.

    Prints the exact error when it fails (exit code 1), e.g. the gateway's HTTP status
    and answer. The message is logged (`orchestrator messages list --purpose test`).
    """
    _report_test(_run(as_json, lambda s, a: testsend.send_test_sms(s, a, to)), as_json)


# --- verification --------------------------------------------------------------------

@settings.group()
def verification() -> None:
    """How email and mobile verification codes work."""


@verification.command("show")
@json_option
def verification_show(as_json: bool) -> None:
    """Show the code lifetime, attempts and resend wait."""
    _show(_run(as_json, lambda s, a: config.view(config.verification_config(s))), as_json)


@verification.command("set")
@click.option("--code-minutes", type=int, help="How long a code is valid, 1-1440.")
@click.option("--max-attempts", type=int, help="Wrong entries allowed per code, 1-100.")
@click.option("--resend-seconds", type=int, help="Minimum wait before a new code, 0-3600.")
@json_option
def verification_set(as_json: bool, **values: Any) -> None:
    """Change the given verification settings; the others keep their value."""
    data = _given(**values)
    _set(as_json, lambda s, a: config.update_verification(s, a, data))
