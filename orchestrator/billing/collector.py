"""The CDR collector: the switch's CDR files into the ``cdrs`` table, exactly once.

Kamailio appends one line per call attempt to ``<cdr_dir>/cdrs_<process rank>.log``
(templates/kamailio/cdrs.cfg.j2, db_flatstore). The collector never sits on the call
path; it reads what is there, every ``cdr_collect_seconds``:

* **Offsets, not moves.** For each file (identified by its inode) the collector keeps
  how far it has read (table ``cdr_files``) and reads on from there up to the last
  complete line. The CDRs and the new offset are committed in one transaction: a crash
  (SIGKILL anywhere) leaves either both or neither, so nothing is lost or read twice.
  The unique key (node, call_id, from_tag, cseq) with ``ON CONFLICT DO NOTHING`` also
  absorbs the same attempt written twice (a retransmitted INVITE refused again).
* **Rotation.** A live file larger than ``ROTATE_BYTES`` is renamed into ``rotated/``
  (same inode, so its offset stays valid) and Kamailio is told to reopen its files
  (RPC ``flatstore.k_rotate``: each process opens a fresh file at its next write).
  A rotated file is deleted once it is fully read and unchanged for ``RETIRE_SECONDS``
  (a write in flight at the rename still lands in it and is read first).
* **Bad lines** (wrong number of fields) are appended to ``bad.log`` and counted, never
  block the good ones.

With ``rate`` set, each batch is rated before it is inserted (orchestrator/billing/
rating_insert.py: no UPDATE afterwards) and the customers' running totals of charges
move in the same transaction. After each pass the ``after_batch`` callbacks run
(CDRs still unrated, low-balance alerts, credit to the switch) in their own
transaction: a failure there never loses CDRs, and what is left is done next time.
"""

from __future__ import annotations

import logging
import os
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from orchestrator.billing import balances
from orchestrator.billing.cdr_format import parse_fixes, parse_lines, split_kinds, split_lines
from orchestrator.billing.models import Cdr, CdrFile, CdrFix
from orchestrator.billing.rating_insert import UNRATED, last_id, new_charges

log = logging.getLogger(__name__)

LIVE_GLOB = "cdrs_*.log"
ROTATED_DIR = "rotated"
BAD_FILE = "bad.log"
ROTATE_BYTES = 16 * 1024 * 1024
RETIRE_SECONDS = 10.0
BATCH_BYTES = 8 * 1024 * 1024   # read per file per transaction
# Test hook: SIGKILL this process between the insert and the commit of a batch.
CRASH_ENV = "ORCHESTRATOR_CDR_COLLECTOR_CRASH"

Rate = Callable[[Session, pl.DataFrame], pl.DataFrame]


@dataclass
class CollectResult:
    lines: int = 0        # complete lines read
    inserted: int = 0     # new CDRs (lines - duplicates - bad)
    bad: int = 0
    files: int = 0        # files that had new lines
    rotated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    customers: set[int] = field(default_factory=set)   # whose charges moved

    def add(self, other: CollectResult) -> None:
        self.lines += other.lines
        self.inserted += other.inserted
        self.bad += other.bad
        self.files += other.files
        self.customers |= other.customers


AfterBatch = Callable[[Session, CollectResult], object]


