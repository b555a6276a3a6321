"""One SQLAlchemy session per request, committed or rolled back when it ends."""

from __future__ import annotations

from flask import Flask, Response, g
from sqlalchemy.orm import Session

from webui.state import web_state


def db() -> Session:
    """The session of the current request, opened on first use."""
    session: Session | None = g.get("db_session")
    if session is None:
        session = web_state().sessions()
        g.db_session = session
    return session


def _commit(response: Response) -> Response:
    # Commit before the response leaves, so a failed commit becomes a 500 page
    # instead of a success page for work that was lost.
    session: Session | None = g.get("db_session")
    if session is not None and response.status_code < 500:
        session.commit()
    return response


def _close(error: BaseException | None) -> None:
    session: Session | None = g.pop("db_session", None)
    if session is None:
        return
    if error is not None or session.in_transaction():
        session.rollback()  # an error, or a commit that did not happen
    session.close()


def init_db(app: Flask) -> None:
    app.after_request(_commit)
    app.teardown_request(_close)
