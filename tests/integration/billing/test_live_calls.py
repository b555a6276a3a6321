"""Live calls (docs/live-calls.md) against the real data plane: calls placed with SIPp
through Kamailio and rtpengine, listed and hung up through the REST API.

The API app runs in-process (Flask test client) on the data plane's own model
database, so the names it shows are those the test created.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy import select

from orchestrator.actor import Actor
from orchestrator.audit.models import AuditEntry
from orchestrator.billing.collector import CdrCollector
from orchestrator.calls import service
from orchestrator.cli import cli
from orchestrator.kamailio import KamailioRPC, htable
from orchestrator.settings import Settings
from orchestrator.users import tokens
from orchestrator.users.service import create_user
from tests.integration.billing.conftest import cdrs_of
from tests.support import dataplane as planes
from tests.support.carriers import CarrierFarm, customer_tag
from tests.support.dataplane import Dataplane
from tests.support.rtp import call_id_of
from tests.support.sipp import Sipp, final_response, requests_received
from webui import create_app

if TYPE_CHECKING:
    from tests.integration.routing.conftest import CallerFactory

pytestmark = pytest.mark.integration

LONG_HOLD_MS = 60_000


class Client:
    """The REST API of an app on the data plane's model, with an admin's token."""

    def __init__(self, client: FlaskClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def calls(self, **query: Any) -> dict[str, Any]:
        answer = self.client.get("/api/v1/calls", query_string=query, headers=self.headers)
        assert answer.status_code == 200, answer.get_json()
        body: dict[str, Any] = answer.get_json()
        return body

    def call(self, call_id: str) -> dict[str, Any] | None:
        found = [c for c in self.calls()["items"] if c["call_id"] == call_id]
        return found[0] if found else None

    def wait(self, call_id: str, done: Callable[[dict[str, Any]], bool],
             timeout: float = 10.0) -> dict[str, Any]:
        """The call as listed once done(call) holds (fails at timeout)."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            last = self.call(call_id)
            if last is not None and done(last):
                return last
            time.sleep(0.2)
        raise AssertionError(f"call {call_id} never got there; last seen: {last}")

    def gone(self, call_id: str, timeout: float = 5.0) -> bool:
        """Whether the call leaves the list within timeout (the dialog is deleted once
        both sides answered the BYEs, or the CANCEL's transaction ended)."""
        deadline = time.monotonic() + timeout
        while self.call(call_id) is not None:
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    def hangup(self, ident: str) -> tuple[int, dict[str, Any]]:
        answer = self.client.delete(f"/api/v1/calls/{ident}", headers=self.headers)
        return answer.status_code, answer.get_json()


