"""What the web admin keeps for its lifetime: settings, database access, throttle."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from orchestrator.db import make_engine, session_factory
from orchestrator.settings import Settings
from webui.throttle import LoginThrottle


@dataclass
class WebState:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    @classmethod
    def from_settings(cls, settings: Settings) -> WebState:
        engine = make_engine(settings.db_url)
        return cls(settings=settings, engine=engine, sessions=session_factory(engine))


def web_state() -> WebState:
    """The state of the application handling the current request."""
    state = current_app.extensions["webui"]
    assert isinstance(state, WebState)
    return state
