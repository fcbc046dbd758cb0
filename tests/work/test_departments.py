"""The office's mapping of a directory's departments to units, and binding by it, with a plain session:
a person is bound once however often they are asked about, and never against the office's word; a
department follows the nearest mapping on its chain up to the top."""

import pytest
from sqlmodel import Session, col, select

from tasks.clock import FixedClock
from tasks.errors import ServiceError
from tasks.events import Actor
from tasks.models import DepartmentUnit, Event, Member, Role
from tasks.plan.directory import merge_unit
from tasks.work.departments import bind_by_department, following, map_department, mappings, unmap_department
from tasks.work.lookup import find_unit
from tasks.work.members import unbind
from tests.factories import COMMERCE

OFFICE = Actor("督办办老李", "chat")


def join(session: Session, clock: FixedClock, user_id: str, *departments: str | tuple[str, ...]):
    """Bind by these departments: each a department alone, or its chain (itself, then those above it)."""
    chains = [(d,) if isinstance(d, str) else d for d in departments]
    return bind_by_department(session, clock, channel="feishu", user_id=user_id, address=f"user:{user_id}",
                              name="赵干事", mobile="+86 138 0000 1003", chains=chains)


def test_a_person_is_bound_once_with_the_directory_mobile_and_not_again_after_the_office_unbinds(
        session: Session, clock: FixedClock) -> None:
    map_department(session, clock, OFFICE, "feishu", "od-commerce", "区商务局", COMMERCE)
    joined = join(session, clock, "ou_zhao", "od-commerce", "od-unmapped")
    assert joined.unit is not None and joined.unit.name == COMMERCE
    assert joined.member is not None and joined.member.mobile == "13800001003"
    assert join(session, clock, "ou_zhao", "od-commerce").standing == "bound"  # asked again: nobody bound twice
    assert len(session.exec(select(Member).where(Member.user_id == "ou_zhao")).all()) == 1

    unbind(session, clock, OFFICE, Role.OFFICE, joined.member.id)  # type: ignore[arg-type]
    again = join(session, clock, "ou_zhao", "od-commerce")
    assert again.member is None and again.standing == "unbound_by_office"
    assert not session.exec(select(Member).where(Member.user_id == "ou_zhao")).one().active


def test_departments_of_several_units_or_none_bind_nobody(session: Session, clock: FixedClock) -> None:
    map_department(session, clock, OFFICE, "feishu", "od-commerce", "区商务局", COMMERCE)
    map_department(session, clock, OFFICE, "feishu", "od-finance", "区财政局", "区财政局")
    assert sorted(join(session, clock, "ou_both", "od-commerce", "od-finance").units) == ["区商务局", "区财政局"]
    assert join(session, clock, "ou_none", "od-elsewhere").member is None
    assert session.exec(select(Member).where(Member.channel == "feishu")).all() == []


def test_a_unit_group_is_refused_and_a_remap_is_recorded_with_what_it_was(session: Session,
                                                                           clock: FixedClock) -> None:
    with pytest.raises(ServiceError, match="单位组"):
        map_department(session, clock, OFFICE, "dingtalk", "102", "区商务局", "各镇街")
    map_department(session, clock, OFFICE, "dingtalk", "102", "区商务局", COMMERCE)
    remapped = map_department(session, clock, OFFICE, "dingtalk", "102", "区商务局", "区财政局")
    assert (remapped.unit.name, remapped.before) == ("区财政局", COMMERCE)
    assert unmap_department(session, clock, OFFICE, "dingtalk", "102", "区商务局") == "区财政局"
    actions = [e.action for e in session.exec(select(Event).where(col(Event.action).startswith("department.")))]
    assert actions == ["department.mapped", "department.mapped", "department.unmapped"]


# 区财政局 and its 预算科 under 区政府部门; 区商务局 and its 外贸科 beside them.
BUDGET = ("od-budget", "od-finance", "od-government")
TRADE = ("od-trade", "od-commerce", "od-government")


def test_a_department_follows_the_nearest_mapping_above_it(session: Session, clock: FixedClock) -> None:
    map_department(session, clock, OFFICE, "feishu", "od-finance", "区财政局", "区财政局")
    joined = join(session, clock, "ou_li", BUDGET)
    assert joined.unit is not None and joined.unit.name == "区财政局"
    [bound] = session.exec(select(Event).where(Event.action == "member.bound")).all()
    assert (bound.detail["departments"], bound.detail["department_names"]) == (["od-finance"], ["区财政局"])

    # A mapped 科室 overrides its 局, and a mapping above both is the nearer one's fallback only.
    map_department(session, clock, OFFICE, "feishu", "od-government", "区政府部门", "区农业农村局")
    map_department(session, clock, OFFICE, "feishu", "od-budget", "预算科", COMMERCE)
    assert join(session, clock, "ou_qian", BUDGET).unit.name == COMMERCE  # type: ignore[union-attr]
    assert join(session, clock, "ou_sun", TRADE).unit.name == "区农业农村局"  # type: ignore[union-attr]


