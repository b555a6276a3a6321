"""dispatcher, dialplan, mtree, permissions and pipelimit wrappers against a real Kamailio.

The switch config does not load these modules yet, so this module starts its own
Kamailio with them, loading from an SQLite database built from Kamailio's own schema
files. It also proves the reload retry on the real "ongoing reload" faults.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.compile.configs import kamailio_modules_dir
from orchestrator.kamailio import (
    KamailioFault,
    KamailioReloadBusy,
    KamailioRPC,
    dialplan,
    dispatcher,
    mtree,
    permissions,
    pl,
)
from orchestrator.settings import Settings
from orchestrator.stack.daemons import start_kamailio
from tests.support.dataplane import test_settings as private_settings

pytestmark = pytest.mark.integration

SCHEMA_DIR = Path("/usr/share/kamailio/db_sqlite")
RELOAD_DELTA = 2  # seconds; Kamailio's default is 5

DATA = """
insert into dispatcher (setid, destination, flags, priority, attrs, description) values
    (1, 'sip:127.0.0.1:5090', 0, 0, '', 'carrier-a'),
    (1, 'sip:127.0.0.1:5091', 0, 0, '', 'carrier-b');
insert into dialplan (dpid, pr, match_op, match_exp, match_len, subst_exp, repl_exp, attrs)
    values (1, 1, 1, '^00(.*)$', 0, '^00(.*)$', '+\\1', 'intl');
insert into mtrees (tname, tprefix, tvalue) values
    ('rates', '4420', 'uk-london'), ('rates', '44', 'uk');
insert into address (grp, ip_addr, mask, port, tag) values
    (7, '10.1.2.3', 32, 0, 'cust7'), (8, '192.168.0.0', 16, 0, 'net8');
insert into pl_pipes (pipeid, algorithm, plimit) values ('p1', 'TAILDROP', 10);
"""

CONFIG = """#!KAMAILIO
debug=2
log_stderror=yes
children=1
tcp_children=2
auto_aliases=no
dns=no
rev_dns=no
tcp_accept_no_cl=yes
mpath="{modules}"
listen=udp:127.0.0.1:{sip_port}
listen=tcp:127.0.0.1:{rpc_port}

loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "pv.so"
loadmodule "db_sqlite.so"
loadmodule "dispatcher.so"
loadmodule "dialplan.so"
loadmodule "mtree.so"
loadmodule "permissions.so"
loadmodule "pipelimit.so"
loadmodule "xhttp.so"
loadmodule "jsonrpcs.so"

modparam("dispatcher", "db_url", "{db_url}")
modparam("dispatcher", "reload_delta", {delta})
modparam("dialplan", "db_url", "{db_url}")
modparam("dialplan", "reload_delta", {delta})
modparam("mtree", "db_url", "{db_url}")
modparam("mtree", "db_table", "mtrees")
modparam("permissions", "db_url", "{db_url}")
modparam("permissions", "load_backends", 1)
modparam("permissions", "reload_delta", {delta})
modparam("pipelimit", "db_url", "{db_url}")
modparam("jsonrpcs", "transport", 1)
modparam("xhttp", "url_match", "^/RPC")

request_route {{
    sl_send_reply("404", "Not Here");
}}

