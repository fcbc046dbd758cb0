"""Entering and leaving the desk: the login link from chat, the session cookie, logging out."""

from __future__ import annotations

from urllib.parse import urlsplit

from aiohttp import web

from bot.web.auth import COOKIE_NAME, cookie_value, end_session, login_holder, redeem_login, secret_in_cookie
from bot.web.desk import STALE_FORM, RefusedError, Visit, page, set_session_cookie


@page("GET", "/", public=True)
async def home(visit: Visit) -> web.StreamResponse:
    if visit.viewer is None:
        return visit.render("welcome.html")
    raise web.HTTPSeeOther("/overview" if visit.may("stats") else "/ledger")


@page("GET", "/login/{token}", public=True)
async def login_page(visit: Visit) -> web.StreamResponse:
    """Looking at the link uses nothing: a chat app's link scanner may open it first. 进入 (a POST) does."""
    token = visit.request.match_info["token"]
    member = await visit.run(lambda session: login_holder(session, visit.ctx.clock, token))
    return visit.render("login.html", token=token, name=member.name)


@page("POST", "/login/{token}", public=True)
async def log_in(visit: Visit) -> web.StreamResponse:
    """The form has no CSRF token (nobody is logged in yet), so the browser's Origin is checked instead:
    a page elsewhere must not log a visitor's browser in with a link of its own choosing."""
    origin = visit.request.headers.get("Origin")
    if origin is not None and urlsplit(origin).netloc != visit.request.host:  # "null" too: a sandboxed frame
        raise RefusedError(403, STALE_FORM)
    token = visit.request.match_info["token"]
    hours = visit.desk.settings.session_hours
    secret = await visit.run(lambda session: redeem_login(session, visit.ctx.clock, token, hours))
    response = web.HTTPSeeOther("/")
    set_session_cookie(response, visit.desk, cookie_value(visit.desk.key, secret),
                       secure=visit.desk.ctx.desk_url.startswith("https://"))
    raise response


@page("POST", "/logout")
async def log_out(visit: Visit) -> web.StreamResponse:
    secret = secret_in_cookie(visit.desk.key, visit.request.cookies.get(COOKIE_NAME))
    if secret is not None:
        await visit.run(lambda session: end_session(session, visit.ctx.clock, secret))
    response = web.HTTPSeeOther("/")
    response.del_cookie(COOKIE_NAME, path="/")
    raise response
