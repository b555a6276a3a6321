"""The routing model the project configs route the bench's calls with.

Built through the services, as an operator would (validation included): N carriers
whose gateway is the bench's SIPp UAS, one provider card per carrier with an active
revision of P random prefixes (digits, lengths 4-10, first digit 1-9; the same
prefixes on every card, rates drawn per card), a customer card built from the N
provider cards by the real build code (one 10 % profit rule), a customer on the
UAC's source address with IP auth, and two ingress routes on that card, each with a
tech prefix and a dial string: ``MEDIA_TECH_PREFIX`` (rtp_proxy auto: rtpengine
anchors the media) and ``DIRECT_TECH_PREFIX`` (rtp_proxy direct). Channel and cps
limits are set on the customer, the routes and the carriers, far above any rate the
bench tries, so that they are checked on every call but never refuse one.

Rates are inserted with the bulk writer (``write_rates``), not row by row: the model
of 5 x 300,000 prefixes is ready in well under a minute on a quiet machine.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.actor import Actor
from orchestrator.carriers import service as carriers
from orchestrator.compile.compiler import compile_snapshot
from orchestrator.compile.snapshot import Snapshot, TariffRef
from orchestrator.compile.tariffs import tariff_rows
from orchestrator.customers import ips
from orchestrator.customers import service as customers
from orchestrator.db import make_engine, session_factory, upgrade
from orchestrator.jobs.queue import RunContext
from orchestrator.ratecards import customer_cards, profit_rules, provider_cards, revisions
from orchestrator.ratecards.deck.store import write_rates
from orchestrator.ratecards.deck.validate import CANONICAL_SCHEMA
from orchestrator.ratecards.models import CustomerCard, ProviderCard
from orchestrator.ratecards.tasks import build_one
from orchestrator.routing import routes
from orchestrator.settings import Settings
from orchestrator.switch.apply import ApplyReport, apply_local
from orchestrator.switch.tablefile import TariffRows

ADMIN = Actor(None, "bench", "admin")
MEDIA_TECH_PREFIX = "7301"    # route with rtp_proxy auto
DIRECT_TECH_PREFIX = "7302"   # route with rtp_proxy direct
HOME_PREFIX = "4420"          # in every deck: the prefix the dialled number matches
NUMBER = "442071838750"       # dialled after the tech prefix (SIPp -s)
DIAL_STRING = "^1[2-9][0-9]{9}$\n^33[1-9]\n44\n^49(15|16|17)"   # line "44" lets it in
LIMIT = 100_000               # channels and cps of customer, routes and carriers
LENGTHS = (4, 5, 6, 7, 8, 9, 10)
LENGTH_WEIGHTS = (5, 15, 25, 25, 15, 10, 5)
MB = 1 << 20
# Kamailio memory for a tariff tree (../shared/KAMAILIO_NOTES.md, bench/apply.py):
TREE_BYTES_PER_PREFIX = 950   # mtree shared memory per prefix (5-candidate values)
SHM_TREE_FACTOR = 2.3         # a reload holds the old and the new tree for a moment
PKG_BYTES_PER_ROW = 450       # db_sqlite reads the whole mtrees table into -M
CALL_STATE_SHM_MB = 1024      # the project's default -m: call state at ~3,000 calls/s
BASE_PKG_MB = 64              # the project's default -M

Say = Callable[[str], None]


@dataclass(frozen=True)
class ModelSpec:
    gateway_port: int                 # the SIPp UAS every carrier's gateway points at
    source_ip: str = "127.0.0.1"      # the UAC's address (the customer's IP auth entry)
    prefixes: int = 300_000
    carriers: int = 5
    seed: int = 1


def memory_settings(prefixes: int) -> dict[str, int]:
    """-m and -M (MB) for a Kamailio that loads (and may reload) a tree of ``prefixes``."""
    tree_mb = prefixes * TREE_BYTES_PER_PREFIX / MB
    pkg_mb = prefixes * PKG_BYTES_PER_ROW / MB
    return {"kamailio_shm_mb": CALL_STATE_SHM_MB + round(SHM_TREE_FACTOR * tree_mb),
            "kamailio_pkg_mb": BASE_PKG_MB + round(pkg_mb)}


def random_prefixes(count: int, rng: random.Random, keep: str = HOME_PREFIX,
                    number: str = NUMBER) -> list[str]:
    """``count`` distinct digit prefixes (lengths 4-10, first digit 1-9), sorted;
    ``keep`` is one of them and no other prefix of ``number`` is, so that ``number``
    matches ``keep``."""
    found = {keep}
    banned = {number[:n] for n in range(1, len(number) + 1)} - {keep}
    while len(found) < count:
        for length in rng.choices(LENGTHS, LENGTH_WEIGHTS, k=count - len(found)):
            prefix = str(rng.randrange(10 ** (length - 1), 10**length))
            if prefix not in banned:
                found.add(prefix)
    return sorted(found)


def deck(prefixes: list[str], seed: int) -> pl.DataFrame:
    """A canonical rate deck (sorted by prefix): every prefix active, rates from 0.001
    to 0.4 per minute (units of 10^-6) drawn from a hash of the prefix and ``seed``."""
    frame = pl.DataFrame({"prefix": prefixes}, schema={"prefix": pl.String()})
    return frame.select(
        "prefix", pl.lit("bench").alias("name"),
        (pl.col("prefix").hash(seed) % 399_000 + 1_000).cast(pl.Int64).alias("rate"),
        pl.lit(None, pl.Int64).alias("inter"), pl.lit(None, pl.Int64).alias("intra"),
        pl.lit(1, pl.Int32).alias("mcd"), pl.lit(1, pl.Int32).alias("pulse"),
        pl.lit(0, pl.Int64).alias("connect_fee"), pl.lit("active").alias("status"),
    ).cast(CANONICAL_SCHEMA)  # type: ignore[arg-type]


def open_model(settings: Settings) -> sessionmaker[Session]:
    """The model database of ``settings`` (migrated)."""
    settings.ensure_dirs()
    upgrade(settings.db_url)
    return session_factory(make_engine(settings.db_url))


def build_model(settings: Settings, sessions: sessionmaker[Session], spec: ModelSpec,
                say: Say) -> CustomerCard:
    """Create the whole model in the (empty) database of ``settings``."""
    rng = random.Random(spec.seed)
    began = time.monotonic()
    prefixes = random_prefixes(spec.prefixes, rng)
    say(f"model: {len(prefixes):,} prefixes x {spec.carriers} provider cards ...")
    gateway = {"host": "127.0.0.1", "port": spec.gateway_port, "transport": "udp",
               "weight": 1}
    with sessions() as session:
        parents = []
        for number in range(1, spec.carriers + 1):
            carrier = carriers.create_carrier(
                session, ADMIN, {"name": f"bench carrier {number}", "currency": "USD",
                                 "channels": LIMIT, "cps": LIMIT}, [gateway])
            session.flush()
            card = provider_cards.create_provider_card(
                session, ADMIN, {"name": f"bench provider card {number}",
                                 "currency": "USD", "carrier_id": carrier.id})
            session.flush()
            _load_rates(session, card, deck(prefixes, rng.randrange(1 << 30)))
            parents.append({"provider_card_id": card.id, "weight": 1, "priority": 0})
        tariff = customer_cards.create_customer_card(
            session, ADMIN, {"name": "bench tariff", "currency": "USD", "parents": parents})
        session.flush()
        profit_rules.add_rule(session, ADMIN, tariff.id,
                              {"match": "", "type": "percent", "value": "10"})
        session.commit()
        tariff_id = tariff.id
    say(f"model: provider cards stored in {time.monotonic() - began:.1f} s; building the "
        "customer card ...")
    build_one(RunContext(settings, sessions), ADMIN, tariff_id, True, lambda f, m: None)
    with sessions() as session:
        customer = customers.create_customer(
            session, ADMIN, {"name": "bench customer", "currency": "USD",
                             "status": "active", "debit_limit": "1000000",
                             "channels": LIMIT, "cps": LIMIT})
        session.flush()
        ips.add_ip(session, ADMIN, customer.id, {"network": spec.source_ip, "port": None})
        for tech_prefix, media in ((MEDIA_TECH_PREFIX, "auto"), (DIRECT_TECH_PREFIX, "direct")):
            routes.create_route(session, ADMIN, customer.id, {
                "tariff_id": tariff_id, "tech_prefix": tech_prefix,
                "dial_string": DIAL_STRING, "channels": LIMIT, "cps": LIMIT,
                "rtp_proxy": media})
        session.commit()
        built = session.get(CustomerCard, tariff_id)
        assert built is not None
    say(f"model: ready in {time.monotonic() - began:.1f} s")
    return built


def _load_rates(session: Session, card: ProviderCard, frame: pl.DataFrame) -> None:
    """A new active revision of ``card`` holding ``frame`` (bulk insert)."""
    revision = revisions.new_revision(session, card, "bench")
    write_rates(session.connection(), revision.id, frame)
    revision.row_count = frame.height
    session.flush()
    revisions.activate(session, ADMIN, card, revision.id)
    session.flush()


def tree_rows(table_file: Path) -> int:
    """Rows of the tariff trees (every tree but the ingress trees) in a table file."""
    with closing(sqlite3.connect(table_file)) as conn:
        return int(conn.execute("SELECT count(*) FROM mtrees WHERE tname NOT LIKE 'ing%'")
                   .fetchone()[0])


def compile_model(sessions: sessionmaker[Session], settings: Settings) -> Snapshot:
    with sessions() as session:
        return compile_snapshot(session, settings)


def apply_model(sessions: sessionmaker[Session], settings: Settings, snapshot: Snapshot,
                *, timed: dict[str, float] | None = None,
                progress: Callable[[int, str], None] | None = None) -> ApplyReport:
    """Apply ``snapshot`` to the local node of ``settings`` (Kamailio must be running),
    as the switch.apply job does; raises when it fails. ``timed["tariff_rows"]`` gets
    the seconds spent producing the tariff trees' rows."""
    with sessions() as session:
        def source(ref: TariffRef) -> TariffRows:
            started = time.monotonic()
            rows = tariff_rows(session, ref, settings.base_currency)
            if timed is not None:
                timed["tariff_rows"] = timed.get("tariff_rows", 0.0) + (
                    time.monotonic() - started)
            return rows

        report = apply_local(settings, snapshot, source, who="bench", progress=progress)
    report.raise_for_errors()
    return report
