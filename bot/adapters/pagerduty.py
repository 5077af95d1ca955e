"""The Pager port over PagerDuty's Events API v2 (``POST /v2/enqueue``), with httpx.

A trigger carries the incident's summary and severity; acknowledge and resolve carry only the
routing key, the action and the dedup key (the incident's ref), as the API asks. PagerDuty
answers 202 when it took the event and 400 when the event is invalid (refused for good: sending
it again cannot help); 429, 5xx and network failures raise AdapterError, so that the event is
sent again on a later run.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from bot.core.errors import AdapterError
from bot.core.escalation import OutsidePage, PagerAction, PagerReceipt

SOURCE = "gpuwarden"
_ACCEPTED = 202
_INVALID = 400
_SUMMARY_MAX = 1024  # characters PagerDuty keeps of payload.summary


class PagerDutyPager:
    """Sends outside pages to one PagerDuty service (its Events API v2 integration key)."""

    def __init__(
        self,
        *,
        routing_key: str,
        url: str = "https://events.pagerduty.com",
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._routing_key = routing_key
        self._endpoint = url.rstrip("/") + "/v2/enqueue"
        self._timeout_s = timeout_s
        self._transport = transport

    async def send(self, page: OutsidePage) -> PagerReceipt:
        """POST one event; 202 accepted, 400 refused for good, anything else AdapterError."""
        try:
            async with httpx.AsyncClient(
                timeout=self._timeout_s, transport=self._transport
            ) as client:
                response = await client.post(self._endpoint, json=self.event(page))
        except httpx.HTTPError as exc:
            raise AdapterError(f"PagerDuty {page.action} for {page.dedup_key}: {exc}") from exc
        if response.status_code == _ACCEPTED:
            return PagerReceipt(accepted=True)
        if response.status_code == _INVALID:
            return PagerReceipt(accepted=False, detail=_reason(response))
        msg = f"PagerDuty {page.action} for {page.dedup_key}: HTTP {response.status_code}"
        raise AdapterError(msg)

    def event(self, page: OutsidePage) -> dict[str, Any]:
        """The Events API v2 body of ``page``."""
        body: dict[str, Any] = {
            "routing_key": self._routing_key,
            "event_action": page.action.value,
            "dedup_key": page.dedup_key,
        }
        if page.action is PagerAction.TRIGGER:
            body["payload"] = {
                "summary": page.summary[:_SUMMARY_MAX],
                "source": SOURCE,
                "severity": page.severity,
                "timestamp": datetime.fromtimestamp(page.at, UTC).isoformat(),
                "class": "incident",
                "custom_details": {"incident": page.dedup_key},
            }
            body["client"] = SOURCE
        return body


def _reason(response: httpx.Response) -> str:
    """PagerDuty's message and errors from a 400 answer, or the body as it came."""
    try:
        answer = response.json()
    except ValueError:
        return response.text[:200]
    if not isinstance(answer, dict):
        return str(answer)[:200]
    errors = answer.get("errors") or []
    message = str(answer.get("message", "invalid event"))
    return f"{message}: {'; '.join(map(str, errors))}" if errors else message
