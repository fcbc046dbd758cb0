"""Writing audit events. Every state change goes through ``record`` in the same transaction."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlmodel import Session

from tasks.clock import Clock, db_time
from tasks.models import Event


def _encode(value: Any) -> str:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"not storable in an event: {type(value).__name__}")


# One encoder for the process: json.dumps with any non-default option builds a new one per call.
_ENCODER = json.JSONEncoder(default=_encode)


def dumps(value: Any) -> str:
    """The engines' JSON serializer: dates and Decimals are stored as text."""
    return _ENCODER.encode(value)


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from a JSON column: dates and Decimals as text, tuples as lists,
    keys as text. A round trip through the C encoder and decoder."""
    return json.loads(dumps(value))


@dataclass(frozen=True)
class Actor:
    """Who is changing things, and through which door (cli, import, chat, scheduler)."""

    name: str
    source: str


def event_row(at: datetime, actor: Actor, action: str, entity: str, entity_id: int | None,
              detail: dict[str, Any]) -> dict[str, Any]:
    """The columns of one audit event, for a bulk insert: the engine's serializer (``dumps``) stores
    ``detail`` as it stands, so it is not converted twice."""
    return {"at": at, "actor": actor.name, "source": actor.source, "action": action, "entity": entity,
            "entity_id": entity_id, "detail": detail}


def record(session: Session, clock: Clock, actor: Actor, action: str, entity: str,
           entity_id: int | None, **detail: Any) -> Event:
    # The object in the session holds what the column will read back, not the caller's dates.
    event = Event(**event_row(db_time(clock), actor, action, entity, entity_id, jsonable(detail)))
    session.add(event)
    return event
