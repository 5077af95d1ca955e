"""Timeline exports and incident reports over HTTP.

- ``GET /api/v1/incidents/{id}/timeline``: the timeline as a JSON list of entries; with
  ``?format=md|json|csv|html|postmortem`` the incident's export file in that format, with its
  content type (``json`` is the export document that
  ``docs/schemas/incident-export.schema.json`` describes; ``postmortem`` a Markdown draft)
- ``GET /api/v1/reports?days=7|30``: MTTA, MTTR, SLA compliance per severity, incident count and
  availability per service, beside the same figures for the window before
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response

from bot.api.schemas import TimelineEntryOut
from bot.core.errors import NotFound
from bot.core.export import ExportFormat
from bot.core.policy import SlaPolicy
from bot.core.ports import Clock, MetricHistory, UnitOfWorkFactory
from bot.core.reports import as_record
from bot.core.thresholds import ThresholdRule
from bot.services import exports, reports

_FORMATS = "^(" + "|".join(f.value for f in ExportFormat) + ")$"
_DAYS = "^(" + "|".join(str(days) for days in reports.WINDOWS) + ")$"


def reports_router(
    *,
    uow: UnitOfWorkFactory,
    clock: Clock,
    sla: SlaPolicy,
    rules: Mapping[str, ThresholdRule],
    history: MetricHistory | None,
) -> APIRouter:
    """The export and report routes, bound to the bot's ports."""
    router = APIRouter(prefix="/api/v1", tags=["incidents"])

    @router.get(
        "/incidents/{incident_id}/timeline",
        response_model=list[TimelineEntryOut],
        summary="An incident's timeline; ?format=md|json|csv|html|postmortem: its export file",
        responses={
            200: {
                "content": {f.media_type.split(";")[0]: {} for f in ExportFormat},
                "description": "the timeline entries, or the export file in ``format``",
            },
            404: {"description": "no such incident"},
        },
    )
    async def timeline(
        incident_id: int,
        format: Annotated[str | None, Query(pattern=_FORMATS)] = None,  # noqa: A002
    ) -> Any:
        try:
            if format is None:
                with uow() as tx:
                    tx.incidents.get(incident_id)
                    return [TimelineEntryOut.of(e) for e in tx.timeline.list(incident_id)]
            file = await exports.export_incident(
                incident_id=incident_id,
                fmt=ExportFormat(format),
                uow=uow,
                rules=rules,
                history=history,
                now=clock.now(),
            )
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from exc
        disposition = f'inline; filename="{file.filename}"'
        return Response(
            file.data,
            media_type=file.format.media_type,
            headers={"Content-Disposition": disposition},
        )

    @router.get(
        "/reports",
        summary="MTTA, MTTR, SLA compliance and availability over the last 7 or 30 days",
    )
    def report(days: Annotated[str, Query(pattern=_DAYS)] = "7") -> dict[str, object]:
        comparison = reports.build_report(uow=uow, sla=sla, days=int(days), now=clock.now())
        return as_record(comparison)

    return router
