"""The web desk's fixtures: the bot with its desk, and one Chromium per test process."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from selenium.webdriver.remote.webdriver import WebDriver

from tasks.clock import FixedClock
from tests.desk import DESK, chromium
from tests.harness import BotHarness


@pytest.fixture(scope="session")
def _chromium() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver


@pytest.fixture
def browser(_chromium: WebDriver) -> WebDriver:
    """The process's Chromium, with no cookies from an earlier test (every desk is on 127.0.0.1)."""
    _chromium.delete_all_cookies()
    _chromium.execute_cdp_cmd("Network.clearBrowserCookies", {})
    return _chromium


@pytest.fixture
def desk_bot(database_url: str) -> Iterator[BotHarness]:
    """The bot on the seed plan at 09:00 Beijing on 2021-09-01, with its web desk on a free port."""
    harness = BotHarness(database_url, FixedClock(datetime(2021, 9, 1, 1, 0, tzinfo=UTC)), desk=DESK)
    yield harness
    harness.stop()
    assert harness.server.state.rejected == []
