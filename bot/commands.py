"""Every command once: its name, Chinese words, who may use it, its menu text, its action.

This table is the authorization matrix: the dispatcher refuses any role not listed, and
``/help`` and the per-role command menus are generated from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from bot import office_actions, unit_actions
from bot.context import Request
from bot.render import Reply
from tasks.models import Role

MEMBER, OFFICE, LEADER, ADMIN = Role.MEMBER, Role.OFFICE, Role.LEADER, Role.ADMIN
READERS = frozenset({OFFICE, LEADER, ADMIN})
SUPERVISORS = frozenset({OFFICE, ADMIN})


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # for the command menu and /help
    roles: frozenset[Role]
    action: Callable[[Request], Reply]
    words: tuple[str, ...] = ()  # plain-text Chinese equivalents

    def allows(self, role: str) -> bool:
        return Role(role) in self.roles


COMMANDS: tuple[Command, ...] = (
    Command("mytasks", "我的任务：本单位未办结的任务", frozenset({MEMBER}), unit_actions.my_tasks, ("我的任务",)),
    Command("task", "任务详情：/task 编号", frozenset({MEMBER}) | READERS, unit_actions.show_task, ("任务",)),
    Command("report", "报进展：/report 编号 [百分比%] 进展", frozenset({MEMBER}), unit_actions.report, ("报进展",)),
    Command("done", "申请办结：/done 编号 说明", frozenset({MEMBER}), unit_actions.done, ("办结",)),
    Command("extend", "申请延期：/extend 编号 新日期 理由", frozenset({MEMBER}), unit_actions.extend, ("申请延期",)),
    Command("overdue", "逾期任务：/overdue [单位|专班|类别]", READERS, office_actions.overdue, ("逾期",)),
    Command("due", "即将到期：/due [天数] [单位|专班|类别]", READERS, office_actions.due, ("即将到期",)),
    Command("unit", "单位任务：/unit 单位名称", READERS, office_actions.unit_info, ("单位",)),
    Command("stats", "完成情况：按单位和工作专班统计", READERS, office_actions.stats, ("统计",)),
    Command("verify", "审核通过：/verify 任务编号 [单位]", SUPERVISORS, office_actions.verify_command, ("审核通过",)),
    Command("sendback", "退回办结：/sendback 任务编号 [单位] 理由", SUPERVISORS, office_actions.send_back_command,
            ("退回",)),
    Command("approve", "同意延期：/approve 申请编号", SUPERVISORS, office_actions.approve_command, ("同意延期",)),
    Command("refuse", "不同意延期：/refuse 申请编号 理由", SUPERVISORS, office_actions.refuse_command,
            ("不同意延期",)),
    Command("urge", "催办：/urge 任务编号或单位 [说明]", SUPERVISORS, office_actions.urge_command, ("催办",)),
    Command("invite", "生成邀请码：/invite 单位 [角色]", SUPERVISORS, office_actions.invite_command, ("邀请",)),
    Command("assign", "增加责任单位：/assign 任务编号 单位 [牵头]", SUPERVISORS, office_actions.assign_command,
            ("增加责任单位",)),
    Command("unassign", "移出责任单位：/unassign 任务编号 单位", SUPERVISORS, office_actions.unassign_command,
            ("移出责任单位",)),
    Command("merge", "合并单位名称：/merge 原名称 并入的单位", SUPERVISORS, office_actions.merge_command,
            ("合并单位",)),
    Command("revoke", "撤销未用的邀请码：/revoke 邀请码", SUPERVISORS, office_actions.revoke_command, ("撤销邀请",)),
    Command("members", "已绑定成员：/members [单位]", SUPERVISORS, office_actions.members_command, ("成员",)),
    Command("unbind", "解除绑定：/unbind 成员编号", SUPERVISORS, office_actions.unbind_command, ("解除绑定",)),
)
BY_NAME = {command.name: command for command in COMMANDS}
BY_WORD = {word: command for command in COMMANDS for word in command.words}
HELP_WORDS = ("帮助", "菜单")


def commands_for(role: str) -> list[Command]:
    return [command for command in COMMANDS if command.allows(role)]


def match_word(text: str) -> tuple[Command, str] | None:
    """"逾期 区商务局" → (overdue, "区商务局"): a Chinese word at the start stands for its command."""
    head, _, rest = text.strip().partition(" ")
    command = BY_WORD.get(head)
    return (command, rest.strip()) if command else None
