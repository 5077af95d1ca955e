"""``POST /api/v1/alertmanager``: the bot as an Alertmanager webhook receiver (payload v4).

Unknown keys are ignored, so newer Alertmanager versions keep working; the keys the bot uses are
validated, and a bad one gets a 422 that names it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import asdict
from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from prometheus_client import CollectorRegistry, Counter
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.api.auth import bearer
from bot.api.body import json_body, read_limited
from bot.api.errors import invalid
from bot.core.ports import Clock, Notifier, UnitOfWorkFactory
from bot.services.external_alerts import ExternalAlert, receive_alerts

log = logging.getLogger(__name__)


class _Lenient(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class AlertmanagerAlert(_Lenient):
    """One alert of a notification."""

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: AwareDatetime = Field(alias="startsAt")
    ends_at: AwareDatetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = Field(pattern=r"^[0-9a-f]{1,64}$")

    @field_validator("labels")
    @classmethod
    def _named(cls, labels: dict[str, str]) -> dict[str, str]:
        if not labels.get("alertname"):
            msg = "expected an 'alertname' label"
            raise ValueError(msg)
        return labels

    def to_external(self) -> ExternalAlert:
        """The service's value; Alertmanager's zero time (year 1) means no end."""
        ends_at = self.ends_at.timestamp() if self.ends_at else 0.0
        return ExternalAlert(
            fingerprint=self.fingerprint,
            firing=self.status == "firing",
            labels=self.labels,
            annotations=self.annotations,
            starts_at=self.starts_at.timestamp(),
            ends_at=ends_at if ends_at > 0 else None,
        )


class AlertmanagerPayload(_Lenient):
    """A webhook notification: one alert group."""

    version: Literal["4"]
    receiver: str
    status: Literal["firing", "resolved"]
    alerts: list[AlertmanagerAlert] = Field(max_length=10_000)
    group_key: str = Field(alias="groupKey")
    truncated_alerts: int = Field(default=0, ge=0, alias="truncatedAlerts")
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")


class AlertmanagerAccepted(BaseModel):
    """What the bot did with the notification's alerts."""

    fired: int
    resolved: int
    ignored: int


def alertmanager_router(
    *,
    uow: UnitOfWorkFactory,
    notifier: Notifier,
    clock: Clock,
    token: str | None,
    max_body_bytes: int,
    registry: CollectorRegistry,
) -> APIRouter:
    """The webhook route; with ``token`` set, requests must carry it as a bearer token."""
    router = APIRouter()
    notifications = Counter(
        "gpuwarden_bot_alertmanager_notifications",
        "Alertmanager webhook notifications, by outcome",
        ["outcome"],
        registry=registry,
    )
    alerts = Counter(
        "gpuwarden_bot_alertmanager_alerts",
        "Alerts received from Alertmanager, by what the bot did",
        ["outcome"],
        registry=registry,
    )
    one_at_a_time = asyncio.Lock()  # a retry racing its original must not fire the alert twice

    @router.post(
        "/api/v1/alertmanager",
        response_model=AlertmanagerAccepted,
        dependencies=[Depends(bearer(token, refused=notifications.labels("unauthorized").inc))],
        openapi_extra=json_body(AlertmanagerPayload),
        summary="Receive alert notifications from Prometheus Alertmanager (webhook, version 4)",
    )
    async def receive(request: Request) -> Response | AlertmanagerAccepted:
        raw = await read_limited(request, max_body_bytes)
        try:
            payload = AlertmanagerPayload.model_validate_json(raw)
        except ValidationError as exc:
            notifications.labels("invalid").inc()
            return invalid("Alertmanager notification", list(exc.errors()))
        if payload.truncated_alerts:
            log.warning(
                "Alertmanager left %d alerts of group %s out (max_alerts)",
                payload.truncated_alerts,
                payload.group_key,
            )
        async with one_at_a_time:
            result = await receive_alerts(
                alerts=[a.to_external() for a in payload.alerts],
                uow=uow,
                notifier=notifier,
                clock=clock,
            )
        notifications.labels("accepted").inc()
        counts = asdict(result)
        for outcome, count in counts.items():
            alerts.labels(outcome).inc(count)
        return AlertmanagerAccepted(**counts)

    return router
