"""Abuse protection (docs/abuse.md): scanner user agents get no answer at all; a source
that floods is banned (no answer) until the ban ends or is lifted; bans are listed and
lifted through the service, the REST API and the CLI; known customer and carrier
addresses are never banned.

These tests run their own data plane (real Kamailio + rtpengine, module scope) with
small abuse settings, so that a flood is a few hundred requests and a ban ends within
seconds: the session data plane keeps the defaults other tests expect. Every probing
source is a fresh loopback address (Dataplane.source_ip()).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from orchestrator.actor import SYSTEM
from orchestrator.audit.models import AuditEntry
from orchestrator.cli import cli
from orchestrator.switch import bans
from orchestrator.users.service import create_user
from orchestrator.users.tokens import create_token
from tests.integration.routing.conftest import Customer
from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane, start_dataplane
from tests.support.dataplane import test_settings as plane_settings
from tests.support.ports import free_port
from tests.support.sipp import SCENARIOS, Sipp, SippResult, final_response

pytestmark = pytest.mark.integration

FLOOD = 20        # flood_requests of this data plane
WINDOW = 1        # flood_window, seconds
BAN = 6           # ban_seconds
BURST = 300       # requests of a flood, sent at BURST per second
# pike needs between FLOOD and about 3 x FLOOD requests to report a fresh IPv4 address
# (docs/abuse.md); a few more are answered while the first ones are on their way.
MOST_ANSWERED = 4 * FLOOD
# pike forgets that an address flooded two windows after its last counted request
# (banned requests are not counted): a lift before that would ban it again at once.
PIKE_MEMORY = 2 * WINDOW + 0.5
SCANNERS = ("friendly-scanner", "FRIENDLY-SCANNER", "sipcli/v1.8", "VaxSIPUserAgent/3.1",
            "SIPScan 1.0", "pplsip", "sundayddr", "iWar 0.1", "sip-scan")
NORMAL_UA = "Yealink SIP-T46S 66.86.0.15"


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataplane]:
    settings = plane_settings(tmp_path_factory.mktemp("abuse-plane"), flood_requests=FLOOD,
                             flood_window=WINDOW, ban_seconds=BAN)
    started = start_dataplane(settings)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def api(plane: Dataplane) -> Iterator[tuple[FlaskClient, dict[str, str]]]:
    """The web admin + API app of the plane's settings (its Kamailio is the local node),
    with an admin's bearer headers."""
    from webui import create_app

    with plane.sessions.begin() as session:
        user = create_user(session, "abuse-admin", "correct horse battery staple", "admin")
        session.flush()
        _, token = create_token(session, user, actor=SYSTEM)
    app = create_app(plane.settings)
    yield app.test_client(), {"Authorization": f"Bearer {token}"}
    app.extensions["webui"].engine.dispose()


def probe(plane: Dataplane, workdir: Path, src: str, count: int = 1,
          rate: float | None = None, ua: str | None = None,
          retransmit: bool = False) -> SippResult:
    """count OPTIONS to the switch from src, each sent once; with retransmit, sent
    again while unanswered (SIPp's UDP timer), for checks that every one is answered."""
    sipp = Sipp("uac_options.xml", workdir, port=free_port(), target=plane.target,
                calls=count, rate=rate, variables={"ua": ua}, ip=src,
                extra=[] if retransmit else ["-nr"])
    sipp.start()
    try:
        return sipp.result(timeout=30)
    finally:
        sipp.stop()


def answers(result: SippResult) -> int:
    """How many probes (Call-IDs) got a response of any kind."""
    return len({m.call_id for m in result.messages
                if m.direction == "received" and m.is_response})


def banned_ips(plane: Dataplane) -> dict[str, dict[str, Any]]:
    with plane.sessions() as session:
        found = bans.list_bans(session, SYSTEM, plane.settings)
    assert found["errors"] == []
    return {b["ip"]: b for b in found["items"]}


