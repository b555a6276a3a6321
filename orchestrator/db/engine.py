"""Engine and session factory from a SQLAlchemy URL."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()
            # ``x REGEXP p`` (SQLAlchemy's regexp_match): SQLite has none by default.
            dbapi_connection.create_function("regexp", 2, _regexp, deterministic=True)
    return engine


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _regexp(pattern: str | None, value: str | None) -> bool:
    """SQLite's ``value REGEXP pattern``: Python ``re.search`` (NULL never matches)."""
    if pattern is None or value is None:
        return False
    return _compiled(pattern).search(value) is not None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