def test_departments_under_two_differently_mapped_bureaus_bind_nobody(session: Session, clock: FixedClock) -> None:
    map_department(session, clock, OFFICE, "feishu", "od-finance", "区财政局", "区财政局")
    map_department(session, clock, OFFICE, "feishu", "od-commerce", "区商务局", COMMERCE)
    assert sorted(join(session, clock, "ou_two", BUDGET, TRADE).units) == [COMMERCE, "区财政局"]
    # Two 科室 under one mapped 局 are one unit.
    assert join(session, clock, "ou_one", BUDGET, ("od-audit", "od-finance", "od-government")).unit is not None
    assert [m.user_id for m in session.exec(select(Member))] == ["ou_one"]


def test_the_listing_shows_whom_an_unmapped_department_follows(session: Session, clock: FixedClock) -> None:
    map_department(session, clock, OFFICE, "feishu", "od-finance", "区财政局", "区财政局")
    map_department(session, clock, OFFICE, "feishu", "od-budget", "预算科", COMMERCE)
    tree = [("od-government", ""), ("od-finance", "od-government"), ("od-budget", "od-finance"),
            ("od-audit", "od-finance"), ("od-desk", "od-audit"), ("od-desk2", "od-budget"), ("od-commerce", "")]
    followed = {d: m.department_name for d, m in following(tree, mappings(session, "feishu")).items()}
    assert followed == {"od-audit": "区财政局", "od-desk": "区财政局", "od-desk2": "预算科"}


def test_a_merge_takes_the_units_departments_along(session: Session, clock: FixedClock) -> None:
    """/merge moves a unit's duties, people and codes; its mapped departments go too, so the next
    newcomer of the department is bound where the duties went, not to the merged-away name."""
    map_department(session, clock, OFFICE, "feishu", "od-commerce", "区商务局", COMMERCE)
    source, target = find_unit(session, COMMERCE), find_unit(session, "区财政局")
    merge_unit(session, clock, OFFICE, source, target)

    assert mappings(session, "feishu")["od-commerce"].unit_name == "区财政局"
    assert session.get(DepartmentUnit, ("feishu", "od-commerce")).unit_id == target.id  # type: ignore[union-attr]
    [moved] = session.exec(select(Event).where(Event.action == "department.mapped", Event.entity_id == target.id)).all()
    assert (moved.detail["department_id"], moved.detail["before"], moved.actor) == ("od-commerce", COMMERCE, OFFICE.name)
    joined = join(session, clock, "ou_new", "od-commerce")
    assert joined.unit is not None and joined.unit.id == target.id

    # The merged-away unit cannot be mapped again (a partial name may still find it): one sentence, no change.
    with pytest.raises(ServiceError, match=f"“{COMMERCE}”已合并到区财政局"):
        map_department(session, clock, OFFICE, "feishu", "od-trade", "外贸科", "商务局")
    assert session.get(DepartmentUnit, ("feishu", "od-trade")) is None


def test_a_mapping_left_on_a_merged_unit_binds_to_the_unit_it_went_into(session: Session, clock: FixedClock) -> None:
    """A database where a unit was merged before merges moved mappings: its row still names the
    merged-away unit, and binding and the listing follow the merge."""
    source, target = find_unit(session, COMMERCE), find_unit(session, "区财政局")
    merge_unit(session, clock, OFFICE, source, target)
    session.add(DepartmentUnit(channel="feishu", department_id="od-commerce", department_name="区商务局",
                               unit_id=source.id, mapped_by=OFFICE.name, mapped_at=clock.now()))  # type: ignore[arg-type]
    assert mappings(session, "feishu")["od-commerce"].unit_name == "区财政局"
    joined = join(session, clock, "ou_late", "od-commerce")
    assert joined.unit is not None and joined.unit.id == target.id


@pytest.mark.parametrize("role", [Role.OFFICE, Role.LEADER, Role.ADMIN])
def test_an_office_side_person_is_not_bound_as_a_member_by_their_number(session: Session, clock: FixedClock,
                                                                         role: Role) -> None:
    """The directory's number is that of someone bound on another platform as office, leader or
    administrator: they are told to bind by code, and nothing is recorded; a unit member's number, or
    one of a person the office unbound, does not stop the binding."""
    map_department(session, clock, OFFICE, "feishu", "od-commerce", "区商务局", COMMERCE)
    session.add(Member(channel="telegram", user_id="741", address="741", name="督办办老李", role=role,
                       created_at=clock.now(), mobile="13800001003"))
    session.flush()
    before = len(session.exec(select(Event)).all())
    joined = join(session, clock, "ou_li", "od-commerce")
    assert joined.member is None and joined.elsewhere is not None
    assert (joined.elsewhere.channel, joined.elsewhere.role) == ("telegram", role)
    assert session.exec(select(Member).where(Member.user_id == "ou_li")).all() == []
    assert len(session.exec(select(Event)).all()) == before

    elsewhere = session.exec(select(Member).where(Member.user_id == "741")).one()
    elsewhere.role, elsewhere.unit_id = Role.MEMBER, find_unit(session, COMMERCE).id
    assert join(session, clock, "ou_li", "od-commerce").member is not None
    elsewhere.role, elsewhere.unit_id, elsewhere.active = role, None, False
    assert join(session, clock, "ou_li2", "od-commerce").member is not None