def flood(plane: Dataplane, workdir: Path, src: str) -> tuple[int, float]:
    """BURST OPTIONS at BURST/s from src: (how many were answered, when it ended)."""
    result = probe(plane, workdir, src, count=BURST, rate=BURST)
    return answers(result), time.monotonic()


def cli_env(plane: Dataplane) -> dict[str, str]:
    s = plane.settings
    return {"ORCHESTRATOR_VAR_DIR": str(s.var_dir), "ORCHESTRATOR_RPC_PORT": str(s.rpc_port),
            "ORCHESTRATOR_SIP_PORT": str(s.sip_port), "ORCHESTRATOR_CONFIG": ""}


def with_user_agent(workdir: Path, ua: str) -> str:
    """A copy of uac_call.xml whose INVITE carries User-Agent: ua."""
    text = (SCENARIOS / "uac_call.xml").read_text()
    anchor = "      Subject: orchestrator test call\n"
    assert text.count(anchor) == 1
    path = workdir / f"uac_call_ua_{abs(hash(ua))}.xml"
    workdir.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace(anchor, f"{anchor}      User-Agent: {ua}\n"))
    return str(path)


def answering_customer(plane: Dataplane, farm: CarrierFarm, workdir: Path,
                       name: str) -> Customer:
    """A customer (its own source address) with a route to an answering carrier."""
    w = plane.world()
    carrier = w.carrier([farm.add(name, "answer")])
    tariff = w.tariff([w.provider_card(carrier, {"44": "0.01"})])
    src = plane.source_ip()
    w.route(w.customer(ips_=[src]), tariff)
    w.commit()
    w.close()
    plane.apply()
    return Customer(plane, workdir, src)


def test_scanner_user_agents_get_no_answer_at_all(plane: Dataplane, farm: CarrierFarm,
                                                 tmp_path: Path) -> None:
    src = plane.source_ip()
    for ua in SCANNERS:
        result = probe(plane, tmp_path, src, ua=ua)
        assert [m.first_line for m in result.messages if m.direction == "received"] == [], ua
    # the same request with an ordinary User-Agent, from the same address, is answered
    assert [m.status_line for m in probe(plane, tmp_path, src, ua=NORMAL_UA).messages
            if m.direction == "received"] == ["200 OK"]
    assert src not in banned_ips(plane)  # dropped, not banned

    # an INVITE of a known customer: no answer with a scanner's User-Agent (and
    # nothing relayed), a call with an ordinary one
    customer = answering_customer(plane, farm, tmp_path / "calls", "scan")
    silent = customer.run("441234", timeout=20, extra=["-recv_timeout", "2000"],
                          scenario=with_user_agent(tmp_path, "friendly-scanner"))
    assert [m for m in silent.messages if m.direction == "received"] == []
    assert final_response(silent) is None
    assert farm.report("scan").invites == 0
    assert customer.call("441234", hold_ms=100,
                         scenario=with_user_agent(tmp_path, NORMAL_UA)) == "200 OK"


def test_a_flooding_source_is_banned_listed_everywhere_and_lifted(
        plane: Dataplane, api: tuple[FlaskClient, dict[str, str]], tmp_path: Path) -> None:
    client, auth = api
    src = plane.source_ip()
    assert answers(probe(plane, tmp_path, src)) == 1

    answered, ended = flood(plane, tmp_path, src)
    assert 0 < answered <= MOST_ANSWERED, f"{answered} of {BURST} flood requests answered"
    assert answers(probe(plane, tmp_path, src, ua=NORMAL_UA)) == 0  # banned: silence

    # the service
    ban = banned_ips(plane)[src]
    assert ban["node"] == "local"
    assert 0 < ban["remaining_seconds"] <= BAN
    # the REST API
    listed = client.get("/api/v1/switch/bans", headers=auth)
    assert listed.status_code == 200, listed.json
    assert src in [b["ip"] for b in listed.json["items"]]
    assert listed.json["errors"] == []
    bad = client.delete("/api/v1/switch/bans/not-an-ip", headers=auth)
    assert bad.status_code == 400 and "is not an IP address" in bad.json["message"]
    absent = client.delete("/api/v1/switch/bans/192.0.2.99", headers=auth)
    assert absent.status_code == 404 and "192.0.2.99" in absent.json["message"]
    # the CLI
    runner = CliRunner()
    shown = runner.invoke(cli, ["bans", "list"], env=cli_env(plane))
    assert shown.exit_code == 0, shown.output
    assert src in shown.output and "local" in shown.output

    time.sleep(max(0.0, ended + PIKE_MEMORY - time.monotonic()))
    lifted = client.delete(f"/api/v1/switch/bans/{src}", headers=auth)
    assert lifted.status_code == 200, lifted.json
    assert lifted.json == {"ip": src, "nodes": ["local"], "errors": []}
    assert answers(probe(plane, tmp_path, src, ua=NORMAL_UA)) == 1  # answered again
    assert src not in banned_ips(plane)
    again = client.delete(f"/api/v1/switch/bans/{src}", headers=auth)
    assert again.status_code == 404


