"""Applying a new snapshot to a switch that is carrying calls.

- Under a steady call rate, an apply that swaps in a large new tariff makes no call
  fail (generations: the serving data is never touched until the flip).
- A snapshot the switch must not load is refused before anything is touched, and the
  switch keeps serving the previous one.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from pathlib import Path

import pytest

from orchestrator.compile.compiler import compile_snapshot
from orchestrator.compile.configs import write_configs
from orchestrator.compile.snapshot import DialRule
from orchestrator.compile.tariffs import tariff_rows
from orchestrator.errors import ValidationFailed
from orchestrator.stack.daemons import start_kamailio
from orchestrator.switch import inventory, store
from orchestrator.switch import service as switch_service
from orchestrator.switch.apply import apply_local
from orchestrator.switch.apply import status as apply_status
from orchestrator.switch.nodes import kamailio_generation, local_node
from tests.support.carriers import CarrierFarm
from tests.support.dataplane import Dataplane
from tests.support.dataplane import test_settings as private_settings
from tests.support.ports import free_port
from tests.support.sipp import final_responses
from tests.support.switch_world import ADMIN

pytestmark = pytest.mark.integration

BIG_TARIFF = 100_000  # prefixes of the tariff swapped in under load


def _big_deck(size: int) -> dict[str, str | tuple[str, str]]:
    rng = random.Random(5)
    deck: dict[str, str | tuple[str, str]] = {"44": "0.0100"}
    while len(deck) < size:
        prefix = "3" + str(rng.randrange(10 ** 7, 10 ** 8))
        deck[prefix] = f"0.{rng.randint(1000, 9999)}"
    return deck


def test_apply_under_load_fails_no_call(dataplane: Dataplane, farm: CarrierFarm,
                                        caller_factory) -> None:  # type: ignore[no-untyped-def]
    w = dataplane.world()
    carrier = w.carrier([farm.add("carrier", "answer")])
    card = w.provider_card(carrier, {"44": "0.0100"})
    tariff = w.tariff([card])
    src = dataplane.source_ip()
    w.route(w.customer(ips_=[src]), tariff)
    w.commit()
    before = dataplane.apply()
    # the change: the tariff's parent gets 100,000 more prefixes (a new revision,
    # a new tariff tree), built now, applied while the calls run
    w.load_rates(card, _big_deck(BIG_TARIFF))
    w.commit()
    w.build(tariff)
    w.close()

    caller = caller_factory(src)
    load = caller.start("441234567", calls=300, rate=20, hold_ms=200)
    applied: list[object] = []
    worker = threading.Thread(target=lambda: (time.sleep(3), applied.append(dataplane.apply())))
    worker.start()
    worker.join(timeout=120)
    result = load.result(timeout=120)
    load.stop()

    assert applied and getattr(applied[0], "version", None) != before.version
    assert store.current_version(dataplane.settings) == getattr(applied[0], "version", None)
    finals = final_responses(result)
    assert len(finals) == 300
    assert finals.count("200 OK") == 300, {f: finals.count(f) for f in set(finals)}
    # the new tariff serves: one of its new prefixes routes now
    assert caller.call("3" + "1234567" + "0", hold_ms=50) in ("200 OK", "404 No Rate")


def test_bad_snapshot_is_refused_and_the_switch_keeps_serving(
        dataplane: Dataplane, farm: CarrierFarm, caller_factory) -> None:  # type: ignore[no-untyped-def]
    w = dataplane.world()
    carrier = w.carrier([farm.add("carrier", "answer")])
    tariff = w.tariff([w.provider_card(carrier, {"44": "0.01"})])
    src = dataplane.source_ip()
    w.route(w.customer(ips_=[src]), tariff, dial_string="44")
    w.commit()
    w.close()
    good = dataplane.apply()
    node = local_node(dataplane.settings)
    generation = kamailio_generation(node)

    with dataplane.sessions() as session:
        compiled = compile_snapshot(session, dataplane.settings)
        # a dial string line no regex engine accepts, as if the model had been corrupted
        broken = dataclasses.replace(compiled, dial_rules=(
            *compiled.dial_rules, DialRule(compiled.routes[-1].id, 99, "^(44")))
        with pytest.raises(ValidationFailed, match="dial string"):
            apply_local(dataplane.settings, broken,
                        lambda ref: tariff_rows(session, ref, "USD"), who="tests")

    assert kamailio_generation(node) == generation
    assert store.current_version(dataplane.settings) == good.version
    assert caller_factory(src).call("441234", hold_ms=50) == "200 OK"


def test_kamailio_restart_comes_back_on_the_applied_snapshot(
        dataplane: Dataplane, farm: CarrierFarm, caller_factory) -> None:  # type: ignore[no-untyped-def]
    w = dataplane.world()
    carrier = w.carrier([farm.add("carrier", "answer")])
    tariff = w.tariff([w.provider_card(carrier, {"44": "0.01"})])
    src = dataplane.source_ip()
    w.route(w.customer(ips_=[src]), tariff, tech_prefix="8")
    w.commit()
    w.close()
    dataplane.apply()
    caller = caller_factory(src)
    assert caller.call("8441234", hold_ms=50) == "200 OK"

    dataplane.restart_kamailio()   # nobody applies anything afterwards

    assert caller.call("8441234", hold_ms=50) == "200 OK"
    assert farm.report("carrier").ruri_users == ["441234", "441234"]


def test_apply_goes_to_every_node_of_the_inventory(
        dataplane: Dataplane, farm: CarrierFarm, tmp_path: Path) -> None:
    """A second Kamailio in the inventory gets the same snapshot; a node that cannot be
    reached is reported while the others apply."""
    w = dataplane.world()
    carrier = w.carrier([farm.add("carrier", "answer")])
    w.route(w.customer(ips_=[dataplane.source_ip()]),
            w.tariff([w.provider_card(carrier, {"44": "0.01"})]))
    w.commit()
    w.close()
    second = private_settings(tmp_path / "edge-2")
    edge = start_kamailio(second, write_configs(second).kamailio_cfg)
    try:
        with dataplane.sessions() as session:
            inventory.add_node(session, ADMIN, {"name": "edge-2", "rpc_url": second.rpc_url,
                                                "table_file": str(second.switch_db)})
            inventory.add_node(session, ADMIN, {
                "name": "edge-down", "rpc_url": f"http://127.0.0.1:{free_port()}/RPC",
                "table_file": str(tmp_path / "down" / "kamailio.db")})
            session.commit()
            nodes = switch_service.nodes(session, dataplane.settings)
            snapshot = compile_snapshot(session, dataplane.settings)
            report = apply_local(dataplane.settings, snapshot,
                                 lambda ref: tariff_rows(session, ref, "USD"), who="tests",
                                 nodes=nodes)
        results = {r.node: r for r in report.nodes}
        assert [n.name for n in nodes] == ["local", "edge-2", "edge-down"]
        assert results["local"].ok and results["edge-2"].ok
        assert not results["edge-down"].ok and "refused" in results["edge-down"].error
        for node in nodes[:2]:
            state = apply_status(node)
            assert (state["reachable"], state["version"]) == (True, snapshot.version)
    finally:
        edge.stop()
        with dataplane.sessions() as session:
            for record in inventory.list_nodes(session, ADMIN):
                inventory.delete_node(session, ADMIN, record.id)
            session.commit()
