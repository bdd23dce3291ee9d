"""`POST /_emulator/seven/tokens`: issue a seven.io OAuth access token for an account, limited to
the given scopes, as seven's authorization-code flow would (which the emulator does not run).
The token is accepted as `Authorization: Bearer <token>` until the next reset."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..core.engine import Engine
from ..core.errors import InvalidParameter, MissingParameter, NotFound
from ..http.params import read_params
from ..seven.auth import SCOPES, TOKENS, register_token

__all__ = ["issue_token", "ROUTES"]

TOKEN_LENGTH = 48


async def issue_token(request: Request) -> Response:
    engine: Engine = request.app.state.engine
    params = await read_params(request)
    account_id = params.get("account")
    if account_id is None or account_id == "":
        raise MissingParameter("account")
    if not isinstance(account_id, str):
        raise InvalidParameter("account", account_id, "expected a seven.io account id")
    scopes = params.get("scopes")
    if scopes is None:
        raise MissingParameter("scopes")
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s in SCOPES for s in scopes):
        raise InvalidParameter("scopes", scopes, f"expected a list of: {', '.join(SCOPES)}")
    account = engine.store.accounts.get(account_id)
    if account is None or account.provider != "seven":
        raise NotFound("seven.io account", account_id)
    token = engine.ids.token(TOKEN_LENGTH)
    while engine.store.collection(TOKENS).get(token) is not None or engine.store.account_for_login("seven", token):
        token = engine.ids.token(TOKEN_LENGTH)
    access = register_token(engine.store, account.id, token, scopes, engine.clock.stamp())
    return JSONResponse({"token": access.token, "account": account.id, "scopes": sorted(access.scopes)}, status_code=201)


ROUTES = [Route("/seven/tokens", issue_token, methods=["POST"])]
