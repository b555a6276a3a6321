"""Signing in and out, the current user, and ``login_required``."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any, ParamSpec
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from orchestrator.actor import Actor
from orchestrator.users.models import AdminUser
from orchestrator.users.service import authenticate
from webui.db import db
from webui.state import web_state

bp = Blueprint("auth", __name__)

P = ParamSpec("P")

INVALID = "Invalid username or password."
MAX_USERNAME = 64
MAX_PASSWORD = 1024  # argon2 takes any length; refuse megabytes before hashing them
# Pages a user who must change the password may still reach.
OPEN_WHILE_MUST_CHANGE = frozenset({"account.password"})


def session_stamp(user: AdminUser) -> str:
    """Changes whenever the password changes, which ends every older session."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:24]


def sign_in(user: AdminUser) -> None:
    session.clear()  # nothing from the anonymous session carries over
    session.permanent = True
    session["user_id"] = user.id
    session["stamp"] = session_stamp(user)


def current_user() -> AdminUser | None:
    """The signed-in, active user of this request, else None."""
    if "user" not in g:
        g.user = _load_user()
    user: AdminUser | None = g.user
    return user


def current_actor() -> Actor:
    """The signed-in user as the service layer's Actor (login_required ran first)."""
    user = current_user()
    if user is None:
        abort(401)
    return Actor(user.id, user.username, user.role)


def require_write(what: str) -> Actor:
    """The actor, if it may change things; else 403 saying it can only view ``what``."""
    who = current_actor()
    if not who.can("write"):
        abort(403, f"Your role ({who.role}) can only view {what}.")
    return who


def _load_user() -> AdminUser | None:
    user_id = session.get("user_id")
    if not isinstance(user_id, int):
        return None
    user = db().get(AdminUser, user_id)
    if user is None or not user.active or session.get("stamp") != session_stamp(user):
        session.clear()
        return None
    return user


def login_required(view: Callable[P, ResponseReturnValue]) -> Callable[P, ResponseReturnValue]:
    """Anonymous users go to the sign-in page (JSON endpoints answer 401)."""

    @functools.wraps(view)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> ResponseReturnValue:
        user = current_user()
        if user is None:
            if request.path.endswith(".json"):
                return jsonify(error="not signed in"), 401
            here = request.full_path if request.method == "GET" else request.path
            return redirect(url_for("auth.login", next=here.rstrip("?")))
        if user.must_change_password and request.endpoint not in OPEN_WHILE_MUST_CHANGE:
            return redirect(url_for("account.password"))
        return view(*args, **kwargs)

    return wrapped


def safe_next(target: str | None) -> str:
    """``target`` if it is a path on this site, else the dashboard (no open redirect)."""
    fallback = url_for("dashboard.index")
    if not target or not target.startswith("/") or target.startswith("//"):
        return fallback
    if "\\" in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return fallback  # browsers read "/\evil" as "//evil"; no header tricks either
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        if current_user() is not None:
            return redirect(target)
        return render_template("login.html", next=target, username="")

    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    client = request.remote_addr or "unknown"
    throttle = web_state().throttle
    wait = throttle.retry_after(username, client)
    if wait:
        message = f"Too many failed sign-in attempts. Try again in {wait} s."
        page = render_template("login.html", next=target, username=username, error=message)
        return page, 429, {"Retry-After": str(wait)}

    user = None
    if len(username) <= MAX_USERNAME and len(password) <= MAX_PASSWORD:
        user = authenticate(db(), username, password)
    if user is None:
        throttle.failed(username, client)
        page = render_template("login.html", next=target, username=username, error=INVALID)
        return page, 401

    throttle.succeeded(username, client)
    sign_in(user)
    if user.must_change_password:
        flash("Choose a new password to replace the one-time password.", "info")
        return redirect(url_for("account.password"))
    return redirect(target)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    session.clear()
    flash("You have signed out.", "info")
    return redirect(url_for("auth.login"))


def _template_globals() -> dict[str, Any]:
    return {"current_user": current_user()}


def init_app(app: Flask) -> None:
    app.context_processor(_template_globals)
