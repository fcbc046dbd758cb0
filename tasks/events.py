"""Writing audit events. Every state change goes through ``record`` in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from tasks.clock import Clock, db_time
from tasks.models import Event


def jsonable(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


@dataclass(frozen=True)
class Actor:
    """Who is changing things, and through which door (cli, import, chat, scheduler)."""

    name: str
    source: str


def event_row(at: datetime, actor: Actor, action: str, entity: str, entity_id: int | None,
              detail: dict[str, Any]) -> dict[str, Any]:
    """The columns of one audit event; ``record`` adds it to a session, the import store batches them."""
    return {"at": at, "actor": actor.name, "source": actor.source, "action": action, "entity": entity,
            "entity_id": entity_id, "detail": jsonable(detail)}


def record(session: Session, clock: Clock, actor: Actor, action: str, entity: str,
           entity_id: int | None, **detail: Any) -> Event:
    event = Event(**event_row(db_time(clock), actor, action, entity, entity_id, detail))
    session.add(event)
    return event
