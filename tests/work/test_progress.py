"""The order leadership reads units and teams in."""

from tasks.work.progress import Tally, worst_first


def test_a_team_with_no_duties_is_never_among_the_worst() -> None:
    empty, finished, behind = Tally("宣传专班"), Tally("产业专班", total=4, done=4), Tally("就业专班", total=4, done=1)
    assert [t.name for t in worst_first([empty, finished, behind])] == ["就业专班", "产业专班", "宣传专班"]
    late = Tally("医疗专班", total=5, done=4, overdue=1)
    assert worst_first([behind, late])[0] is late  # overdue before a low rate
