"""Settings: ``config.toml`` (see config.example.toml) as one declared model, overridable by environment.

Every table of the file is a nested model with its defaults written here once (``[policy]`` is
tasks.clock.policy's ``PolicyRules``). A key the model does not declare is refused by name, so a
misspelt ``remind_dayz`` is said at start rather than silently left at its default. Each field's
``description`` says, in Chinese, what its value must look like: a wrong value is quoted with it.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from seed import UNIT_DIRECTORY, seed_path
from tasks.clock import DEFAULT_TIMEZONE
from tasks.clock.policy import Policy, PolicyRules

CONFIG_ENV = "TASKBOT_CONFIG"
DATABASE_URL_ENV = "TASKBOT_DATABASE_URL"
TOKEN_ENV = "TASKBOT_TOKEN"
WEBHOOK_SECRET_ENV = "TASKBOT_WEBHOOK_SECRET"
WEB_SECRET_ENV = "TASKBOT_WEB_SECRET"
# Each domestic platform's app credentials from the environment: (id, secret).
CHANNEL_ENV = {"dingtalk": ("TASKBOT_DINGTALK_CLIENT_ID", "TASKBOT_DINGTALK_CLIENT_SECRET"),
               "wecom": ("TASKBOT_WECOM_BOT_ID", "TASKBOT_WECOM_BOT_SECRET"),
               "feishu": ("TASKBOT_FEISHU_APP_ID", "TASKBOT_FEISHU_APP_SECRET")}
CA_BUNDLE_ENV = "SSL_CERT_FILE"  # where OpenSSL, curl and Python look for one too
DEFAULT_DATABASE_URL = "sqlite:///taskbot.db"
# Notifications on the wire at once. A kill -9 can repeat at most this many: each was sent but
# its "sent" not yet written, so it goes out again when its lease runs out. It also caps the
# speed at about that many messages per round trip (README: the delivery bound, with figures).
DEFAULT_IN_FLIGHT = 4
TABLE = "一个表（如 [telegram]，下面逐行写 键 = 值）"
DATABASE_SCHEMES = ("sqlite", "postgresql", "postgres", "postgresql+psycopg")
# A refusal does not repeat what was written for these.
SECRET_KEYS = ("token", "webhook_secret", "secret", "app_secret")


class ConfigError(ValueError):
    pass


class _Table(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DirectorySettings(_Table):
    # Empty: the bundled seed/units.toml. Another district copies that file and edits it.
    file: str = Field("", description="单位名录文件的路径（留空则用内置名录）")

    @property
    def path(self) -> Path:
        return Path(self.file) if self.file else seed_path(UNIT_DIRECTORY)


class TelegramSettings(_Table):
    token: str = Field("", description="BotFather 给出的令牌")
    # Empty webhook_url: long polling. Empty webhook_secret: a fresh random one at each start.
    webhook_url: str = Field("", description="HTTPS 地址")
    listen: str = Field("127.0.0.1", description="本机地址，如 127.0.0.1")
    port: int = Field(8443, ge=1, le=65535, description="1–65535 的整数")
    # Telegram's rule for the secret it echoes in every webhook request.
    webhook_secret: str = Field("", pattern=r"^[A-Za-z0-9_-]{0,256}$",
                                description="字母、数字、_ 和 - 组成、不超过256个字符的字符串")
    # Certificates trusted beside the public roots for the Bot API: a TLS-inspecting gateway's.
    ca_bundle: str = Field("", description="PEM 格式证书文件的路径")


class DeliverySettings(_Table):
    # Strict: "in_flight = true" must not read as 1.
    in_flight: StrictInt = Field(DEFAULT_IN_FLIGHT, ge=1, le=100, description="1 到 100 之间的整数")


class WebSettings(_Table):
    """The office's web desk (bot/web), served by ``taskbot run`` beside the bot."""

    enabled: bool = Field(True, description="true 或 false")
    listen: str = Field("127.0.0.1", description="本机地址，如 127.0.0.1（对外提供服务时放在 nginx 之后）")
    port: int = Field(8080, ge=0, le=65535, description="0–65535 的整数（0：任选一个空闲端口）")
    # How people's browsers reach the desk (behind a reverse proxy: its HTTPS address). The login
    # links sent in chat begin with it. Empty: http://listen:port/.
    public_url: str = Field("", pattern=r"^(https?://\S+)?$", description="http:// 或 https:// 开头的地址")
    session_hours: int = Field(12, ge=1, le=24 * 30, description="1 到 720 之间的小时数")
    # Signs the desk's cookies. Empty: a random key kept in the database (shared by every process on it).
    secret: str = Field("", description="至少 32 个字符的随机字符串", pattern=r"^(.{32,})?$")

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.listen}:{self.port}").rstrip("/") + "/"


