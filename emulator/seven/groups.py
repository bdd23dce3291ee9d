"""seven.io contact groups: `GET/POST /api/groups`, `GET/PATCH/DELETE /api/groups/{id}`.

Deleting a group removes it from its members; with `delete_contacts=true` (query or body) the
members are deleted as well.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.errors import InvalidParameter, MissingParameter, NotFound
from ..core.store import Store
from .addressbook import Group, contacts, contacts_of, find_group, groups, groups_of
from .context import begin
from .paging import paged, window
from .render import json_response, moment
from .validate import boolean, text

__all__ = ["group_json", "list_groups", "create_group", "get_group", "update_group", "delete_group", "ROUTES"]

FIRST_GROUP_ID = 10_001
DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
MAX_NAME_LENGTH = 100


def _member_counts(store: Store, account_id: str) -> dict[int, int]:
    counts: dict[int, int] = {}
    for contact in contacts_of(store, account_id):
        for group_id in contact.groups:
            counts[group_id] = counts.get(group_id, 0) + 1
    return counts


def group_json(group: Group, members: int) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "members_count": members, "created": moment(group.created, fraction=0)}


def _name(params: dict[str, Any]) -> str:
    raw = params.get("name")
    if isinstance(raw, (list, dict)):
        raise InvalidParameter("name", raw, "expected text")
    name = " ".join((text(params, "name") or "").split())
    if not name:
        raise MissingParameter("name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidParameter("name", name, f"at most {MAX_NAME_LENGTH} characters")
    return name


def _group(request: Request, engine: Engine, account_id: str) -> Group:
    raw = request.path_params["id"]
    group = find_group(engine.store, account_id, raw)
    if group is None:
        raise NotFound("group", raw)
    return group


async def list_groups(request: Request) -> Response:
    ctx = await begin(request)
    limit, offset = window(ctx.params, DEFAULT_LIMIT, MAX_LIMIT)
    counts = _member_counts(ctx.engine.store, ctx.account.id)
    page, metadata = paged(groups_of(ctx.engine.store, ctx.account.id), limit, offset)
    return json_response({"data": [group_json(g, counts.get(g.id, 0)) for g in page], "pagingMetadata": metadata})


async def create_group(request: Request) -> Response:
    ctx = await begin(request)
    engine = ctx.engine
    name = _name(ctx.params)
    group = Group(
        id=engine.ids.sequence("seven.group", FIRST_GROUP_ID),
        account_id=ctx.account.id,
        name=name,
        created=engine.clock.stamp(),
    )
    groups(engine.store).add(str(group.id), group.account_id, group.created, group)
    return json_response(group_json(group, 0))


async def get_group(request: Request) -> Response:
    ctx = await begin(request)
    group = _group(request, ctx.engine, ctx.account.id)
    return json_response(group_json(group, _member_counts(ctx.engine.store, ctx.account.id).get(group.id, 0)))


async def update_group(request: Request) -> Response:
    ctx = await begin(request)
    group = _group(request, ctx.engine, ctx.account.id)
    group.name = _name(ctx.params)
    return json_response(group_json(group, _member_counts(ctx.engine.store, ctx.account.id).get(group.id, 0)))


async def delete_group(request: Request) -> Response:
    ctx = await begin(request)
    store = ctx.engine.store
    group = _group(request, ctx.engine, ctx.account.id)
    delete_members = boolean(ctx.params, "delete_contacts")
    for contact in contacts_of(store, ctx.account.id):
        if group.id not in contact.groups:
            continue
        if delete_members:
            contacts(store).remove(str(contact.id))
        else:
            contact.groups = [g for g in contact.groups if g != group.id]
    groups(store).remove(str(group.id))
    return json_response({"success": True})


ROUTES = [
    Route("/groups", list_groups, methods=["GET"]),
    Route("/groups", create_group, methods=["POST"]),
    Route("/groups/{id}", get_group, methods=["GET"]),
    Route("/groups/{id}", update_group, methods=["PATCH"]),
    Route("/groups/{id}", delete_group, methods=["DELETE"]),
]
