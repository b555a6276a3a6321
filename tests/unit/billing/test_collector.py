"""The CDR collector on files shaped like Kamailio's (cdr_format): exactly once, also
when run twice, killed between insert and commit, or fed a line still being written."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.billing.cdr_format import FIELDS
from orchestrator.billing.collector import BAD_FILE, CRASH_ENV, ROTATED_DIR, CdrCollector
from orchestrator.billing.models import Cdr, CdrFile, CdrFix
from orchestrator.db import make_engine, session_factory, upgrade

T0 = 1795690149.0


def line(n: int, *, code: int = 200, answered: bool = True, caller: str = "15551230000",
         cust: str = "7") -> str:
    """A CDR line as the switch writes it (answered: 10 s after a 2 s PDD)."""
    start = T0 + n
    extra = {
        "t0": f"{start:.6f}", "te": f"{start + 12:.6f}" if answered else f"{start:.6f}",
        "ta": f"{start + 2:.6f}" if answered else "", "t18": f"{start + 1.5:.6f}",
        "rc": str(code), "rr": "OK" if code == 200 else "Busy Here",
        "hup": "caller" if answered else "", "ci": f"call-{n}@198.51.100.7",
        "ft": f"tag{n}", "cs": "1", "src": "198.51.100.7", "cust": cust, "rid": "3",
        "user": "<null>", "caller": caller, "dialled": "441234567", "num": "441234567",
        "routed": "99441234567", "tree": "t12", "kid": "5", "pc": "8",
        "tried": "4:6:503", "media": "proxy", "mset": "0",
    }
    acc = ["INVITE", f"tag{n}", "", f"call-{n}", "", "cdr", str(int(start))]
    return "|".join(acc + [extra[name] for name in FIELDS[7:]])


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    url = f"sqlite:///{tmp_path / 'billing.db'}"
    upgrade(url)
    engine = make_engine(url)
    yield url, session_factory(engine)
    engine.dispose()


def _count(sessions: sessionmaker[Session]) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(Cdr)) or 0)


def test_line_fields_become_columns(tmp_path: Path,
                                    db: tuple[str, sessionmaker[Session]]) -> None:
    _, sessions = db
    (tmp_path / "cdrs_1.log").write_text(line(1, caller="Alice%7CBob") + "\n")
    result = CdrCollector(tmp_path, sessions).collect_once()
    assert (result.lines, result.inserted, result.bad) == (1, 1, 0)
    with sessions() as session:
        cdr = session.scalars(select(Cdr)).one()
    assert (cdr.call_id, cdr.from_tag, cdr.cseq) == ("call-1@198.51.100.7", "tag1", 1)
    assert (cdr.code, cdr.reason, cdr.hangup) == (200, "OK", "caller")
    assert (cdr.duration_ms, cdr.pdd_ms) == (10_000, 1_500)
    assert (cdr.customer_id, cdr.route_id, cdr.carrier_id, cdr.provider_card_id) == (7, 3, 5, 8)
    assert cdr.sip_user == "" and cdr.caller == "Alice|Bob"
    assert (cdr.number, cdr.routed, cdr.tariff) == ("441234567", "99441234567", "t12")
    assert cdr.customer_card_revision_id == 12
    assert (cdr.tried, cdr.media, cdr.media_zone) == ("4:6:503", "proxy", "auto")


def test_twice_and_appended_lines(tmp_path: Path,
                                  db: tuple[str, sessionmaker[Session]]) -> None:
    """A second run reads only what was appended; a line without its newline yet (being
    written) waits for the next run."""
    _, sessions = db
    live = tmp_path / "cdrs_1.log"
    live.write_text("".join(line(n) + "\n" for n in range(50)))
    collector = CdrCollector(tmp_path, sessions)
    assert collector.collect_once().inserted == 50
    assert collector.collect_once().lines == 0
    with live.open("a") as out:
        out.write(line(50) + "\n" + line(51)[:40])
    assert collector.collect_once().inserted == 1
    with live.open("a") as out:
        out.write(line(51)[40:] + "\n")
    assert collector.collect_once().inserted == 1
    assert _count(sessions) == 52


def test_same_attempt_twice_and_bad_lines(tmp_path: Path,
                                          db: tuple[str, sessionmaker[Session]]) -> None:
    """The same attempt written twice (a retransmitted INVITE refused again) is one CDR;
    a line of another shape is kept in bad.log and does not stop the others."""
    _, sessions = db
    (tmp_path / "cdrs_1.log").write_text(f"{line(1)}\nnot|a|cdr\n{line(2)}\n")
    (tmp_path / "cdrs_2.log").write_text(f"{line(1)}\n")
    result = CdrCollector(tmp_path, sessions).collect_once()
    assert (result.lines, result.inserted, result.bad) == (3, 2, 1)
    assert "cdrs_1.log\tnot|a|cdr" in (tmp_path / BAD_FILE).read_text()
    assert _count(sessions) == 2


def test_killed_between_insert_and_commit(tmp_path: Path,
                                          db: tuple[str, sessionmaker[Session]]) -> None:
    """SIGKILL after the insert, before the commit: nothing is kept, and the next run
    inserts every line once."""
    url, sessions = db
    cdr_dir = tmp_path / "cdrs"
    cdr_dir.mkdir()
    (cdr_dir / "cdrs_1.log").write_text("".join(line(n) + "\n" for n in range(2000)))
    code = ("import sys; from pathlib import Path; "
            "from orchestrator.db import make_engine, session_factory; "
            "from orchestrator.billing.collector import CdrCollector; "
            "r = CdrCollector(Path(sys.argv[1]), session_factory(make_engine(sys.argv[2])))"
            ".collect_once(); print(r.inserted)")
    env = dict(os.environ, **{CRASH_ENV: "after-insert"})
    crashed = subprocess.run([sys.executable, "-c", code, str(cdr_dir), url], env=env,
                             capture_output=True, text=True, timeout=60)
    assert crashed.returncode == -9, crashed.stderr
    assert _count(sessions) == 0
    with sessions() as session:
        assert session.scalars(select(CdrFile)).all() == []
    again = subprocess.run([sys.executable, "-c", code, str(cdr_dir), url],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == "2000"
    assert _count(sessions) == 2000


def test_killed_at_any_moment(tmp_path: Path, db: tuple[str, sessionmaker[Session]]) -> None:
    """Killed at arbitrary moments of a large read (several batches): after a clean run
    every line is there exactly once."""
    url, sessions = db
    cdr_dir = tmp_path / "cdrs"
    cdr_dir.mkdir()
    total = 60_000   # about 13 MB: two batches
    with (cdr_dir / "cdrs_1.log").open("w") as out:
        for n in range(total):
            out.write(line(n) + "\n")
    code = ("import sys; from pathlib import Path; "
            "from orchestrator.db import make_engine, session_factory; "
            "from orchestrator.billing.collector import CdrCollector; "
            "CdrCollector(Path(sys.argv[1]), session_factory(make_engine(sys.argv[2])))"
            ".collect_once()")
    argv = [sys.executable, "-c", code, str(cdr_dir), url]
    for delay in (1.5, 3.0):
        proc = subprocess.Popen(argv)
        time.sleep(delay)
        proc.kill()
        proc.wait(timeout=30)
    subprocess.run(argv, check=True, timeout=300)
    assert _count(sessions) == total
    with sessions() as session:
        assert session.scalar(select(func.count(func.distinct(Cdr.call_id)))) == total


def test_rotation_and_retirement(tmp_path: Path,
                                 db: tuple[str, sessionmaker[Session]]) -> None:
    """A large live file is renamed into rotated/ and Kamailio told to reopen; lines that
    still land in it are read; once read and idle it is deleted with its offset."""
    _, sessions = db
    rotations: list[int] = []
    collector = CdrCollector(tmp_path, sessions, rotate=lambda: rotations.append(1),
                             rotate_bytes=10_000, retire_seconds=60)
    live = tmp_path / "cdrs_1.log"
    live.write_text("".join(line(n) + "\n" for n in range(100)))
    result = collector.collect_once()
    assert result.inserted == 100 and len(result.rotated) == 1 and rotations == [1]
    assert not live.exists()
    [rotated] = (tmp_path / ROTATED_DIR).glob("*.log")
    with rotated.open("a") as out:   # a write in flight at the rename
        out.write(line(100) + "\n")
    live.write_text(line(101) + "\n")  # the process reopened its file
    assert collector.collect_once().inserted == 2
    assert collector.collect_once().retired == []    # read, but written to just now
    collector.retire_seconds = 0.5
    time.sleep(0.6)
    assert collector.collect_once().retired == [rotated.name]
    assert not rotated.exists()
    with sessions() as session:
        assert [f.name for f in session.scalars(select(CdrFile))] == ["cdrs_1.log"]
    assert _count(sessions) == 102


def fix_line(n: int, hangup: str = "credit") -> str:
    """The correction the switch writes after a call's CDR (credit.cfg.j2)."""
    parts = line(n).split("|")
    parts[FIELDS.index("acc_reason")] = "fix"
    parts[FIELDS.index("hup")] = hangup
    return "|".join(parts)


def test_fix_applies_whenever_its_cdr_arrives(tmp_path: Path,
                                             db: tuple[str, sessionmaker[Session]]) -> None:
    """A fix read after its CDR changes it at once; one read before its CDR (another
    process's file) waits in cdr_fixes and applies when the CDR comes."""
    _, sessions = db
    collector = CdrCollector(tmp_path, sessions)
    (tmp_path / "cdrs_1.log").write_text(line(1) + "\n" + fix_line(1) + "\n")
    (tmp_path / "cdrs_2.log").write_text(fix_line(2) + "\n")
    collector.collect_once()
    with sessions() as session:
        assert session.scalars(select(Cdr.hangup)).all() == ["credit"]
        assert [f.call_id for f in session.scalars(select(CdrFix))] == [
            "call-2@198.51.100.7"]
    with (tmp_path / "cdrs_1.log").open("a") as out:
        out.write(line(2) + "\n")
    collector.collect_once()
    with sessions() as session:
        assert session.scalars(select(Cdr.hangup).order_by(Cdr.call_id)).all() == [
            "credit", "credit"]
        assert session.scalars(select(CdrFix)).all() == []
