"""Block Kit ids the bot sends and receives; the listeners route on these."""

from enum import StrEnum


class ActionId(StrEnum):
    """``action_id`` of interactive elements."""

    ACKNOWLEDGE = "incident.acknowledge"
    ESCALATE = "incident.escalate"  # handled by the on-call listeners
    RESOLVE = "incident.resolve"
    SEVERITY = "incident.severity"
    SUMMARY = "incident.summary"  # handled by the triage listeners
    RUNBOOK_START = "runbook.start"  # handled by the runbook listeners, as are those below
    RUNBOOK_DONE = "runbook.done"
    RUNBOOK_SKIP = "runbook.skip"
    RUNBOOK_NOT_APPLICABLE = "runbook.not_applicable"
    RUNBOOK_CHOOSE = "runbook.choose"  # + ".<index of the choice>": unique within its block
    RUNBOOK_PROBE = "runbook.probe"
    RUNBOOK_REQUEST = "runbook.request"
    ACTION_APPROVE = "action.approve"
    ACTION_REJECT = "action.reject"
    ACTION_UNDO = "action.undo"


class BlockId(StrEnum):
    """``block_id`` of blocks whose contents the bot reads back."""

    INCIDENT_ACTIONS = "incident.actions"
    DECLARE_TITLE = "declare.title"
    DECLARE_SEVERITY = "declare.severity"
    DECLARE_DESCRIPTION = "declare.description"


class CallbackId(StrEnum):
    """``callback_id`` of the bot's modals."""

    DECLARE = "incident.declare"