def test_the_cli_lifts_a_ban_and_says_when_there_is_none(plane: Dataplane,
                                                         tmp_path: Path) -> None:
    src = plane.source_ip()
    _, ended = flood(plane, tmp_path, src)
    assert src in banned_ips(plane)
    time.sleep(max(0.0, ended + PIKE_MEMORY - time.monotonic()))

    runner = CliRunner()
    lifted = runner.invoke(cli, ["bans", "lift", src], env=cli_env(plane))
    assert lifted.exit_code == 0, lifted.output
    assert f"lifted the ban of {src} on local" in lifted.output
    assert answers(probe(plane, tmp_path, src)) == 1
    missing = runner.invoke(cli, ["bans", "lift", src], env=cli_env(plane))
    assert missing.exit_code == 1 and f"ban of {src} not found" in missing.output
    bad = runner.invoke(cli, ["bans", "lift", "300.1.2.3"], env=cli_env(plane))
    assert bad.exit_code == 1 and "is not an IP address" in bad.output
    # the lift is in the audit log, with who did it
    with plane.sessions() as session:
        entry = session.query(AuditEntry).filter_by(object_type="ban").order_by(
            AuditEntry.id.desc()).first()
    assert entry is not None and entry.action == "lift" and src in entry.summary
    assert entry.username.startswith("cli:")


def test_a_ban_ends_by_itself_after_ban_seconds(plane: Dataplane, tmp_path: Path) -> None:
    src = plane.source_ip()
    flood(plane, tmp_path, src)
    ban = banned_ips(plane)[src]
    assert answers(probe(plane, tmp_path, src)) == 0
    time.sleep(ban["remaining_seconds"] + 1.2)
    # no longer listed (even while Kamailio's expiry timer still holds the entry) ...
    assert src not in banned_ips(plane)
    # ... and answered again
    assert answers(probe(plane, tmp_path, src)) == 1


def test_known_customer_and_carrier_addresses_are_never_banned(
        plane: Dataplane, farm: CarrierFarm, tmp_path: Path) -> None:
    customer = answering_customer(plane, farm, tmp_path / "calls", "known")
    # a customer's address at the flood rate: every request answered
    assert answers(probe(plane, tmp_path, customer.ip, count=BURST, rate=BURST,
                         retransmit=True)) == BURST
    # its calls at a rate above the flood threshold (3 requests each) all complete
    assert customer.calls("441234", 30, rate=30, hold_ms=100) == ["200 OK"] * 30
    # a carrier gateway's address (127.0.0.1, from another port than the gateway's)
    assert answers(probe(plane, tmp_path, "127.0.0.1", count=BURST, rate=BURST,
                         retransmit=True)) == BURST
    assert {customer.ip, "127.0.0.1"}.isdisjoint(banned_ips(plane))
    # the same rate from an unknown address is a flood
    stranger = plane.source_ip()
    answered, _ = flood(plane, tmp_path, stranger)
    assert answered < BURST and stranger in banned_ips(plane)
