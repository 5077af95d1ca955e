"""Signing and delivering requests to the app's Request URL, exactly as Slack does.

Slack signs ``v0:{timestamp}:{raw body}`` with HMAC-SHA256 under the app's signing secret and
sends ``X-Slack-Signature: v0=<hex>`` and ``X-Slack-Request-Timestamp`` with the form-encoded body.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

import httpx

SLACK_TIMEOUT_SECONDS = 3.0
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return Slack's request signature: ``"v0=" + HMAC-SHA256(secret, "v0:{ts}:{body}")``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Delivery:
    """What came back from the app: HTTP status and body, or Slack's word for a failed dispatch."""

    status: int | None
    body: str = ""
    content_type: str = ""
    error: str | None = None
    redeliveries: tuple[Delivery, ...] = ()  # Slack's retries of the same delivery, if any


async def deliver(
    *,
    url: str | None,
    secret: str,
    body: bytes,
    timestamp: str | None = None,
    response_timeout: float = SLACK_TIMEOUT_SECONDS,
    retry_num: int = 0,
) -> Delivery:
    """POST a signed, form-encoded body to ``url`` and report the app's answer.

    A ``retry_num`` above 0 marks the POST as Slack's retry of an earlier one
    (``X-Slack-Retry-Num``, ``X-Slack-Retry-Reason: http_timeout``).
    """
    if url is None:
        return Delivery(status=None, error="dispatch_failed")
    stamp = timestamp or str(int(time.time()))
    headers = {
        "Content-Type": FORM_CONTENT_TYPE,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(secret, stamp, body),
    }
    if retry_num:
        headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
    try:
        async with httpx.AsyncClient(timeout=response_timeout) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        return Delivery(status=None, error="operation_timeout")
    except httpx.HTTPError:
        return Delivery(status=None, error="dispatch_failed")
    error = None if response.is_success else "dispatch_failed"
    return Delivery(
        status=response.status_code,
        body=response.text,
        content_type=response.headers.get("content-type", ""),
        error=error,
    )