@pytest.fixture(scope="module")
def api(dataplane: Dataplane, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    settings = dataplane.settings.with_overrides(
        var_dir=tmp_path_factory.mktemp("live-calls-app"),
        database_url=dataplane.settings.db_url)
    settings.ensure_dirs()
    app = create_app(settings)
    with dataplane.sessions.begin() as session:
        user = create_user(session, f"live-{uuid.uuid4().hex[:8]}", "correct horse battery",
                           "admin")
        session.flush()
        _, clear = tokens.create_token(session, user, actor=Actor(user.id, user.username,
                                                                   "admin"))
    yield Client(app.test_client(), clear)
    app.extensions["webui"].engine.dispose()


def _stop(sipp: Sipp) -> None:
    sipp.terminate()


def test_an_answered_call_is_listed_and_hung_up_with_bye_to_both_sides(
        dataplane: Dataplane, farm: CarrierFarm, caller_factory: CallerFactory,
        api: Client, collector: CdrCollector) -> None:
    port = farm.add("good", "answer", media=1)
    w = dataplane.world()
    carrier = w.carrier([port])
    card = w.provider_card(carrier, {"44": "0.01"})
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    route = w.route(customer, w.tariff([card]), name="live route")
    w.commit()
    ids = {"customer": customer.id, "carrier": carrier.id, "route": route.id,
           "card": card.id}
    names = {"customer": customer.name, "carrier": carrier.name}
    w.close()
    dataplane.apply()
    sipp = caller_factory(src).start("4420123456", hold_ms=LONG_HOLD_MS, media=True,
                                     caller="15551230001")
    try:
        call_id = call_id_of(sipp)
        listed = api.wait(call_id, lambda c: c["state"] == "answered"
                          and c["media"]["state"] == "flowing"
                          and len(c["media"]["legs"]) == 2
                          and min(leg["packets"] for leg in c["media"]["legs"]) > 0)
        assert listed["customer"] == {"id": ids["customer"], "name": names["customer"]}
        assert listed["carrier"] == {"id": ids["carrier"], "name": names["carrier"]}
        assert listed["route"] == {"id": ids["route"], "name": "live route"}
        assert listed["provider_card"]["id"] == ids["card"]
        assert (listed["caller"], listed["dialled"], listed["number"]) == (
            "15551230001", "4420123456", "4420123456")
        assert listed["source_ip"] == src and listed["node"] == "local"
        assert listed["media"]["mode"] == "proxy"
        assert [leg["side"] for leg in listed["media"]["legs"]] == ["caller", "callee"]
        assert listed["answered_at"] is not None and listed["duration"] >= 0
        h_entry, h_id = listed["id"].split(".")
        assert h_entry.isdigit() and h_id.isdigit()

        # filters: this customer / this carrier include it, another id does not
        assert call_id in [c["call_id"] for c in api.calls(customer_id=ids["customer"])["items"]]
        assert call_id in [c["call_id"] for c in api.calls(carrier_id=ids["carrier"])["items"]]
        assert call_id not in [c["call_id"] for c in
                               api.calls(customer_id=ids["customer"] + 100000)["items"]]
        assert call_id not in [c["call_id"] for c in
                               api.calls(carrier_id=ids["carrier"] + 100000)["items"]]

        status, body = api.hangup(listed["id"])
        assert status == 200, body
        assert (body["action"], body["state"], body["call_id"]) == ("bye", "answered", call_id)
        result = sipp.result(timeout=15)
    finally:
        _stop(sipp)
    # the customer got a BYE from the switch (and its scenario answered it: it ended well
    # before its hold), the carrier too
    assert len(requests_received(result, "BYE")) == 1
    got = farm.report("good").call(customer_tag(result.messages))
    assert got is not None and got.bye is not None
    assert api.gone(call_id)
    # the same id again: the call is gone
    status, body = api.hangup(listed["id"])
    assert status == 404, body
    with dataplane.sessions() as session:
        entries = session.scalars(select(AuditEntry).where(
            AuditEntry.object_type == "call", AuditEntry.action == "hangup")).all()
        assert any(call_id in e.summary and names["customer"] in e.summary for e in entries)
    # the CDR says the operator ended it (the htable key hup => Call-ID)
    (cdr,) = [c for c in cdrs_of(dataplane, collector, lambda t: t.call_id == call_id)
              if c.answer_at is not None]
    assert cdr.hangup == "operator"


def test_a_ringing_call_is_listed_as_ringing_and_hanging_up_cancels_it(
        dataplane: Dataplane, farm: CarrierFarm, caller_factory: CallerFactory,
        api: Client, collector: CdrCollector) -> None:
    port = farm.add("ringer", "ring")
    w = dataplane.world()
    carrier = w.carrier([port])
    card = w.provider_card(carrier, {"33": "0.01"})
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, w.tariff([card]))
    w.commit()
    carrier_id, customer_id = carrier.id, customer.id
    w.close()
    dataplane.apply()
    sipp = caller_factory(src).start("33123456789", hold_ms=LONG_HOLD_MS)
    try:
        call_id = call_id_of(sipp)
        listed = api.wait(call_id, lambda c: c["state"] == "ringing"
                          and c["carrier"] is not None)
        assert listed["carrier"]["id"] == carrier_id  # the carrier being tried
        assert listed["customer"]["id"] == customer_id
        assert listed["answered_at"] is None and listed["duration"] == 0
        assert listed["provider_card"] is None and listed["routed_number"] is None
        # offered to rtpengine, no RTP yet
        assert (listed["media"]["mode"], listed["media"]["state"]) == ("proxy", "silent")
        time.sleep(1.2)
        again = api.call(call_id)
        assert again is not None and again["state"] == "ringing" and again["age"] >= 1

        status, body = api.hangup(call_id)  # by its Call-ID this time
        assert status == 200, body
        assert (body["action"], body["state"]) == ("cancel", "ringing")
        result = sipp.result(timeout=15)
    finally:
        _stop(sipp)
    assert final_response(result) == "487 Request Terminated"
    got = farm.report("ringer").call(customer_tag(result.messages))
    assert got is not None and got.cancel is not None and not got.answered
    assert api.gone(call_id)
    # its CDR: 487, ended by the operator
    (cdr,) = cdrs_of(dataplane, collector, lambda t: t.call_id == call_id)
    assert (cdr.code, cdr.hangup) == (487, "operator")


def test_unknown_ids_are_not_found_and_nothing_is_ended(dataplane: Dataplane,
                                                       api: Client) -> None:
    before = api.calls()["total"]
    for ident in ("999999.999999", "no-such-call@example.invalid"):
        status, body = api.hangup(ident)
        assert status == 404, body
        assert "not found" in body["message"]
    assert api.calls()["total"] == before
    # a Call-ID that is no live call leaves no hang-up reason behind in Kamailio
    rpc = KamailioRPC(dataplane.settings.rpc_url)
    assert htable.get(rpc, "hup", "no-such-call@example.invalid") is None


