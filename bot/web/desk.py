"""The web desk's frame: its routes and who may take each, the session and CSRF checks, the templates.

Every route is declared with ``@page(method, path, may=...)``; ``may`` names a permission in the chat's
own table (bot/commands.py: a command's name, or one of DESK_ONLY), so a page and the chat command
that answers the same question are allowed to the same roles. A route with ``may=None`` is open to
anyone with a session; ``public=True`` routes need none (login, static files, the sandbox).

A handler gets a ``Visit``: the request, the desk, and the viewer. ``visit.run(work)`` runs database
work in one transaction off the event loop, as the chat's handlers do; a ServiceError raised there
rolls it back and is shown as its one Chinese sentence. No traceback reaches the page.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import mimetypes
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import jinja2
from aiohttp import web
from sqlmodel import Session

from bot.commands import may
from bot.config import WebSettings
from bot.context import BotContext
from bot.web.auth import COOKIE_NAME, Viewer, csrf_matches, secret_in_cookie, signing_key, viewer_of
from tasks.errors import ServiceError
from tasks.models import Member
from tasks.work.duties import DOOR

log = logging.getLogger(__name__)
T = TypeVar("T")
HERE = Path(__file__).parent
CSRF_FIELD = "csrf"
MAX_UPLOAD_BYTES = 30 * 1024 * 1024  # an import's document; the same ceiling as the chat's evidence files and then some


class RefusedError(Exception):
    """A page or action the viewer may not have: said in a sentence, with its HTTP status."""

    def __init__(self, status: int, sentence: str) -> None:
        super().__init__(sentence)
        self.status = status
        self.sentence = sentence


NOT_LOGGED_IN = "请先登录：在聊天中向机器人发送 /web（或“网页”），打开收到的链接。"
NOT_ALLOWED = "您的身份（{role}）不能使用这个页面或操作。"
STALE_FORM = "页面已过期（缺少或不符的安全校验码），什么也没有改动：请刷新页面后重试。"
NOT_FOUND = "没有这个页面。"
TOO_LARGE = "上传的内容超过 {mb} MB，什么也没有改动：请确认文件无误，或拆分成几个文件分别上传。"


@dataclass
class SandboxDesk:
    """What the 沙盒 page needs when the desk runs beside the local sandbox: its server and personas."""

    server: Any  # bot.sandbox.server.SandboxServer; typed loosely so the desk never imports the sandbox
    personas: list[Any]  # bot.sandbox.console's personas, in the order the console lists them


@dataclass
class Desk:
    ctx: BotContext
    settings: WebSettings
    bot: Any = None  # the chat platform's bot (telegram.Bot): evidence files are fetched through it
    sandbox: SandboxDesk | None = None
    key: bytes = b""
    # Per-page state kept between requests (uploads being imported, the day's chart). A value with a
    # ``discard`` method is told when the desk stops: a government document uploaded and never
    # imported must not stay on the disk.
    files: dict[str, Any] = field(default_factory=dict)

    @property
    def timezone(self) -> Any:
        return self.ctx.timezone


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Callable[[Visit], Awaitable[web.StreamResponse]]
    may: str | None  # a permission of bot/commands.py; None: anyone logged in
    public: bool = False  # no session needed


ROUTES: list[Route] = []
DESK_KEY = web.AppKey("desk", Desk)


def page(method: str, path: str, *, may: str | None = None, public: bool = False
         ) -> Callable[[Callable[[Visit], Awaitable[web.StreamResponse]]],
                       Callable[[Visit], Awaitable[web.StreamResponse]]]:
    def register(handler: Callable[[Visit], Awaitable[web.StreamResponse]]
                 ) -> Callable[[Visit], Awaitable[web.StreamResponse]]:
        ROUTES.append(Route(method, path, handler, may, public))
        return handler

    return register


@dataclass
class Visit:
    request: web.Request
    desk: Desk
    viewer: Viewer | None
    form_data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ctx(self) -> BotContext:
        return self.desk.ctx

    @property
    def me(self) -> Viewer:
        """The viewer of a page that needs a session (the frame refused it otherwise)."""
        assert self.viewer is not None
        return self.viewer

    def may(self, permission: str) -> bool:
        return self.viewer is not None and may(self.viewer.role, permission)

    def acting_member(self, session: Session) -> Member:
        """The viewer's member row, read in the action's own transaction: the tasks/ services take the
        member who acts. One unbound since the page was let in is refused."""
        member = session.get(Member, self.me.member_id)
        if member is None or not member.active:
            raise RefusedError(403, "您的绑定已解除，请重新登录。")
        return member

    async def run(self, work: Callable[[Session], T]) -> T:
        return await self.ctx.run(work)

    def form(self, name: str, default: str = "") -> str:
        value = self.form_data.get(name, default)
        return value.strip() if isinstance(value, str) else default

    def query(self, name: str, default: str = "") -> str:
        return self.request.query.get(name, default).strip()

    def render(self, template: str, *, status: int = 200, **values: Any) -> web.Response:
        html = ENVIRONMENT.get_template(template).render(visit=self, viewer=self.viewer, desk=self.desk, **values)
        return web.Response(text=html, status=status, content_type="text/html", charset="utf-8")

    def back_to(self, location: str, notice: str = "", *, anchor: str = "") -> web.Response:
        """After a POST: see the page again (303), with a line saying what was done. The line is signed
        with the desk's key: a link made elsewhere cannot put words of its own on the desk's pages."""
        if notice:
            joiner = "&" if "?" in location else "?"
            signature = _notice_signature(self.desk.key, notice)
            location = f"{location}{joiner}{urlencode({'notice': notice, 'n': signature})}"
        raise web.HTTPSeeOther(f"{location}#{anchor}" if anchor else location)

    @property
    def notice(self) -> str:
        """The line a redirect of ours asked this page to show; nothing for one we did not sign."""
        notice = self.request.query.get("notice", "")
        signed = hmac.compare_digest(self.request.query.get("n", ""), _notice_signature(self.desk.key, notice))
        return notice if notice and signed else ""


def _notice_signature(key: bytes, notice: str) -> str:
    return hmac.new(key, b"notice:" + notice.encode(), hashlib.sha256).hexdigest()[:24]


ENVIRONMENT = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                                 autoescape=True, undefined=jinja2.StrictUndefined,
                                 trim_blocks=True, lstrip_blocks=True)


WHOLE_NUMBER = re.compile(r"[0-9]{1,9}")


def whole_number(text: str) -> int | None:
    """A number carried in an address or a form: ASCII digits only (``str.isdigit`` also takes "²" and
    "٣", which ``int`` then refuses), and short enough for every id column on both databases."""
    return int(text) if WHOLE_NUMBER.fullmatch(text) else None


def _can(viewer: Viewer | None, permission: str) -> bool:
    return viewer is not None and may(viewer.role, permission)


ENVIRONMENT.globals["can"] = _can


# --- the request's path through the frame ---------------------------------------------------------


def make_app(desk: Desk) -> web.Application:
    import bot.web.pages  # noqa: F401  (each page module registers its routes when imported)

    app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
    app[DESK_KEY] = desk
    for route in ROUTES:
        app.router.add_route(route.method, route.path, _guarded(desk, route))
    app.router.add_get("/static/{name}", _static)
    app.on_response_prepare.append(_security_headers)
    return app


# Pages load only their own styles, scripts and pictures; nothing frames them; a login link in the
# address bar is never sent on to another site as a Referer ("same-origin", not "no-referrer": under
# the latter the browser sends "Origin: null" with the desk's own forms, and the login form checks it).
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                                "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


async def _security_headers(_request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.content_type == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")  # a page shows one person's view


def _guarded(desk: Desk, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        # Each request is a task of its own: what it changes is audited as done through the web, and
        # the database work it hands to a thread takes the task's context along.
        DOOR.set("web")
        visit = Visit(request, desk, None)
        try:
            visit.viewer = await _viewer(desk, request)
            if not route.public:
                if visit.viewer is None:
                    raise RefusedError(401, NOT_LOGGED_IN)
                if route.may is not None and not may(visit.viewer.role, route.may):
                    raise RefusedError(403, NOT_ALLOWED.format(role=visit.viewer.role_name))
            if request.method == "POST":
                visit.form_data = await request.post()
                if not route.public and not csrf_matches(visit.me, visit.form(CSRF_FIELD)):
                    raise RefusedError(403, STALE_FORM)
            return await route.handler(visit)
        except web.HTTPRequestEntityTooLarge:  # aiohttp's own answer would be one English line
            return visit.render("refused.html", status=413, sentence=TOO_LARGE.format(mb=MAX_UPLOAD_BYTES >> 20))
        except web.HTTPException:
            raise  # redirects, and aiohttp's own answers
        except RefusedError as refused:
            return visit.render("refused.html", status=refused.status, sentence=refused.sentence)
        except ServiceError as error:
            return visit.render("refused.html", status=400, sentence=str(error))
        except Exception:
            log.exception("desk page %s %s failed", request.method, request.path)
            return visit.render("refused.html", status=500,
                                sentence="出错了，什么也没有改动：请稍后重试；仍不行请联系管理员查看日志。")

    handle.__name__ = route.handler.__name__
    return handle


async def _viewer(desk: Desk, request: web.Request) -> Viewer | None:
    secret = secret_in_cookie(desk.key, request.cookies.get(COOKIE_NAME))
    if secret is None:
        return None
    return await desk.ctx.run(lambda session: viewer_of(session, desk.ctx.clock, secret))


async def _static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = HERE / "static" / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise web.HTTPNotFound()
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return web.Response(body=path.read_bytes(), content_type=content_type,
                        headers={"Cache-Control": "max-age=3600"})


def set_session_cookie(response: web.StreamResponse, desk: Desk, value: str, *, secure: bool) -> None:
    response.set_cookie(COOKIE_NAME, value, max_age=desk.settings.session_hours * 3600, httponly=True,
                        samesite="Lax", secure=secure, path="/")


# --- serving ----------------------------------------------------------------------------------------


async def start_desk(desk: Desk, *, any_free_port: bool = False) -> web.AppRunner:
    """Serve the desk on the running event loop (the bot's); the context learns its address.
    ``any_free_port``: if the configured port is taken, take a free one rather than fail."""
    desk.key = await desk.ctx.run(lambda session: signing_key(session, desk.ctx.clock, desk.settings.secret))
    runner = web.AppRunner(make_app(desk), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, desk.settings.listen, desk.settings.port).start()
    except OSError as error:
        if not any_free_port:
            await runner.cleanup()
            where = f"{desk.settings.listen}:{desk.settings.port}"
            raise ServiceError(f"网页版无法在 {where} 上提供服务（{error.strerror}）：端口可能已被占用。"
                               "请在配置文件 [web] 中换一个 port，或用 --web-port 指定，或用 --no-web 不启动网页版。"
                               ) from error
        await web.TCPSite(runner, desk.settings.listen, 0).start()
    port = runner.addresses[0][1]
    desk.ctx.desk_url = (desk.settings.public_url if desk.settings.public_url and port == desk.settings.port
                         else f"http://{desk.settings.listen}:{port}").rstrip("/") + "/"
    log.info("web desk at %s", desk.ctx.desk_url)
    return runner


async def stop_desk(runner: web.AppRunner | None) -> None:
    if runner is None:
        return
    await asyncio.shield(runner.cleanup())
    desk = runner.app[DESK_KEY]
    for kept in list(desk.files.values()):
        discard = getattr(kept, "discard", None)
        if callable(discard):
            discard()
    desk.files.clear()
