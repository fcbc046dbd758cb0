"""Bundled data: the 2021 门头沟区 document and its unit directory."""

from importlib.resources import files
from pathlib import Path

MENTOUGOU_2021 = "mentougou_2021.txt"
UNIT_DIRECTORY = "units.toml"


def seed_path(name: str) -> Path:
    return Path(str(files(__name__).joinpath(name)))
