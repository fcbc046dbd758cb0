"""The local doubles a test of a running process talks to, each on a loop of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.sandbox.dingtalk_double import DingTalkDouble
from bot.sandbox.robot_double import RobotDouble


@pytest.fixture
def dingtalk() -> Iterator[DingTalkDouble]:
    double = DingTalkDouble().start_in_thread()
    yield double
    double.stop()


@pytest.fixture
def robots() -> Iterator[RobotDouble]:
    double = RobotDouble().start_in_thread()
    yield double
    double.stop_thread()
