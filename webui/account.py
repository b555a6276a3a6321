"""The signed-in user's own account: email and mobile (verified with a code:
webui/verification) and changing the password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.actor import Actor
from orchestrator.errors import ServiceError, ValidationFailed
from orchestrator.users.passwords import verify_password
from orchestrator.users.service import set_password
from orchestrator.verification import account as contact_service
from orchestrator.verification import codes, subjects
from webui.auth import current_user, login_required, sign_in
from webui.db import db

bp = Blueprint("account", __name__, url_prefix="/account")


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password() -> ResponseReturnValue:
    user = current_user()
    assert user is not None  # login_required
    if request.method == "GET":
        return render_template("account_password.html", user=user)

    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")
    confirm = request.form.get("confirm_password", "")
    error = None
    if not verify_password(user.password_hash, current):
        error = "The current password is not correct."
    elif new != confirm:
        error = "The new password and its confirmation differ."
    elif new == current:
        error = "The new password must differ from the current one."
    else:
        try:
            set_password(db(), user.username, new,
                         actor=Actor(user.id, user.username, user.role))
        except ServiceError as exc:
            reason = str(exc)
            error = (f"The new password {reason.removeprefix('password: ')}."
                     if reason.startswith("password: ") else reason)
    if error is not None:
        return render_template("account_password.html", user=user, error=error), 400

    sign_in(user)  # the password hash changed: keep this session, end the others
    flash("Your password has been changed.", "info")
    return redirect(url_for("dashboard.index"))


def _render_contact(values: dict[str, str] | None = None,
                    errors: dict[str, list[str]] | None = None,
                    status: int = 200) -> ResponseReturnValue:
    user = current_user()
    assert user is not None  # login_required
    actor = Actor(user.id, user.username, user.role)
    state = codes.state(db(), actor, subjects.user(user.id))
    shown = values if values is not None else {"email": user.email, "mobile": user.mobile}
    return render_template("account_contact.html", user=user, state=state, values=shown,
                           errors=errors or {}), status


@bp.get("")
@login_required
def contact() -> ResponseReturnValue:
    return _render_contact()


@bp.post("/contact")
@login_required
def save_contact() -> ResponseReturnValue:
    user = current_user()
    assert user is not None  # login_required
    values = {f: request.form.get(f, "") for f in ("email", "mobile")}
    try:
        contact_service.update_contact(db(), Actor(user.id, user.username, user.role),
                                       user.id, values)
    except ValidationFailed as exc:
        db().rollback()
        return _render_contact(values, exc.errors, 422)
    flash("Your email and mobile are saved. Verify each with a code below.", "info")
    return redirect(url_for("account.contact"))
