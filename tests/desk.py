"""The web desk under test: the bot with its desk on a free port, and Debian's Chromium driving it.

Chromium and chromedriver are Debian's (scripts/bootstrap installs them); Selenium is given the
driver's path, so nothing is downloaded. Screenshots go to screenshots/ (or $TASKBOT_SCREENSHOTS), at a
desktop's and a phone's width, to be looked at.
"""

from __future__ import annotations

import os
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait
from sqlmodel import select

from bot.app import DeskPlan
from bot.config import WebSettings
from bot.sandbox.server import Person
from bot.web.auth import COOKIE_NAME, cookie_value, create_login, redeem_login, signing_key, viewer_of
from tasks.db import transaction
from tasks.models import Member
from tests.harness import BotHarness

DESK = DeskPlan(WebSettings(port=0))
LINK = re.compile(r"(https?://\S+/login/\S+)")
SCREENSHOTS = Path(os.environ.get("TASKBOT_SCREENSHOTS", Path(__file__).resolve().parent.parent / "screenshots"))
DESKTOP = (1280, 900)
PHONE = (390, 844)


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError(f"{names[0]} is not installed: run scripts/bootstrap (Debian's chromium and chromium-driver)")


@contextmanager
def chromium() -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium", "chromium-browser")
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--lang=zh-CN", f"--window-size={DESKTOP[0]},{DESKTOP[1]}", "--no-first-run",
                     "--disable-extensions", "--disable-background-networking"):
        options.add_argument(argument)
    options.add_experimental_option("prefs", {"download.default_directory": str(SCREENSHOTS / "downloads"),
                                              "download.prompt_for_download": False})
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not look for a driver online
    driver = webdriver.Chrome(options=options, service=Service(executable_path=_binary("chromedriver")))
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def chat_link(bot: BotHarness, person: Person) -> str:
    """The login link the bot sends the person for /web."""
    reply = bot.say(person, "/web")
    found = LINK.search(reply["text"])
    assert found, reply["text"]
    return found.group(1)


def log_in(bot: BotHarness, person: Person, browser: WebDriver) -> None:
    """As a person does: /web in chat, open the link, press 进入."""
    browser.get(chat_link(bot, person))
    press(browser, "进入")
    wait_for_text(browser, person_title_part(person))


def person_title_part(person: Person) -> str:
    return person.first_name


def press(browser: WebDriver, label: str) -> None:
    """Click the button (or link styled as one) whose text is ``label``."""
    xpath = f"//button[normalize-space()='{label}'] | //a[normalize-space()='{label}'] | //input[@type='submit' and @value='{label}']"
    WebDriverWait(browser, 10).until(expected_conditions.element_to_be_clickable((By.XPATH, xpath))).click()


def wait_for_text(browser: WebDriver, text: str, timeout: float = 10) -> None:
    """Until the page says ``text``. A page being replaced by the next one is looked at again: its body
    may be gone (stale, or "does not belong to the document" from Chromium's inspector) meanwhile."""
    WebDriverWait(browser, timeout, ignored_exceptions=(WebDriverException,)
                  ).until(lambda driver: text in driver.find_element(By.TAG_NAME, "body").text)


def page_text(browser: WebDriver) -> str:
    return browser.find_element(By.TAG_NAME, "body").text


def screenshot(browser: WebDriver, name: str) -> list[Path]:
    """The page as it stands, at a desktop's width and at a phone's, whole (not only the window)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    written = []
    for label, (width, height) in (("desktop", DESKTOP), ("phone", PHONE)):
        browser.set_window_size(width, height)
        full = browser.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
        browser.set_window_size(width, min(max(height, full + 140), 6000))
        path = SCREENSHOTS / f"{name}-{label}.png"
        browser.save_screenshot(str(path))
        written.append(path)
    browser.set_window_size(*DESKTOP)
    return written


# --- the desk without a browser: plain HTTP with a session's cookie ---------------------------


@dataclass
class Answer:
    status: int
    data: bytes
    headers: dict[str, str]

    @property
    def body(self) -> str:
        return self.data.decode("utf-8", "replace")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a 303 is an answer in itself here
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def call(url: str, method: str, cookie: str | None, form: dict[str, str] | None = None, *,
         headers: dict[str, str] | None = None) -> Answer:
    """One request as a browser makes it, with ``cookie`` as the desk's session; a redirect is
    answered, not followed."""
    data = urllib.parse.urlencode(form or {}).encode() if method == "POST" else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if cookie:
        request.add_header("Cookie", f"{COOKIE_NAME}={cookie}")
    try:
        with OPENER.open(request, timeout=60) as response:
            return Answer(response.status, response.read(), dict(response.headers))
    except urllib.error.HTTPError as error:
        return Answer(error.code, error.read(), dict(error.headers))


def browser_session(browser: WebDriver) -> str:
    """The session cookie's value the browser holds, to ask the desk as that browser."""
    cookie = browser.get_cookie(COOKIE_NAME)
    assert cookie is not None
    return cookie["value"]


def session_for(bot: BotHarness, user_id: int) -> tuple[str, str]:
    """A session made as the link from chat makes one: its cookie and its CSRF token."""
    with transaction(bot.engine) as session:
        member = session.exec(select(Member).where(Member.user_id == user_id)).one()
        secret = redeem_login(session, bot.clock, create_login(session, bot.clock, member), hours=12)
        key = signing_key(session, bot.clock, "")
    with transaction(bot.engine) as session:
        viewer = viewer_of(session, bot.clock, secret)
        assert viewer is not None
        return cookie_value(key, secret), viewer.csrf
