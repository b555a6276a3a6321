"""Issue 6, `topology_hiding = false`: the switch is a plain record-routing proxy
(no topoh: the carrier sees the customer's Call-ID and Via), and the header policy's
anonymous From for `Privacy: id` still works, with the host anonymous.invalid.

A private data plane with that setting, started for this module.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane, start_dataplane
from tests.support.dataplane import test_settings as plane_settings
from tests.support.header_calls import call_with_headers as _call
from tests.support.sipp import final_response

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dataplane]:
    started = start_dataplane(plane_settings(tmp_path_factory.mktemp("plain-plane"),
                                             topology_hiding=False))
    try:
        yield started
    finally:
        started.stop()


def test_plain_proxy_and_anonymous_from(plain: Dataplane, farm: CarrierFarm,
                                        tmp_path: Path) -> None:
    farm.add("far", "answer")
    w = plain.world()
    card = w.provider_card(w.carrier([farm.port("far")]), {"44": "0.01"})
    src = plain.source_ip()
    w.route(w.customer(ips_=[src]), w.tariff([card]))
    w.commit()
    plain.apply()

    shown = _call(plain, tmp_path, src, "4475000001")
    hidden = _call(plain, tmp_path, src, "4475000002", "Privacy: id")
    assert final_response(shown) == final_response(hidden) == "200 OK"

    invites = {c.ruri_user: c.invite for c in farm.report("far").calls}
    sent = [m for m in shown.messages if m.direction == "sent" and m.method == "INVITE"]
    plain_invite = invites["4475000001"]
    assert plain_invite.call_id == sent[0].call_id          # no Call-ID masking
    assert src in plain_invite.text                          # the customer's Via and From
    assert f"@{src}" in (plain_invite.header("From") or "")
    anonymous = invites["4475000002"].header("From") or ""
    assert re.match(r'^"?Anonymous"? <sip:anonymous@anonymous\.invalid>', anonymous), anonymous
