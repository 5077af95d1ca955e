"""Process settings from ``GPUWARDEN_*`` environment variables (and an optional ``.env`` file)."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config.files import Duration, describe_problem
from bot.core.errors import ConfigError

_ENV = SettingsConfigDict(env_prefix="GPUWARDEN_", env_file=".env", extra="ignore", frozen=True)


class DatabaseSettings(BaseSettings):
    """Where the bot keeps its state; all that ``gpuwarden db`` needs."""

    model_config = _ENV

    data_dir: Path = Path("data")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("GPUWARDEN_DATABASE_URL", "DATABASE_URL")
    )

    def sqlalchemy_url(self) -> str:
        """The database to use: ``database_url`` or a SQLite file in ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gpuwarden.sqlite').resolve()}"


class RulesSettings(BaseSettings):
    """The YAML files and where runbooks are served: all that ``gpuwarden rules`` needs."""

    model_config = _ENV

    config_dir: Path | None = None
    runbook_base_url: str = Field(
        default="https://runbooks.example.com/gpuwarden/",
        pattern=r"^https?://",
        description="exported rules link to <this><rule name>",
    )


class Settings(DatabaseSettings, RulesSettings):
    """Everything the bot process reads from its environment; see ``.env.example``."""

    host: str = "127.0.0.1"
    port: int = Field(default=8800, ge=1, le=65535)
    ingest_token: str = Field(min_length=8, description="bearer token agents present")
    max_batch_bytes: int = Field(default=8 * 1024 * 1024, gt=0)

    slack_bot_token: str = Field(pattern=r"^xox[bp]-", description="the app's bot token")
    slack_signing_secret: str = Field(min_length=8, description="verifies Slack's requests")
    slack_api_url: str = Field(
        default="https://slack.com/api/", description="Slack Web API base URL (the sandbox's)"
    )
    alerts_channel: str = "gpu-alerts"

    alertmanager_token: str | None = Field(
        default=None, min_length=8, description="when set, Alertmanager must present it"
    )
    prometheus_url: str | None = Field(
        default=None, pattern=r"^https?://", description="Prometheus for query: rules"
    )
    promql_interval: Duration = Field(default=15.0, gt=0, description="how often to poll")

    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    access_log: bool = Field(default=False, description="log every HTTP request")


S = TypeVar("S", bound=BaseSettings)


def load_settings(kind: type[S]) -> S:
    """Read settings, turning a bad or missing value into a ConfigError naming the variable."""
    try:
        return kind()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "GPUWARDEN_" + str(first["loc"][0]).upper() if first["loc"] else "(settings)"
        raise ConfigError(source="environment", key=name, expected=describe_problem(first)) from exc
