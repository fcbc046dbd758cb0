"""Every command once: its name, Chinese words, who may use it, its menu text, its action.

This table is the authorization matrix: the dispatcher refuses any role not listed, and
``/help`` and the per-role command menus are generated from it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot import departments, mobile_actions, office_actions, office_lists, unit_actions
from bot.context import BotContext, Request, Who
from bot.render import Reply
from bot.texts import COMMAND_DESCRIPTIONS
from bot.web.auth import web_command
from tasks.models import Role

MEMBER, OFFICE, LEADER, ADMIN = Role.MEMBER, Role.OFFICE, Role.LEADER, Role.ADMIN
READERS = frozenset({OFFICE, LEADER, ADMIN})
SUPERVISORS = frozenset({OFFICE, ADMIN})


@dataclass(frozen=True)
class Command:
    name: str
    roles: frozenset[Role]
    action: Callable[[Request], Reply]
    words: tuple[str, ...] = ()  # plain-text Chinese equivalents
    # What the action needs from outside the database (a platform's directory), read once the
    # person is allowed and before the action's transaction, and given to the action as ``read``.
    prepare: Callable[[BotContext, Who], Awaitable[Any]] | None = None

    @property
    def description(self) -> str:
        """For the command menu and /help."""
        return COMMAND_DESCRIPTIONS[self.name]

    def allows(self, role: str) -> bool:
        return Role(role) in self.roles


COMMANDS: tuple[Command, ...] = (
    Command("mytasks", frozenset({MEMBER}), unit_actions.my_tasks, ("我的任务",)),
    Command("task", frozenset({MEMBER}) | READERS, unit_actions.show_task, ("任务",)),
    Command("report", frozenset({MEMBER}), unit_actions.report, ("报进展",)),
    Command("done", frozenset({MEMBER}), unit_actions.done, ("办结",)),
    Command("extend", frozenset({MEMBER}), unit_actions.extend, ("申请延期",)),
    Command("milestone", frozenset({MEMBER}), unit_actions.milestone, ("节点", "报节点")),
    Command("overdue", READERS, office_lists.overdue, ("逾期",)),
    Command("due", READERS, office_lists.due, ("即将到期",)),
    Command("unit", READERS, office_lists.unit_info, ("单位",)),
    Command("stats", READERS, office_lists.stats, ("统计",)),
    Command("export", READERS, office_actions.export_command, ("台账", "导出台账")),
    Command("pending", SUPERVISORS, office_lists.pending, ("待审核",)),
    Command("verify", SUPERVISORS, office_actions.verify_command, ("审核通过",)),
    Command("sendback", SUPERVISORS, office_actions.send_back_command,
            ("退回",)),
    Command("approve", SUPERVISORS, office_actions.approve_command, ("同意延期",)),
    Command("refuse", SUPERVISORS, office_actions.refuse_command,
            ("不同意延期",)),
    Command("urge", SUPERVISORS, office_actions.urge_command, ("催办",)),
    Command("invite", SUPERVISORS, office_actions.invite_command, ("邀请",)),
    Command("assign", SUPERVISORS, office_actions.assign_command,
            ("增加责任单位",)),
    Command("unassign", SUPERVISORS, office_actions.unassign_command,
            ("移出责任单位",)),
    Command("merge", SUPERVISORS, office_actions.merge_command,
            ("合并单位",)),
    Command("revoke", SUPERVISORS, office_actions.revoke_command, ("撤销邀请",)),
    Command("members", SUPERVISORS, office_actions.members_command, ("成员",)),
    Command("unbind", SUPERVISORS, office_actions.unbind_command, ("解除绑定",)),
    Command("mobile", frozenset(Role), mobile_actions.mobile_command, ("手机", "手机号")),
    Command("web", frozenset({MEMBER}) | READERS, web_command, ("网页", "网页版")),
    Command("departments", SUPERVISORS, departments.departments_command,  # type: ignore[arg-type]
            ("部门",), prepare=departments.read_departments),
)
BY_NAME = {command.name: command for command in COMMANDS}
BY_WORD = {word: command for command in COMMANDS for word in command.words}
HELP_WORDS = ("帮助", "菜单")


# What the web desk alone does, in the same terms: who may. A desk page that answers a chat
# command's question (台账 is /task's, 总览 is /stats's, verify is /verify's) is allowed by that
# command's roles above; these have no command in chat.
DESK_ONLY: dict[str, frozenset[Role]] = {
    "import": SUPERVISORS,  # 导入: upload the year's document, resolve its problems, confirm
    "outbox": SUPERVISORS,  # 发送状态: what is waiting, sent, and dead, with a retry
}


def may(role: Role | str, permission: str) -> bool:
    """Whether ``role`` may do ``permission``: a chat command's name or one of DESK_ONLY."""
    roles = BY_NAME[permission].roles if permission in BY_NAME else DESK_ONLY[permission]
    return Role(role) in roles


def commands_for(role: str) -> list[Command]:
    return [command for command in COMMANDS if command.allows(role)]


def match_word(text: str) -> tuple[Command, str] | None:
    """"逾期 区商务局" → (overdue, "区商务局"): a Chinese word at the start stands for its command."""
    head, _, rest = text.strip().partition(" ")
    command = BY_WORD.get(head)
    return (command, rest.strip()) if command else None