class CdrCollector:
    def __init__(self, cdr_dir: Path, sessions: Callable[[], Session], *, node: str = "local",
                 zones: dict[int, str] | None = None, rotate: Callable[[], object] | None = None,
                 rate: Rate | None = None,
                 after_batch: Sequence[AfterBatch] = (),
                 every_pass: Sequence[Callable[[Session], object]] = (),
                 rotate_bytes: int = ROTATE_BYTES,
                 retire_seconds: float = RETIRE_SECONDS) -> None:
        self.cdr_dir = cdr_dir
        self.sessions = sessions
        self.node = node
        self.zones = zones or {0: "auto"}
        self.rotate = rotate
        self.rate = rate
        self.after_batch = list(after_batch)
        self.every_pass = list(every_pass)
        self.rotate_bytes = rotate_bytes
        self.retire_seconds = retire_seconds

    # -- one pass -------------------------------------------------------------------
    def collect_once(self) -> CollectResult:
        """Read every file to its end (in batches), then rotate and retire files."""
        result = CollectResult()
        for path in self._files():
            while True:
                batch = self._collect_file(path)
                result.add(batch)
                if batch.lines == 0 and batch.bad == 0:
                    break
        if result.lines:
            self._run_after_batch(result)
        for step in self.every_pass:
            try:
                with self.sessions() as session:
                    step(session)
            except Exception:
                log.exception("after collecting CDRs: %s failed",
                              getattr(step, "__name__", step))
        result.rotated = self._rotate_large()
        result.retired = self._retire_done()
        return result

    def _files(self) -> Iterator[Path]:
        rotated = self.cdr_dir / ROTATED_DIR
        if rotated.is_dir():
            yield from sorted(rotated.glob("*.log"))
        yield from sorted(self.cdr_dir.glob(LIVE_GLOB))

    def _collect_file(self, path: Path) -> CollectResult:
        result = CollectResult()
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return result
        with handle, self.sessions() as session:
            inode = os.fstat(handle.fileno()).st_ino
            record = session.get(CdrFile, (self.node, inode))
            offset = record.offset if record is not None else 0
            handle.seek(offset)
            chunk = handle.read(BATCH_BYTES)
            end = chunk.rfind(b"\n")
            if end < 0:
                return result
            chunk = chunk[:end + 1]
            good, bad = split_lines(chunk.decode("utf-8", errors="replace"))
            result.lines = len(good)
            result.bad = len(bad)
            result.files = 1
            if bad:
                self._keep_bad(path, bad)
            cdr_lines, fix_lines = split_kinds(good)
            frame = parse_lines(cdr_lines, self.node, self.zones)
            before = 0
            if self.rate is not None and not frame.is_empty():
                frame = self.rate(session, frame)
                before = last_id(session)
            result.inserted = insert_cdrs(session, frame)
            if self.rate is not None and result.inserted:
                deltas = new_charges(session, before)
                if deltas:
                    balances.apply_charge_deltas(session, deltas)
                    result.customers.update(deltas)
            apply_fixes(session, self.node, parse_fixes(fix_lines))
            if record is None:
                record = CdrFile(node=self.node, inode=inode, offset=0)
                session.add(record)
            record.name = str(path.relative_to(self.cdr_dir))
            record.offset = offset + len(chunk)
            record.updated_at = datetime.now(UTC)
            session.flush()
            if os.environ.get(CRASH_ENV) == "after-insert":
                os.kill(os.getpid(), signal.SIGKILL)
            session.commit()
        if result.bad:
            log.warning("%s: %d line(s) not in the CDR format, kept in %s", path.name,
                        result.bad, BAD_FILE)
        return result

    def _keep_bad(self, path: Path, lines: list[str]) -> None:
        with (self.cdr_dir / BAD_FILE).open("a", encoding="utf-8") as out:
            for line in lines:
                out.write(f"{path.name}\t{line}\n")

    def _run_after_batch(self, result: CollectResult) -> None:
        for callback in self.after_batch:
            try:
                with self.sessions() as session:
                    callback(session, result)
                    session.commit()
            except Exception:  # a rating or push problem must not stop collection
                log.exception("after collecting CDRs: %s failed",
                              getattr(callback, "__name__", callback))

    # -- rotation -------------------------------------------------------------------
    def _rotate_large(self) -> list[str]:
        rotated: list[str] = []
        target = self.cdr_dir / ROTATED_DIR
        for path in sorted(self.cdr_dir.glob(LIVE_GLOB)):
            try:
                if path.stat().st_size < self.rotate_bytes:
                    continue
            except FileNotFoundError:
                continue
            target.mkdir(exist_ok=True)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            new = target / f"{path.stem}.{stamp}.log"
            path.rename(new)
            rotated.append(new.name)
        if rotated and self.rotate is not None:
            # db_flatstore reopens a process's file at its next write when the rotate
            # request's time(0) is later than the process's last reopen, in whole
            # seconds: a request in the same second as a reopen is lost and that
            # process keeps writing into the renamed file (seen). Ask in a later second.
            time.sleep(1.05 - (time.time() % 1.0))
            try:
                self.rotate()
            except Exception:
                # processes keep appending to the renamed files (same inode): they are
                # read on, and retired only when unchanged for retire_seconds
                log.exception("flatstore.k_rotate failed; Kamailio keeps the old files")
        return rotated

    def _retire_done(self) -> list[str]:
        """Delete rotated files read to their end and unchanged for retire_seconds."""
        retired: list[str] = []
        rotated = self.cdr_dir / ROTATED_DIR
        if not rotated.is_dir():
            return retired
        now = time.time()
        for path in sorted(rotated.glob("*.log")):
            stat = path.stat()
            if now - stat.st_mtime < self.retire_seconds:
                continue
            with self.sessions() as session:
                record = session.get(CdrFile, (self.node, stat.st_ino))
                if record is None and stat.st_size > 0:
                    continue   # never read: the next pass reads it first
                if record is not None and record.offset < stat.st_size:
                    continue
                session.execute(delete(CdrFile).where(CdrFile.node == self.node,
                                                      CdrFile.inode == stat.st_ino))
                session.commit()
            path.unlink()   # after the commit: a crash between re-reads, dedup absorbs it
            retired.append(path.name)
        return retired

    # -- loop -----------------------------------------------------------------------
    def run(self, interval: float, stop: Callable[[], bool],
            on_pass: Callable[[], object] | None = None) -> None:
        """collect_once every ``interval`` seconds until ``stop()``; errors are logged.
        ``on_pass`` runs after every pass that did not fail (a heartbeat)."""
        while not stop():
            started = time.monotonic()
            try:
                result = self.collect_once()
                if result.lines or result.bad:
                    log.info("collected %d CDR line(s): %d new, %d bad", result.lines,
                             result.inserted, result.bad)
                if on_pass is not None:
                    on_pass()
            except Exception:
                log.exception("collecting CDRs failed; retrying in %.1f s", interval)
            while not stop() and time.monotonic() - started < interval:
                time.sleep(min(0.1, interval))


