"""``/incident export`` and ``/incident report``: parse, call the service, upload or render.

An export is uploaded into the incident's thread through Slack's files v2 flow
(``files.getUploadURLExternal`` → POST the bytes → ``files.completeUploadExternal``), which
slack_sdk's ``files_upload_v2`` performs.
"""

from __future__ import annotations

from collections.abc import Mapping

from aiohttp import ClientError
from slack_sdk.errors import SlackApiError, SlackClientError

from bot import messages
from bot.adapters.slack import arguments
from bot.adapters.slack.commands import CommandRouter, Invocation, Reply
from bot.adapters.slack.report_blocks import report_blocks
from bot.core.errors import UserError
from bot.core.export import ExportFormat
from bot.core.policy import SlaPolicy
from bot.core.ports import Clock, MetricHistory, UnitOfWorkFactory
from bot.core.thresholds import ThresholdRule
from bot.services import exports, reports


def register_export_commands(
    router: CommandRouter,
    *,
    uow: UnitOfWorkFactory,
    rules: Mapping[str, ThresholdRule],
    history: MetricHistory | None,
    sla: SlaPolicy,
    clock: Clock,
) -> None:
    """Add ``export`` and ``report`` to the ``/incident`` router."""

    async def export_command(call: Invocation) -> Reply:
        """/incident export INC-12 [md|json|csv|html|postmortem] — upload it into the thread."""
        if not call.args:
            raise UserError(messages.EXPORT_USAGE)
        fmt = exports.parse_format(call.args[1]) if len(call.args) > 1 else ExportFormat.MARKDOWN
        file = await exports.export_incident(
            incident_id=arguments.incident_id(call.args[0]),
            fmt=fmt,
            uow=uow,
            rules=rules,
            history=history,
            now=clock.now(),
        )
        incident = file.incident
        in_thread = incident.slack_channel is not None and incident.slack_ts is not None
        try:
            await call.client.files_upload_v2(
                channel=incident.slack_channel if in_thread else call.channel,
                thread_ts=incident.slack_ts if in_thread else None,
                content=file.data,
                filename=file.filename,
                title=file.filename,
                initial_comment=messages.EXPORT_COMMENT.format(
                    ref=incident.ref, format=fmt.value, user=call.user
                ),
            )
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown_error")
            raise UserError(
                messages.EXPORT_UPLOAD_FAILED.format(filename=file.filename, error=error)
            ) from exc
        except (SlackClientError, ClientError, TimeoutError) as exc:
            raise UserError(
                messages.EXPORT_UPLOAD_FAILED.format(filename=file.filename, error=exc)
            ) from exc
        answer = messages.EXPORT_UPLOADED if in_thread else messages.EXPORT_UPLOADED_HERE
        return Reply(answer.format(filename=file.filename, size=len(file.data), ref=incident.ref))

    async def report_command(call: Invocation) -> Reply:
        """/incident report [7d|30d] — MTTA, MTTR, SLA compliance and availability."""
        days = reports.parse_window(call.args[0]) if call.args else reports.WINDOWS[0]
        comparison = reports.build_report(uow=uow, sla=sla, days=days, now=clock.now())
        title = messages.REPORT_TITLE.format(days=days)
        return Reply(title, blocks=report_blocks(comparison, sla=sla, title=title))

    router.add(
        "export",
        export_command,
        usage="export INC-12 [md|json|csv|html|postmortem]",
        summary="upload the incident's timeline as a file into its thread",
        slow=True,
    )
    router.add(
        "report",
        report_command,
        usage="report [7d|30d]",
        summary="MTTA, MTTR, SLA compliance and availability over the last 7 or 30 days",
        slow=True,
    )