event_route[xhttp:request] {{
    jsonrpc_dispatch();
}}
"""


class Modules:
    def __init__(self, settings: Settings, db: Path) -> None:
        self.settings = settings
        self.db = db

    def rpc(self, reload_retries: int = 10, reload_retry_delay: float = 0.3) -> KamailioRPC:
        return KamailioRPC(self.settings.rpc_url, timeout=3.0, reload_retries=reload_retries,
                           reload_retry_delay=reload_retry_delay)

    def sql(self, statement: str) -> None:
        with sqlite3.connect(self.db) as conn:
            conn.execute(statement)


@pytest.fixture(scope="module")
def modules(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Modules]:
    # kamailio-sqlite-modules is installed by `make test`: its absence is a failure
    assert (SCHEMA_DIR / "standard-create.sql").is_file(), (
        f"{SCHEMA_DIR} missing: install kamailio-sqlite-modules (make test does)")
    var_dir = tmp_path_factory.mktemp("kamailio-modules")
    db = var_dir / "kamailio.sqlite"
    with sqlite3.connect(db) as conn:
        for schema in ("standard", "dispatcher", "dialplan", "mtree", "permissions",
                       "pipelimit"):
            conn.executescript((SCHEMA_DIR / f"{schema}-create.sql").read_text())
        conn.executescript(DATA)
    settings = private_settings(var_dir)
    cfg = var_dir / "modules.cfg"
    cfg.write_text(CONFIG.format(modules=kamailio_modules_dir(), sip_port=settings.sip_port,
                                 rpc_port=settings.rpc_port, db_url=f"sqlite:///{db}",
                                 delta=RELOAD_DELTA))
    proc = start_kamailio(settings, cfg)
    try:
        yield Modules(settings, db)
    finally:
        proc.stop()


RELOADS = {
    "dispatcher": (dispatcher.reload, "Ongoing reload"),
    "dialplan": (dialplan.reload, "ongoing reload"),
    "permissions": (permissions.address_reload, "ongoing reload"),
}


@pytest.mark.parametrize("module", sorted(RELOADS))
def test_reload_within_reload_delta_is_refused_then_retried(modules: Modules,
                                                           module: str) -> None:
    reload, text = RELOADS[module]
    reload(modules.rpc())                    # waits out any earlier reload
    with pytest.raises(KamailioReloadBusy) as caught:
        reload(modules.rpc(reload_retries=0))
    assert (caught.value.code, caught.value.message) == (500, text)
    start = time.monotonic()
    reload(modules.rpc(reload_retries=20, reload_retry_delay=0.2))
    assert 0.8 <= time.monotonic() - start <= RELOAD_DELTA + 1


def test_dispatcher_list_and_set_state(modules: Modules) -> None:
    rpc = modules.rpc()
    assert dispatcher.list_sets(rpc)["NRSETS"] == 1
    sets = dispatcher.destinations(rpc)
    assert set(sets[1]) == {"sip:127.0.0.1:5090", "sip:127.0.0.1:5091"}
    assert all(flags.startswith("A") for flags in sets[1].values())
    dispatcher.set_state(rpc, "i", 1, "sip:127.0.0.1:5090")
    assert dispatcher.destinations(rpc)[1]["sip:127.0.0.1:5090"].startswith("I")
    dispatcher.set_state(rpc, "a", 1, "all")
    assert all(f.startswith("A") for f in dispatcher.destinations(rpc)[1].values())
    with pytest.raises(KamailioFault, match="State Update Failed"):
        dispatcher.set_state(rpc, "i", 99, "sip:127.0.0.1:5090")


def test_dispatcher_reload_picks_up_new_destinations(modules: Modules) -> None:
    modules.sql("insert into dispatcher (setid, destination, flags, priority, attrs, "
                "description) values (2, 'sip:127.0.0.1:5092', 0, 0, '', 'carrier-c')")
    rpc = modules.rpc()
    assert dispatcher.reload(rpc) == "Ok. Dispatcher successfully reloaded."
    assert set(dispatcher.destinations(rpc)[2]) == {"sip:127.0.0.1:5092"}


def test_dialplan_translate_and_dump(modules: Modules) -> None:
    rpc = modules.rpc()
    assert dialplan.translate(rpc, 1, "0044123") == dialplan.Translation("+44123", "intl")
    assert dialplan.translate(rpc, 1, "44123") is None
    rules = dialplan.dump(rpc, 1)
    assert [(r["MATCHEXP"], r["ATTRS"]) for r in rules] == [("^00(.*)$", "intl")]


def test_mtree_match_summary_and_reload(modules: Modules) -> None:
    rpc = modules.rpc()
    assert mtree.match(rpc, "rates", "442071234567") == mtree.Match("4420", "uk-london")
    shorter = mtree.match(rpc, "rates", "4412")
    assert shorter is not None and shorter.value == "uk"
    assert shorter.prefix.startswith("44")   # 5.6 reports "441" here (see mtree.match)
    assert mtree.match(rpc, "rates", "33123") is None
    [tree] = mtree.summary(rpc, "rates")
    assert (tree.name, tree.nritems) == ("rates", 2)
    modules.sql("insert into mtrees (tname, tprefix, tvalue) values ('rates', '33', 'fr')")
    mtree.reload(rpc)
    mtree.reload(rpc)                        # mtree has no reload_delta
    assert mtree.match(rpc, "rates", "33123") == mtree.Match("33", "fr")
    assert mtree.summary(rpc)[0].nritems == 3
    with pytest.raises(KamailioFault, match="Tree not found"):
        mtree.match(rpc, "no-such-tree", "1")


def test_permissions_dumps_and_reload(modules: Modules) -> None:
    rpc = modules.rpc()
    addresses = {(e["group"], e["item"]["ip"]) for e in permissions.address_dump(rpc)}
    assert (7, "10.1.2.3") in addresses
    subnets = {(e["group"], e["item"]["ip"], e["item"]["mask"])
               for e in permissions.subnet_dump(rpc)}
    assert subnets == {(8, "192.168.0.0", 16)}
    modules.sql("insert into address (grp, ip_addr, mask, port, tag) "
                "values (9, '10.9.9.9', 32, 0, 'cust9')")
    assert permissions.address_reload(rpc) == "Reload OK"
    assert (9, "10.9.9.9") in {(e["group"], e["item"]["ip"])
                               for e in permissions.address_dump(rpc)}


def test_pipelimit_pipes(modules: Modules) -> None:
    rpc = modules.rpc()
    assert pl.get_pipes(rpc) == [pl.Pipe("p1", "TAILDROP", 10, 0)]
    assert [p.id for p in pl.stats(rpc)] == ["p1"]
    pl.set_pipe(rpc, "p1", "TAILDROP", 25)
    assert pl.get_pipes(rpc)[0].limit == 25
    with pytest.raises(KamailioFault, match="Unknown algorithm"):
        pl.set_pipe(rpc, "p1", "BOGUS", 5)