def test_a_stopped_switch_is_a_clear_error(tmp_path: Path) -> None:
    settings = planes.test_settings(tmp_path)  # ports where nothing listens
    with pytest.raises(service.CallsUnavailable, match="could not be asked about its calls"):
        service.dialogs(settings)



def _cli_env(settings: Settings) -> dict[str, str]:
    """The environment that points the CLI at a data plane and its model database."""
    return {"ORCHESTRATOR_VAR_DIR": str(settings.var_dir),
            "ORCHESTRATOR_DATABASE_URL": settings.db_url,
            "ORCHESTRATOR_RPC_PORT": str(settings.rpc_port),
            "ORCHESTRATOR_RTPENGINE_NG_PORT": str(settings.rtpengine_ng_port),
            "ORCHESTRATOR_MEDIA_ZONES": json.dumps(settings.media_zones),
            "ORCHESTRATOR_SECRET_KEY": settings.secret_key}


def test_the_cli_lists_and_hangs_up_after_confirmation(
        dataplane: Dataplane, farm: CarrierFarm, caller_factory: CallerFactory) -> None:
    port = farm.add("good", "answer")
    w = dataplane.world()
    carrier = w.carrier([port])
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, w.tariff([w.provider_card(carrier, {"44": "0.01"})]))
    w.commit()
    customer_id, customer_name = customer.id, customer.name
    w.close()
    dataplane.apply()
    env = _cli_env(dataplane.settings)
    runner = CliRunner()
    sipp = caller_factory(src).start("4420123458", hold_ms=LONG_HOLD_MS, caller="15551230003")
    try:
        call_id = call_id_of(sipp)
        deadline = time.monotonic() + 10
        while True:
            shown = runner.invoke(cli, ["calls", "list", "--json", "--customer",
                                        str(customer_id)], env=env)
            assert shown.exit_code == 0, shown.output
            items = json.loads(shown.output)["items"]
            if (items and items[0]["state"] == "answered") or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        (listed,) = items
        assert (listed["call_id"], listed["caller"], listed["dialled"]) == (
            call_id, "15551230003", "4420123458")
        table = runner.invoke(cli, ["calls", "list", "--customer", str(customer_id)], env=env)
        assert table.exit_code == 0 and listed["id"] in table.output
        assert customer_name[:20] in table.output and "1 call(s)" in table.output

        # "n" at the prompt: nothing happens
        kept = runner.invoke(cli, ["calls", "hangup", listed["id"]], input="n\n", env=env)
        assert kept.exit_code == 1 and "Aborted" in kept.output
        assert sipp.proc is not None and sipp.proc.poll() is None

        done = runner.invoke(cli, ["calls", "hangup", listed["id"]], input="y\n", env=env)
        assert done.exit_code == 0, done.output
        assert "hung up (BYE to both sides)" in done.output
        result = sipp.result(timeout=15)
    finally:
        _stop(sipp)
    assert len(requests_received(result, "BYE")) == 1
    again = runner.invoke(cli, ["calls", "hangup", "--yes", listed["id"]], env=env)
    assert again.exit_code == 1 and "not found" in again.output


def test_the_cli_says_when_the_switch_does_not_answer(tmp_path: Path) -> None:
    env = _cli_env(planes.test_settings(tmp_path))
    shown = CliRunner().invoke(cli, ["calls", "list"], env=env)
    assert shown.exit_code == 1
    assert "could not be asked about its calls" in shown.output
    refused = CliRunner().invoke(cli, ["calls", "hangup", "--yes", "1.2"], env=env)
    assert refused.exit_code == 1 and "could not be asked" in refused.output


def test_direct_media_is_not_asked_of_rtpengine(
        dataplane: Dataplane, farm: CarrierFarm, caller_factory: CallerFactory,
        api: Client) -> None:
    port = farm.add("good", "answer")
    w = dataplane.world()
    src = dataplane.source_ip()
    customer = w.customer(ips_=[src])
    w.route(customer, w.tariff([w.provider_card(w.carrier([port]), {"44": "0.01"})]),
            rtp_proxy="direct")
    w.commit()
    customer_id = customer.id
    w.close()
    dataplane.apply()
    sipp = caller_factory(src).start("4420123459", hold_ms=LONG_HOLD_MS)
    try:
        call_id = call_id_of(sipp)
        listed = api.wait(call_id, lambda c: c["state"] == "answered")
        assert listed["media"] == {"mode": "direct", "state": "n/a", "legs": [],
                                   "note": None}
        assert [c["call_id"] for c in api.calls(customer_id=customer_id)["items"]] == [
            call_id]
        status, body = api.hangup(call_id)
        assert status == 200 and body["action"] == "bye", body
        result = sipp.result(timeout=15)
    finally:
        _stop(sipp)
    assert len(requests_received(result, "BYE")) == 1
    assert api.gone(call_id)