class RobotSettings(_Table):
    """A one-way group robot (DingTalk custom robot, WeCom group robot, Feishu custom bot): it posts
    reminders and the digest into one group and hears nothing back. Its webhook address holds its
    credential, so the file names the environment variables that hold it, never the address."""

    name: str = Field(min_length=1, max_length=60, pattern=r"^[^:\s]+$",
                      description="群的名字（不含空格和冒号），如 区商务局工作群")
    # The group it posts into: a unit's (unit = its name) or the leadership's (role = "leader").
    unit: str = Field("", description="责任单位名称（领导群留空）")
    role: Literal["member", "leader", "office"] = Field("member", description="member、leader 或 office")
    webhook_env: str = Field(pattern=r"^[A-Z][A-Z0-9_]*$",
                             description="存放 webhook 地址的环境变量名，如 TASKBOT_DINGTALK_ROBOT_SHANGWU")
    secret_env: str = Field("", pattern=r"^([A-Z][A-Z0-9_]*)?$", description="存放加签密钥的环境变量名（不加签则留空）")

    @model_validator(mode="after")
    def _a_unit_for_a_unit_group(self) -> RobotSettings:
        if self.role == "member" and not self.unit:
            raise ValueError(f"群机器人“{self.name}”要写 unit（责任单位名称），领导群写 role = \"leader\"")
        if self.role != "member" and self.unit:
            whose = "领导" if self.role == "leader" else "督办办公室"
            raise ValueError(f"群机器人“{self.name}”是{whose}的群，不应写 unit")
        return self


class DomesticSettings(_Table):
    """One domestic platform: its app's credentials (for the two-way long connection) and its robots."""

    enabled: bool = Field(False, description="true 或 false")
    # The app's id and secret; the environment overrides both (see CHANNEL_ENV).
    app_id: str = Field("", description="应用的 ID（钉钉 Client ID / 企业微信机器人 BotID / 飞书 App ID）")
    app_secret: str = Field("", description="应用的密钥")
    robots: list[RobotSettings] = Field([], description="群机器人的列表（[[channels.平台.robots]]）")
    # Empty: the platform's public servers. A government edition (政务钉钉 …) or a local double has its own.
    api_base: str = Field("", pattern=r"^((https?|wss?)://\S+)?$",
                          description="http(s):// 或 ws(s):// 开头的服务器地址")

    @property
    def two_way(self) -> bool:
        return self.enabled and bool(self.app_id and self.app_secret)


class ChannelsSettings(_Table):
    dingtalk: DomesticSettings = Field(DomesticSettings(), description=TABLE)
    wecom: DomesticSettings = Field(DomesticSettings(), description=TABLE)
    feishu: DomesticSettings = Field(DomesticSettings(), description=TABLE)

    def configured(self) -> dict[str, DomesticSettings]:
        """The enabled platforms, by channel name."""
        return {name: table for name, table in (("dingtalk", self.dingtalk), ("wecom", self.wecom),
                                                ("feishu", self.feishu)) if table.enabled}


class Settings(_Table):
    database_url: str = Field(DEFAULT_DATABASE_URL,
                              description="sqlite:///taskbot.db 或 postgresql://用户@主机:5432/库名 这样的数据库地址")
    timezone: ZoneInfo = Field(DEFAULT_TIMEZONE, description="Asia/Shanghai 这样的时区名")
    directory: DirectorySettings = Field(DirectorySettings(), description=TABLE)
    telegram: TelegramSettings = Field(TelegramSettings(), description=TABLE)
    delivery: DeliverySettings = Field(DeliverySettings(), description=TABLE)
    web: WebSettings = Field(WebSettings(), description=TABLE)
    channels: ChannelsSettings = Field(ChannelsSettings(), description=TABLE)
    policy: PolicyRules = Field(PolicyRules(), description=TABLE)

    @field_validator("database_url")
    @classmethod
    def _a_database_we_drive(cls, url: str) -> str:
        """Said here, in a sentence, rather than by SQLAlchemy when the database is first opened."""
        scheme, separator, _rest = url.partition("://")
        if not separator or scheme not in DATABASE_SCHEMES:
            raise ValueError("数据库地址应以 sqlite:/// 或 postgresql:// 开头")
        urlsplit(url).port  # noqa: B018  (raises ValueError for a port that is not a number)
        return url

    @property
    def database_configured(self) -> bool:
        """Whether database_url came from a flag, the environment or a config file rather than the default."""
        return "database_url" in self.model_fields_set

    def office_policy(self) -> Policy:
        return self.policy.in_timezone(self.timezone)


