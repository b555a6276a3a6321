"""`orchestrator settings ...` and `orchestrator messages ...` on a private database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from orchestrator.cli import cli
from tests.support.mail import smtp_server
from tests.support.ports import free_port

SECRET = "cli-Secret-99"


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("ORCHESTRATOR_VAR_DIR", str(tmp_path))
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    return runner


def invoke(runner: CliRunner, *args: str, stdin: str | None = None) -> Result:
    return runner.invoke(cli, list(args), input=stdin)


def test_smtp_set_show_test_and_the_log(run: CliRunner) -> None:
    with smtp_server() as inbox:
        done = invoke(run, "settings", "smtp", "set", "--host", "127.0.0.1", "--port",
                      str(inbox.port), "--username", "switch", "--password-stdin",
                      "--from-address", "noc@switch.test", "--json", stdin=SECRET + "\n")
        assert done.exit_code == 0, done.output
        assert json.loads(done.output)["password_set"] is True and SECRET not in done.output
        shown = invoke(run, "settings", "smtp", "show")
        assert "password_set     True" in shown.output and SECRET not in shown.output
        cleared = invoke(run, "settings", "smtp", "set", "--clear-password", "--username",
                         "", "--json")
        assert json.loads(cleared.output)["password_set"] is False
        sent = invoke(run, "settings", "smtp", "test", "ops@acme.example")
        assert sent.exit_code == 0, sent.output
        assert sent.output.startswith("sent to ops@acme.example (message ")
        assert [m["To"] for m in inbox.messages] == ["ops@acme.example"]
    failed = invoke(run, "settings", "smtp", "test", "ops@acme.example")
    assert failed.exit_code == 1 and "not sent: connection refused by 127.0.0.1" in failed.output
    listed = json.loads(invoke(run, "messages", "list", "--purpose", "test", "--json").output)
    assert [m["status"] for m in listed["items"]] == ["failed", "sent"]
    failed_id = listed["items"][0]["id"]
    shown = invoke(run, "messages", "show", str(failed_id))
    assert "connection refused" in shown.output and "email delivery works" in shown.output
    table = invoke(run, "messages", "list", "--status", "sent")
    assert "ops@acme.example" in table.output and "1 messages, page 1 of 1" in table.output
    again = invoke(run, "messages", "retry", str(failed_id))
    assert again.exit_code == 0 and f"message {failed_id} queued again" in again.output
    not_failed = invoke(run, "messages", "retry", str(listed["items"][1]["id"]))
    assert not_failed.exit_code == 1 and "only a failed message" in not_failed.output


def test_bad_values_are_named_and_nothing_changes(run: CliRunner) -> None:
    assert invoke(run, "settings", "smtp", "set", "--host", "mail.example.com").exit_code == 0
    bad = invoke(run, "settings", "smtp", "set", "--port", "0", "--host", "bad host")
    assert bad.exit_code == 1
    assert "port: must be between 1 and 65535" in bad.output and "host:" in bad.output
    shown = json.loads(invoke(run, "settings", "smtp", "show", "--json").output)
    assert shown["host"] == "mail.example.com" and shown["port"] == 25
    sms = invoke(run, "settings", "sms", "set", "--url", "https://sms.example.com/send",
                 "--body-template", "to={to}&text={text}&x={foo}")
    assert sms.exit_code == 1 and "unknown placeholder {foo}" in sms.output
    empty = invoke(run, "settings", "sms", "set", "--password-stdin", stdin="\n")
    assert empty.exit_code == 2 and "--clear-password" in empty.output


def test_sms_preset_and_verification(run: CliRunner) -> None:
    port = free_port()
    done = invoke(run, "settings", "sms", "set", "--preset", "twilio", "--url",
                  f"http://127.0.0.1:{port}/Messages.json", "--username", "AC1",
                  "--password-stdin", "--sender", "+15005550006", "--json", stdin="tok\n")
    assert done.exit_code == 0, done.output
    found = json.loads(done.output)
    assert found["body_template"] == "To={to}&From={from}&Body={text}"
    assert found["auth"] == "basic" and found["password_set"] is True
    down = invoke(run, "settings", "sms", "test", "+447400123456")
    assert down.exit_code == 1 and "connection refused" in down.output
    changed = invoke(run, "settings", "verification", "set", "--max-attempts", "3", "--json")
    assert json.loads(changed.output) == {"code_minutes": 10, "max_attempts": 3,
                                          "resend_seconds": 60}
    bad = invoke(run, "settings", "verification", "set", "--code-minutes", "0")
    assert bad.exit_code == 1 and "code_minutes" in bad.output
    assert "max_attempts    3" in invoke(run, "settings", "verification", "show").output
