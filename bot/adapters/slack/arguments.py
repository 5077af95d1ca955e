"""Reading the words of a slash command: incident refs, P-levels, user mentions, durations."""

from __future__ import annotations

import re

from bot import messages
from bot.config.files import parse_duration
from bot.core.errors import UserError
from bot.core.incidents import Severity

_REF = re.compile(r"^(?:inc-?)?(\d{1,9})$", re.IGNORECASE)
# Slack escapes a mention as <@U123|name> (or <@U123>); W… ids are Enterprise Grid users
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")


def incident_id(text: str) -> int:
    """``INC-12``, ``inc-12`` or ``12`` → 12."""
    match = _REF.match(text.strip())
    if match is None:
        raise UserError(messages.BAD_INCIDENT_REF.format(text=text))
    return int(match.group(1))


def severity(text: str) -> Severity:
    """``P1``/``p1`` → Severity.P1."""
    try:
        return Severity(text.strip().upper())
    except ValueError:
        raise UserError(messages.BAD_SEVERITY.format(text=text)) from None


def user_id(text: str) -> str | None:
    """The Slack user id of an escaped mention or a bare id; None for a name (``@alice``)."""
    text = text.strip()
    match = _MENTION.match(text)
    if match is not None:
        return match.group(1)
    return text if _USER_ID.match(text) else None


def user_name(text: str) -> str:
    """The name in an unescaped mention: ``@alice`` → ``alice``."""
    name = text.strip().removeprefix("@")
    if not name or any(c in name for c in "<>|@ "):
        raise UserError(messages.BAD_USER.format(text=text))
    return name


def duration(text: str) -> float:
    """``30m``, ``2h``, ``1d`` (or a number of seconds) → seconds."""
    try:
        return parse_duration(text)
    except (TypeError, ValueError):
        raise UserError(messages.BAD_DURATION.format(text=text)) from None
