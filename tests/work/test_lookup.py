"""Finding a unit by the name the office types."""

import pytest
from sqlmodel import Session

from tasks.errors import ServiceError
from tasks.models import Unit
from tasks.work.lookup import find_unit


def add_units(session: Session, clock, *names: str) -> None:
    session.add_all(Unit(name=name, kind="department", created_at=clock.now()) for name in names)
    session.flush()


def test_a_name_written_in_full_is_that_unit_even_where_it_begins_others(session: Session, clock) -> None:
    add_units(session, clock, "第1工作组", "第1工作组联络处", "第1工作组办公室")
    assert find_unit(session, "第1工作组").name == "第1工作组"
    assert find_unit(session, "联络处").name == "第1工作组联络处"  # a part of one name still finds it
    with pytest.raises(ServiceError, match="您是不是要找"):
        find_unit(session, "第1工")  # a part of several names is asked about
