"""Settings from ``config.toml`` (see config.example.toml), overridable by environment."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from seed import UNIT_DIRECTORY, seed_path
from tasks.db import DEFAULT_DATABASE_URL

CONFIG_ENV = "TASKBOT_CONFIG"
DATABASE_URL_ENV = "TASKBOT_DATABASE_URL"
TOKEN_ENV = "TASKBOT_TOKEN"
WEBHOOK_SECRET_ENV = "TASKBOT_WEBHOOK_SECRET"
CA_BUNDLE_ENV = "SSL_CERT_FILE"  # where OpenSSL, curl and Python look for one too
# Notifications on the wire at once. A kill -9 can repeat at most this many: each was sent but
# its "sent" not yet written, so it goes out again when its lease runs out. It also caps the
# speed at about that many messages per round trip (README: the delivery bound, with figures).
DEFAULT_IN_FLIGHT = 4


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    unit_directory: Path = field(default_factory=lambda: seed_path(UNIT_DIRECTORY))
    telegram_token: str = ""
    # Empty webhook_url: long polling. Empty webhook_secret: a fresh random one at each start.
    webhook_url: str = ""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str = ""
    # Certificates trusted beside the public roots for the Bot API: a TLS-inspecting gateway's.
    telegram_ca_bundle: str = ""
    policy: dict[str, object] = field(default_factory=dict)  # the [policy] table, read by tasks.clock.policy
    in_flight: int = DEFAULT_IN_FLIGHT  # [delivery] in_flight
    # True when database_url came from a flag, the environment or a config file rather than the default.
    database_configured: bool = False


def load_settings(path: Path | None = None, database_url: str | None = None) -> Settings:
    """``path``, else $TASKBOT_CONFIG, else ./config.toml if present, else defaults."""
    if path is None:
        env_path = os.environ.get(CONFIG_ENV)
        path = Path(env_path) if env_path else Path("config.toml")
        if not env_path and not path.exists():
            path = None
    data: dict[str, object] = {}
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise ConfigError(f"找不到配置文件：{path}") from error
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(f"配置文件 {path} 格式错误（{error}）：请按 config.example.toml 改正后重试。") from error
        except UnicodeDecodeError as error:
            raise ConfigError(f"配置文件 {path} 不是 UTF-8 编码的文本：请用 UTF-8 保存后重试。") from error
        except OSError as error:  # a directory, no permission, a disk error
            raise ConfigError(f"无法读取配置文件 {path}：它不是可读的文件，请检查路径和权限。") from error
    directory = data.get("directory", {})
    directory_file = directory.get("file") if isinstance(directory, dict) else None
    telegram = data.get("telegram", {})
    if not isinstance(telegram, dict):
        telegram = {}
    delivery = data.get("delivery", {})
    if not isinstance(delivery, dict):
        delivery = {}
    configured_url = database_url or os.environ.get(DATABASE_URL_ENV) or data.get("database_url")
    return Settings(
        database_url=str(configured_url or DEFAULT_DATABASE_URL),
        timezone=_timezone(str(data.get("timezone", "Asia/Shanghai")), path),
        unit_directory=Path(directory_file) if directory_file else seed_path(UNIT_DIRECTORY),
        telegram_token=os.environ.get(TOKEN_ENV) or str(telegram.get("token", "")),
        webhook_url=str(telegram.get("webhook_url", "")),
        webhook_listen=str(telegram.get("listen", "127.0.0.1")),
        webhook_port=_port(telegram.get("port", 8443), path),
        webhook_secret=os.environ.get(WEBHOOK_SECRET_ENV) or str(telegram.get("webhook_secret", "")),
        telegram_ca_bundle=_ca_bundle(str(telegram["ca_bundle"]), f"配置文件 {path} 的 [telegram] ca_bundle")
        if telegram.get("ca_bundle") else _ca_bundle(os.environ.get(CA_BUNDLE_ENV, ""), f"环境变量 {CA_BUNDLE_ENV}"),
        database_configured=bool(configured_url),
        policy=dict(data.get("policy", {})) if isinstance(data.get("policy"), dict) else {},
        in_flight=_in_flight(delivery.get("in_flight", DEFAULT_IN_FLIGHT)),
    )


def _timezone(name: str, path: Path | None) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ConfigError(f"配置文件 {path} 中的时区“{name}”不存在：请写成 Asia/Shanghai 这样的时区名。") from error


def _port(value: object, path: Path | None) -> int:
    try:
        port = int(str(value))
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise ConfigError(f"配置文件 {path} 中 [telegram] port 现为“{value}”：请改为 1–65535 的整数。")
    return port


def _ca_bundle(value: str, where: str) -> str:
    """A CA bundle that can be read now, so that a wrong path is said at start, not as a failed
    connection to Telegram."""
    if value and not Path(value).is_file():
        raise ConfigError(f"{where}指定的证书文件“{value}”不存在：请填写网关根证书（PEM 格式）的路径。")
    return value


def _in_flight(value: object) -> int:
    # bool is an int in Python: "in_flight = true" must not read as 1.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100:
        raise ConfigError(f"配置项 [delivery] in_flight 应为 1 到 100 之间的整数，现在是 {value!r}。")
    return value
