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
    runbooks_dir: Path | None = Field(
        default=None, description="directory of runbook *.yaml files (default: the shipped ones)"
    )


class ExportSettings(DatabaseSettings, RulesSettings):
    """What ``gpuwarden incident export`` and ``gpuwarden report`` read besides the YAML files."""

    prometheus_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Prometheus for query: rules and the metric history of exports",
    )


class Settings(ExportSettings):
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
    slack_app_token: str | None = Field(
        default=None, pattern=r"^xapp-", description="app-level token: turns on Socket Mode"
    )
    slack_countdown_interval: Duration = Field(
        default=60.0, ge=1, description="least time between SLA countdown refreshes of a message"
    )

    alertmanager_token: str | None = Field(
        default=None, min_length=8, description="when set, Alertmanager must present it"
    )
    api_token: str | None = Field(
        default=None,
        min_length=8,
        description="bearer token for the management API (silences); unset: writes refused",
    )
    promql_interval: Duration = Field(default=15.0, gt=0, description="how often to poll")

    kube_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="Kubernetes API base URL (the sandbox's); unset: in-cluster or kubeconfig",
    )
    kube_token: str | None = Field(default=None, min_length=8, description="bearer token for it")
    kube_ca_cert: Path | None = Field(default=None, description="CA bundle of an https kube_url")
    kube_namespace: str = Field(
        default="default",
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="namespace of Deployment/Service targets given without one",
    )

    oncall_usergroup: str | None = Field(
        default=None,
        min_length=1,
        description="Slack user group (handle or id) kept holding whoever is on call",
    )
    pagerduty_routing_key: str | None = Field(
        default=None,
        min_length=1,
        description="when set, paging incidents are also sent to PagerDuty's Events API v2",
    )
    pagerduty_url: str = Field(
        default="https://events.pagerduty.com",
        pattern=r"^https?://",
        description="PagerDuty Events API base URL (events are POSTed to <this>/v2/enqueue)",
    )

    llm_base_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        description="OpenAI-compatible endpoint (…/v1); unset: LLM triage off, template summaries",
    )
    llm_model: str = Field(default="gpt-4o-mini", min_length=1, description="model to ask")
    llm_api_key: str | None = Field(default=None, description="the endpoint's API key")
    llm_timeout: Duration = Field(default=10.0, gt=0, le=20, description="per attempt; 1 retry")
    llm_max_tokens: int = Field(default=800, ge=64, le=8192, description="answer cap per request")
    llm_max_prompt_chars: int = Field(default=24_000, ge=2_000, description="data sent at most")
    llm_incident_token_budget: int = Field(default=60_000, ge=1_000, description="per incident")

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
