"""The signed-in user's own account: changing the password."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from orchestrator.actor import Actor
from orchestrator.errors import ServiceError
from orchestrator.users.passwords import verify_password
from orchestrator.users.service import set_password
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
