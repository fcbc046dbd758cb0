"""Task text with <script>, & and quotes is shown as text on every page of the desk."""

from __future__ import annotations

import re

from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.remote.webdriver import WebDriver
from sqlmodel import select

from bot.web.desk import ROUTES, make_app  # noqa: F401  (make_app's import registers every page)
from tasks.db import transaction
from tasks.models import Role, Task
from tests.desk import call, log_in, page_text, session_for
from tests.factories import COMMERCE, EXHIBITION
from tests.harness import BotHarness

HOSTILE = """<script>alert("x")</script> & 'quoted' "双引号" <img src=x onerror=alert(1)>"""
PARAMETER = re.compile(r"\{(\w+)(?::[^}]*)?\}")


def test_hostile_text_is_escaped_on_every_page(desk_bot: BotHarness, browser: WebDriver) -> None:
    office = desk_bot.join(311, "督办办老李", Role.OFFICE)
    member = desk_bot.join(211, "商务局小王", Role.MEMBER, COMMERCE)
    task_id = desk_bot.task_id(EXHIBITION)
    with transaction(desk_bot.engine) as session:
        task = session.exec(select(Task).where(Task.id == task_id)).one()
        task.text = HOSTILE
    desk_bot.say(member, f"/done {task_id} {HOSTILE}")  # a report waiting for the office, in its words
    cookie, _csrf = session_for(desk_bot, office.id)
    base = desk_bot.ctx.desk_url.rstrip("/")
    pages = [route.path.replace("{task_id}", str(task_id)) for route in ROUTES
             if route.method == "GET" and not route.public and PARAMETER.sub("", route.path.replace("{task_id}", "")) ==
             route.path.replace("{task_id}", "")]
    assert f"/task/{task_id}" in pages and "/pending" in pages
    for path in pages:
        answer = call(base + path, "GET", cookie)
        assert answer.status == 200, path
        assert "<script>alert" not in answer.body and "<img src=x" not in answer.body, path

    log_in(desk_bot, office, browser)
    for path in (f"/task/{task_id}", "/pending"):
        browser.get(base + path)
        assert HOSTILE[:40] in page_text(browser), path  # as typed, not as markup
        try:  # the page's own text ran no script
            browser.switch_to.alert.dismiss()
            raise AssertionError(f"a script in the text ran on {path}")
        except NoAlertPresentException:
            pass
