"""Block Kit ids the bot sends and receives; the listeners route on these."""

from enum import StrEnum


class ActionId(StrEnum):
    """``action_id`` of interactive elements."""

    ACKNOWLEDGE = "incident.acknowledge"


class BlockId(StrEnum):
    """``block_id`` of blocks whose contents the bot reads back."""

    INCIDENT_ACTIONS = "incident.actions"
