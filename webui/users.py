"""Users of the web admin, API and CLI: list, add, edit, reset password, delete.

Administrators only: every view of this blueprint (and of the audit log, which uses
``AdminBlueprint`` too) answers 403 to operators and viewers. The views call
orchestrator.users.service, the same functions as the REST API and the CLI; the
service refuses removing or demoting the last active administrator.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, cast

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue, RouteCallable

from orchestrator.actor import Actor
from orchestrator.errors import Conflict, ValidationFailed
from orchestrator.listing import ListQuery
from orchestrator.users import service
from orchestrator.users.models import ROLES, AdminUser
from webui.auth import current_actor, current_user, login_required
from webui.db import db
from webui.list_views import register_list_views
from webui.lists import Column, ListSpec


class AdminBlueprint(Blueprint):
    """A blueprint whose every view is for administrators only (see ``admin_only``).

    The check wraps each view rather than being a blueprint ``before_request``: APIFlask
    looks for OpenAPI settings on the blueprints of before_request functions.
    """

    def add_url_rule(self, rule: str, endpoint: str | None = None,
                     view_func: RouteCallable | None = None,
                     provide_automatic_options: bool | None = None, **options: Any) -> None:
        if view_func is not None:
            view_func = _admin_required(cast(Callable[..., ResponseReturnValue], view_func))
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **options)


def _admin_required(view: Callable[..., ResponseReturnValue]) -> RouteCallable:
    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        admin_only()
        return view(*args, **kwargs)

    return wrapped


bp = AdminBlueprint("user_admin", __name__)  # "users" is the API's

LIST = ListSpec(
    name="users",
    columns=(
        Column("username", "Username", sort="username", always=True),
        Column("role", "Role", sort="role"),
        Column("status", "Status", sort="active"),
        Column("must_change_password", "Must change password"),
        Column("created_at", "Created", sort="created_at"),
        Column("last_login_at", "Last sign-in", sort="last_login_at"),
    ),
    default_sort="username",
)


def admin_only() -> None:
    """Run before every view of an AdminBlueprint: 403 for a signed-in non-admin.

    Anonymous users and users who must change their password pass on to
    ``login_required``, which sends them to the right page.
    """
    user = current_user()
    if user is None or user.must_change_password:
        return
    if not Actor(user.id, user.username, user.role).can("admin"):
        abort(403, f"Your role ({user.role}) may not manage users or read the audit log: "
                   "ask an administrator.")



actor = current_actor  # the signed-in administrator as the service layer's Actor


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else ""


def user_row(user: AdminUser) -> dict[str, Any]:
    return {"id": user.id, "username": user.username, "role": user.role,
            "status": "active" if user.active else "disabled",
            "must_change_password": "yes" if user.must_change_password else "no",
            "created_at": _when(user.created_at), "last_login_at": _when(user.last_login_at)}


def _fetch(query: ListQuery) -> tuple[list[dict[str, Any]], int, int]:
    page = service.list_users(db(), query)
    return [user_row(u) for u in page.items], page.total, page.pages


register_list_views(bp, "users", LIST, _fetch, actor)


def errors_of(exc: ValidationFailed | Conflict) -> dict[str, list[str]]:
    if isinstance(exc, Conflict):
        return {exc.field: [exc.message]}
    return exc.errors


def status_of(exc: ValidationFailed | Conflict) -> int:
    return 409 if isinstance(exc, Conflict) else 422


def _check(name: str) -> bool:
    return name in request.form


@bp.route("/users/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    who = actor()
    if request.method == "GET":
        return render_template("users/form.html", values={"role": "viewer",
                               "must_change_password": True}, errors={}, roles=ROLES)
    username = request.form.get("username", "")
    role = request.form.get("role", "")
    password = request.form.get("password", "")
    confirm = request.form.get("confirm_password", "")
    must_change = _check("must_change_password")
    values = {"username": username, "role": role, "must_change_password": must_change}
    errors: dict[str, list[str]]
    status = 422
    if password != confirm:
        errors = {"confirm_password": ["does not match the password"]}
    else:
        try:
            user = service.create_user(db(), username, password, role, actor=who)
        except (ValidationFailed, Conflict) as exc:
            db().rollback()
            errors, status = errors_of(exc), status_of(exc)
        else:
            user.must_change_password = must_change
            flash(f"User {user.username} added.", "info")
            return redirect(url_for("user_admin.index"))
    page = render_template("users/form.html", values=values, errors=errors, roles=ROLES)
    return page, status


def _render_edit(user: AdminUser, *, values: dict[str, Any] | None = None,
                 errors: dict[str, list[str]] | None = None,
                 password_errors: dict[str, list[str]] | None = None,
                 refusal: str | None = None, status: int = 200) -> ResponseReturnValue:
    who = actor()
    shown = values if values is not None else {
        "username": user.username, "role": user.role, "active": user.active}
    page = render_template("users/edit.html", user=user, values=shown, errors=errors or {},
                           password_errors=password_errors or {}, refusal=refusal,
                           roles=ROLES, is_self=user.id == who.user_id)
    return page, status


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@login_required
def edit(user_id: int) -> ResponseReturnValue:
    who = actor()
    user = service.get_user(db(), user_id)
    if request.method == "GET":
        return _render_edit(user)
    username, role = request.form.get("username", ""), request.form.get("role", "")
    active = _check("active")
    values = {"username": username, "role": role, "active": active}
    try:
        service.update_user(db(), user_id, actor=who, username=username, role=role,
                            active=active)
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        refusal = exc.message if isinstance(exc, Conflict) else None
        return _render_edit(service.get_user(db(), user_id), values=values,
                            errors=errors_of(exc), refusal=refusal, status=status_of(exc))
    flash(f"User {user.username} saved.", "info")
    if user.id == who.user_id and not (user.active and user.role == "admin"):
        return redirect(url_for("dashboard.index"))  # no longer allowed here
    return redirect(url_for("user_admin.index"))


@bp.post("/users/<int:user_id>/password")
@login_required
def reset_password(user_id: int) -> ResponseReturnValue:
    who = actor()
    user = service.get_user(db(), user_id)
    if user.id == who.user_id:
        flash("Change your own password here.", "info")
        return redirect(url_for("account.password"))
    password = request.form.get("password", "")
    confirm = request.form.get("confirm_password", "")
    if password != confirm:
        return _render_edit(user, password_errors={
            "confirm_password": ["does not match the password"]}, status=422)
    try:
        service.set_password(db(), user.username, password, actor=who)
    except (ValidationFailed, Conflict) as exc:
        db().rollback()
        return _render_edit(service.get_user(db(), user_id), password_errors=errors_of(exc),
                            status=status_of(exc))
    must_change = _check("must_change_password")
    user.must_change_password = must_change
    flash(f"Password of {user.username} reset"
          + ("; it must be changed at the next sign-in." if must_change else "."), "info")
    return redirect(url_for("user_admin.edit", user_id=user_id))


@bp.route("/users/<int:user_id>/delete", methods=["GET", "POST"])
@login_required
def delete(user_id: int) -> ResponseReturnValue:
    who = actor()
    user = service.get_user(db(), user_id)
    name = user.username
    if request.method == "POST":
        try:
            service.delete_user(db(), user_id, actor=who)
        except Conflict as exc:
            db().rollback()
            page = render_template("users/delete.html", user=service.get_user(db(), user_id),
                                   refusal=exc.message, is_self=user_id == who.user_id)
            return page, 409
        flash(f"User {name} deleted.", "info")
        return redirect(url_for("user_admin.index"))
    return render_template("users/delete.html", user=user, refusal=None,
                           is_self=user_id == who.user_id)