def load_settings(path: Path | None = None, database_url: str | None = None) -> Settings:
    """``path``, else $TASKBOT_CONFIG, else ./config.toml if present, else defaults; then the
    environment and ``database_url`` (a command-line flag) over the file."""
    if path is None:
        env_path = os.environ.get(CONFIG_ENV)
        path = Path(env_path) if env_path else Path("config.toml")
        if not env_path and not path.exists():
            path = None
    data = _read(path) if path is not None else {}
    source = f"配置文件 {path} " if path is not None else "配置"
    telegram = data.get("telegram", {})
    source_of_bundle = f"{source}的 [telegram] ca_bundle"
    if isinstance(telegram, dict):
        overrides = {"token": os.environ.get(TOKEN_ENV), "webhook_secret": os.environ.get(WEBHOOK_SECRET_ENV)}
        telegram = {**telegram, **{key: value for key, value in overrides.items() if value}}
        if not telegram.get("ca_bundle") and os.environ.get(CA_BUNDLE_ENV):
            telegram["ca_bundle"] = os.environ[CA_BUNDLE_ENV]
            source_of_bundle = f"环境变量 {CA_BUNDLE_ENV}"
        data = {**data, "telegram": telegram}
    web = data.get("web", {})
    if isinstance(web, dict) and os.environ.get(WEB_SECRET_ENV):
        data = {**data, "web": {**web, "secret": os.environ[WEB_SECRET_ENV]}}
    channels = data.get("channels", {})
    if isinstance(channels, dict):
        for name, (id_env, secret_env) in CHANNEL_ENV.items():
            table = channels.get(name, {})
            overrides = {"app_id": os.environ.get(id_env), "app_secret": os.environ.get(secret_env)}
            if isinstance(table, dict) and any(overrides.values()):
                channels = {**channels, name: {**table, **{k: v for k, v in overrides.items() if v}}}
        data = {**data, "channels": channels}
    url = database_url or os.environ.get(DATABASE_URL_ENV)
    if url:
        data = {**data, "database_url": url}
    try:
        settings = Settings.model_validate(data)
    except ValidationError as error:
        raise ConfigError(_say(error.errors(include_url=False)[0], source)) from error
    # Read now, so that a wrong path is said at start, not as a failed connection to Telegram.
    bundle = settings.telegram.ca_bundle
    if bundle and not Path(bundle).is_file():
        raise ConfigError(f"{source_of_bundle}指定的证书文件“{bundle}”不存在：请填写网关根证书（PEM 格式）的路径。")
    return settings


def malformed_database_url(url: str) -> str:
    """The sentence for a database URL that cannot be used, wherever it came from (a flag, the
    environment, the file: all three are named)."""
    return (f"数据库地址“{url}”无法识别：请写成 sqlite:///taskbot.db 或 postgresql://用户@主机:5432/库名 的形式"
            f"（--database-url、环境变量 {DATABASE_URL_ENV} 或配置文件的 database_url）。")


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as error:
        raise ConfigError(f"找不到配置文件：{path}，请检查路径。") from error
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"配置文件 {path} 格式错误（{error}）：请按 config.example.toml 改正后重试。") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"配置文件 {path} 不是 UTF-8 编码的文本：请用 UTF-8 保存后重试。") from error
    except OSError as error:  # a directory, no permission, a disk error
        raise ConfigError(f"无法读取配置文件 {path}：它不是可读的文件，请检查路径和权限。") from error


def _say(error: ErrorDetails, source: str) -> str:
    """One Chinese sentence for the first thing wrong in the file, naming its key."""
    keys = [str(part) for part in error["loc"] if isinstance(part, str)]
    table, key = (keys[0], " ".join(keys[1:])) if len(keys) > 1 else ("", keys[0] if keys else "")
    where = f"[{table}] {key}".strip() if table else key
    if error["type"] == "extra_forbidden":
        return f"{source}里的 {where} 不认识：请对照 config.example.toml 改正拼写，或删去这一项。"
    if keys == ["database_url"]:
        return malformed_database_url(str(error["input"]))
    if error["type"] == "value_error":  # a rule across keys, said by the model itself
        return f"{source}里的 [{keys[0] if keys else 'policy'}] 有误：{error['ctx']['error']}，请改正后重试。"
    shown = "" if keys[-1:] and keys[-1] in SECRET_KEYS else f"，现为“{error['input']}”"
    return f"{source}里的 {where} 应为 {_description(keys)}{shown}：请改正后重试。"


def _description(keys: list[str]) -> str:
    model: type[BaseModel] = Settings
    description = "正确的值"
    for key in keys:
        field = model.model_fields.get(key)
        if field is None:
            break
        description = field.description or description
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            model = field.annotation
    return description
