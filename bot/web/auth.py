"""Who may enter the web desk: single-use login links asked for in chat, signed session cookies, CSRF tokens.

Nobody has a password. A bound person types /web (网页) in a private chat and gets a link valid for
``LOGIN_MINUTES``; opening it and pressing 进入 starts a session. Only hashes of the link's and the
session's secrets are stored, so a copy of the database lets nobody in. The cookie carries the
session's secret with an HMAC of it: a forged or altered cookie is refused before the database is
asked. A session ends when it expires, when its person logs out, and at once when the office unbinds
the person (the member is no longer active).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot import texts
from bot.context import Request
from bot.render import Reply, say
from tasks.clock import Clock, db_time
from tasks.errors import ServiceError
from tasks.events import record
from tasks.models import Member, Role, WebKey, WebLogin, WebSession
from tasks.work.duties import actor_of
from tasks.work.members import ROLE_NAMES, unit_of

LOGIN_MINUTES = 10
COOKIE_NAME = "taskbot_desk"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- the link, from chat ---------------------------------------------------------------------


def create_login(session: Session, clock: Clock, member: Member) -> str:
    """A new single-use login secret for ``member``; the link is the desk's address + login/ + it."""
    token = secrets.token_urlsafe(32)
    now = db_time(clock)
    session.add(WebLogin(token_hash=_hash(token), member_id=member.id, created_at=now,
                         expires_at=now + timedelta(minutes=LOGIN_MINUTES)))
    record(session, clock, actor_of(member), "desk.link", "member", member.id, minutes=LOGIN_MINUTES)
    return token


def web_command(req: Request) -> Reply:
    """/web (网页): a login link into the desk, in a private chat only: a link said in a group could be
    opened by anyone there, as this person."""
    if not req.ctx.desk_url:
        raise ServiceError(texts.DESK_OFF)
    if req.who.is_group:
        raise ServiceError(texts.DESK_LINK_PRIVATE_ONLY)
    token = create_login(req.session, req.clock, req.member)
    return say(texts.desk_link(f"{req.ctx.desk_url}login/{token}", LOGIN_MINUTES))


# --- the link, opened ------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """The person behind a browser session, as every page and action checks them."""

    member_id: int
    name: str
    role: Role
    unit_id: int | None
    unit_name: str | None
    csrf: str

    @property
    def role_name(self) -> str:
        return ROLE_NAMES[self.role]

    @property
    def title(self) -> str:
        return f"{self.unit_name}·{self.name}" if self.unit_name else f"{self.role_name}·{self.name}"


def login_holder(session: Session, clock: Clock, token: str) -> Member:
    """Whose link this is, if it can still be used (it is not consumed by looking)."""
    login = session.get(WebLogin, _hash(token))
    if login is None or login.used_at is not None or login.expires_at <= db_time(clock):
        raise ServiceError(texts.DESK_LINK_SPENT)
    member = session.get(Member, login.member_id)
    if member is None or not member.active:
        raise ServiceError(texts.DESK_LINK_SPENT)
    return member


def redeem_login(session: Session, clock: Clock, token: str, hours: int) -> str:
    """Use the link once: a new session's secret (for the cookie). A link used, expired or of a person
    since unbound is refused in one sentence."""
    member = login_holder(session, clock, token)
    now = db_time(clock)
    # Marked used only if nobody did meanwhile: two presses of 进入 at once (or a copied link) make one
    # session, however the database orders concurrent transactions.
    taken = session.execute(update(WebLogin).where(col(WebLogin.token_hash) == _hash(token),
                                                   col(WebLogin.used_at).is_(None), col(WebLogin.expires_at) > now)
                            .values(used_at=now).execution_options(synchronize_session=False))
    if taken.rowcount != 1:
        raise ServiceError(texts.DESK_LINK_SPENT)
    secret = secrets.token_urlsafe(32)
    session.add(WebSession(token_hash=_hash(secret), member_id=member.id, csrf=secrets.token_urlsafe(24),
                           created_at=now, expires_at=now + timedelta(hours=hours)))
    record(session, clock, actor_of(member), "desk.login", "member", member.id, hours=hours)
    return secret


def viewer_of(session: Session, clock: Clock, secret: str) -> Viewer | None:
    """The session's person, or None when the session ended, expired or its person was unbound."""
    row = session.get(WebSession, _hash(secret))
    if row is None or row.ended_at is not None or row.expires_at <= db_time(clock):
        return None
    member = session.get(Member, row.member_id)
    if member is None or not member.active:
        return None
    unit = unit_of(session, member)
    return Viewer(member.id, member.name, Role(member.role), member.unit_id, unit.name if unit else None, row.csrf)


def end_session(session: Session, clock: Clock, secret: str) -> None:
    row = session.get(WebSession, _hash(secret))
    if row is None or row.ended_at is not None:
        return
    row.ended_at = db_time(clock)
    member = session.get(Member, row.member_id)
    if member is not None:
        record(session, clock, actor_of(member), "desk.logout", "member", member.id)


# --- the cookie --------------------------------------------------------------------------------


def signing_key(session: Session, clock: Clock, configured: str) -> bytes:
    """The configured secret, else the database's own key (made by the first process that needs it)."""
    if configured:
        return configured.encode()
    row = session.get(WebKey, 1)
    if row is None:
        try:
            with session.begin_nested():
                session.add(WebKey(id=1, secret=secrets.token_urlsafe(48), created_at=db_time(clock)))
        except IntegrityError:  # another process made it first: use theirs
            pass
        row = session.exec(select(WebKey).where(WebKey.id == 1)).one()
    return row.secret.encode()


def _signature(key: bytes, secret: str) -> str:
    digest = hmac.new(key, secret.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def cookie_value(key: bytes, secret: str) -> str:
    return f"{secret}.{_signature(key, secret)}"


def secret_in_cookie(key: bytes, value: str | None) -> str | None:
    """The session secret a cookie carries, if its signature is ours."""
    if not value:
        return None
    secret, _, signature = value.rpartition(".")
    if not secret or not hmac.compare_digest(signature, _signature(key, secret)):
        return None
    return secret


def csrf_matches(viewer: Viewer, sent: str | None) -> bool:
    return bool(sent) and hmac.compare_digest(viewer.csrf, sent or "")
