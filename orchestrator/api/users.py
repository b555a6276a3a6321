"""/api/v1/users: admin users of the web admin, API and CLI (administrators only)."""

from __future__ import annotations

from typing import Any

from apiflask import Schema, fields
from apiflask.validators import Length, OneOf

from orchestrator.api.auth import ApiContext, api_auth
from orchestrator.api.blueprint import resource_blueprint
from orchestrator.api.fields import UtcDateTime
from orchestrator.api.listing import ListArgs, envelope, list_query, page_of
from orchestrator.users import service
from orchestrator.users.models import ROLES, AdminUser

bp = resource_blueprint("users", "Users")
# The list comes last: a schema used alone must be registered before its page.



def _username(required: bool = False) -> fields.String:
    return fields.String(required=required,
                         validate=Length(min=1, max=service.MAX_USERNAME_LENGTH))


def _password(required: bool = False) -> fields.String:
    return fields.String(required=required, load_only=True,
                         validate=Length(min=service.MIN_PASSWORD_LENGTH,
                                         max=service.MAX_PASSWORD_LENGTH),
                         metadata={"description": "write-only"})


class UserOut(Schema):
    id = fields.Integer(required=True)
    username = fields.String(required=True)
    role = fields.String(required=True, metadata={"enum": list(ROLES)})
    active = fields.Boolean(required=True)
    must_change_password = fields.Boolean(required=True)
    created_at = UtcDateTime(required=True)
    last_login_at = UtcDateTime(allow_none=True)


class UserCreate(Schema):
    username = _username(required=True)
    password = _password(required=True)
    role = fields.String(load_default="viewer", validate=OneOf(ROLES))
    active = fields.Boolean(load_default=True)


class UserPatch(Schema):
    username = _username()
    password = _password()
    role = fields.String(validate=OneOf(ROLES))
    active = fields.Boolean()


@bp.post("/users")
@api_auth("admin")
@bp.input(UserCreate, arg_name="body")
@bp.output(UserOut, status_code=201)
@bp.doc(summary="Create a user", responses={409: "The username exists"})
def create_user(ctx: ApiContext, body: dict[str, Any]) -> AdminUser:
    return service.create_user(ctx.db, body["username"], body["password"], body["role"],
                               body["active"], actor=ctx.actor)


@bp.get("/users/<int:user_id>")
@api_auth("admin")
@bp.output(UserOut)
@bp.doc(summary="Get a user")
def get_user(ctx: ApiContext, user_id: int) -> AdminUser:
    return service.get_user(ctx.db, user_id)


@bp.patch("/users/<int:user_id>")
@api_auth("admin")
@bp.input(UserPatch, arg_name="body")
@bp.output(UserOut)
@bp.doc(summary="Change a user", responses={
    409: "The username exists, or the last active admin would lose access"})
def update_user(ctx: ApiContext, user_id: int, body: dict[str, Any]) -> AdminUser:
    return service.update_user(ctx.db, user_id, actor=ctx.actor, **body)


@bp.delete("/users/<int:user_id>")
@api_auth("admin")
@bp.output({}, status_code=204)
@bp.doc(summary="Delete a user", responses={409: "The last active admin cannot be deleted"})
def delete_user(ctx: ApiContext, user_id: int) -> tuple[str, int]:
    service.delete_user(ctx.db, user_id, actor=ctx.actor)
    return "", 204


@bp.get("/users")
@api_auth("admin")
@bp.input(ListArgs, location="query", arg_name="args")
@bp.output(page_of(UserOut))
@bp.doc(summary="List users", description="`q` searches the username; sort by id, "
        "username, role, active, created_at, last_login_at.")
def list_users(ctx: ApiContext, args: dict[str, Any]) -> dict[str, Any]:
    return envelope(service.list_users(ctx.db, list_query(args)))