FIX_KEEP_SECONDS = 86400.0   # a fix whose CDR never comes is dropped after a day


def apply_fixes(session: Session, node: str, new: list[tuple[str, str, str]]) -> int:
    """Record the new fixes, then apply every pending fix whose CDR is in: the number
    of CDRs changed.  Cheap when there are none (one indexed UPDATE per fix)."""
    now = datetime.now(UTC)
    for call_id, from_tag, hangup in new:
        fix = session.get(CdrFix, (node, call_id, from_tag))
        if fix is None:
            session.add(CdrFix(node=node, call_id=call_id, from_tag=from_tag,
                               hangup=hangup, created_at=now))
        else:
            fix.hangup = hangup
    session.flush()
    changed = 0
    for fix in session.scalars(select(CdrFix).where(CdrFix.node == node)).all():
        result = session.execute(
            update(Cdr).where(Cdr.node == node, Cdr.call_id == fix.call_id,
                              Cdr.from_tag == fix.from_tag, Cdr.code == 200)
            .values(hangup=fix.hangup))
        matched = int(getattr(result, "rowcount", 0) or 0)
        created = fix.created_at if fix.created_at.tzinfo else fix.created_at.replace(
            tzinfo=UTC)
        changed += matched
        if matched or (now - created).total_seconds() > FIX_KEEP_SECONDS:
            session.delete(fix)
    session.flush()
    return changed


SQLITE_TIME = "%Y-%m-%d %H:%M:%S%.6f"   # how SQLAlchemy stores DateTime on SQLite


def insert_cdrs(session: Session, frame: pl.DataFrame) -> int:
    """Insert the frame's CDRs, skipping attempts already there; the number inserted.
    SQLite: one executemany of tuples on the driver's cursor (SQLAlchemy's per-row
    work would cost more than the insert itself: bench/cdr_collect.py)."""
    if frame.is_empty():
        return 0
    missing = {k: v for k, v in UNRATED.items() if k not in frame.columns}
    if missing or "rated_at" not in frame.columns:
        frame = frame.with_columns(
            *[pl.lit(v).alias(k) for k, v in missing.items()],
            *([] if "rated_at" in frame.columns
              else [pl.lit(None, pl.Datetime("us", "UTC")).alias("rated_at")]))
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        times = [c for c, t in frame.schema.items() if isinstance(t, pl.Datetime)]
        rows = frame.with_columns(pl.col(times).dt.convert_time_zone("UTC")
                                  .dt.replace_time_zone(None).dt.to_string(SQLITE_TIME))
        names = ", ".join(rows.columns)
        marks = ", ".join("?" * len(rows.columns))
        connection = session.connection()
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(
                f"INSERT INTO cdrs ({names}) VALUES ({marks}) ON CONFLICT "
                "(node, call_id, from_tag, cseq) DO NOTHING", list(rows.iter_rows()))
            return max(0, int(cursor.rowcount))
        finally:
            cursor.close()
    stmt = postgresql.insert(Cdr).on_conflict_do_nothing(
        index_elements=["node", "call_id", "from_tag", "cseq"])
    cursor_result = session.execute(stmt, frame.to_dicts())
    return max(0, int(getattr(cursor_result, "rowcount", 0) or 0))
