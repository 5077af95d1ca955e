"""``/api/v1/silences``: list, create and end silences over HTTP.

Reading is open like the incident API; creating and ending need the management token
(``GPUWARDEN_API_TOKEN``). Without one configured, writes are refused with a 403 that says how
to enable them — a silence hides alerts, so it is never open to anyone who can reach the port.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Self

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from bot import messages
from bot.api.auth import bearer
from bot.config.files import parse_duration
from bot.core.errors import NotFound, UserError
from bot.core.ports import Clock, UnitOfWorkFactory
from bot.core.silences import Silence
from bot.services import silences


class SilenceIn(BaseModel):
    """A silence to create: matchers, and either ``duration`` or ``ends_at``."""

    model_config = ConfigDict(extra="forbid")

    matchers: list[str] = Field(min_length=1, max_length=20, examples=[["node=gpu-node-2"]])
    duration: str | None = Field(default=None, examples=["2h"], description="e.g. 30m, 2h, 1d")
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    created_by: str = Field(min_length=1, max_length=200)
    comment: str = Field(min_length=1, max_length=2000)

    @field_validator("duration")
    @classmethod
    def _duration(cls, value: str | None) -> str | None:
        if value is not None and parse_duration(value) <= 0:
            msg = f"expected a positive duration such as 30m or 2h, got {value!r}"
            raise ValueError(msg)
        return value

    def end(self, now: float) -> float:
        """Unix end time: ``ends_at``, or the start plus ``duration``."""
        if (self.duration is None) == (self.ends_at is None):
            raise UserError(messages.SILENCE_END_EITHER)
        if self.ends_at is not None:
            return self.ends_at.timestamp()
        start = self.starts_at.timestamp() if self.starts_at else now
        return start + parse_duration(self.duration)


class SilenceOut(BaseModel):
    """A stored silence."""

    id: str
    matchers: list[str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    active: bool

    @classmethod
    def of(cls, silence: Silence, now: float) -> Self:
        """The wire form of ``silence`` as seen at ``now``."""
        return cls(
            id=silence.id,
            matchers=[str(m) for m in silence.matchers],
            starts_at=datetime.fromtimestamp(silence.starts_at).astimezone(),
            ends_at=datetime.fromtimestamp(silence.ends_at).astimezone(),
            created_by=silence.created_by,
            comment=silence.comment,
            active=silence.active(now),
        )


def silence_router(
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    token: str | None,
    refresh: Callable[[float], object],
) -> APIRouter:
    """The silence routes; ``refresh`` hands the engine the new set after a change."""
    router = APIRouter(prefix="/api/v1/silences", tags=["silences"])

    def writable() -> None:
        if token is None:
            raise HTTPException(403, messages.SILENCE_API_DISABLED)

    guarded = [Depends(writable), Depends(bearer(token, refused=lambda: None))]

    @router.get("", response_model=list[SilenceOut])
    def list_silences(
        include_ended: Annotated[bool, Query(alias="all")] = False,
    ) -> list[SilenceOut]:
        now = clock.now()
        found = silences.listed(uow=uow, now=now, include_ended=include_ended)
        return [SilenceOut.of(s, now) for s in found]

    @router.post("", status_code=201, response_model=SilenceOut, dependencies=guarded)
    def create_silence(body: SilenceIn) -> SilenceOut:
        now = clock.now()
        try:
            made = silences.create(
                uow=uow,
                matchers=body.matchers,
                starts_at=body.starts_at.timestamp() if body.starts_at else None,
                ends_at=body.end(now),
                created_by=body.created_by,
                comment=body.comment,
                now=now,
            )
        except UserError as exc:
            raise HTTPException(422, str(exc)) from exc
        refresh(now)
        return SilenceOut.of(made, now)

    @router.delete("/{silence_id}", response_model=SilenceOut, dependencies=guarded)
    def expire_silence(
        silence_id: str, by: Annotated[str, Query(min_length=1, max_length=200)] = "api"
    ) -> SilenceOut:
        now = clock.now()
        try:
            ended = silences.expire(uow=uow, silence_id=silence_id, actor=by, now=now)
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from exc
        refresh(now)
        return SilenceOut.of(ended, now)

    return router
