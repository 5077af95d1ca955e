"""Pure Block Kit renderers of runbook offers and walk-throughs.

A run's thread message lists its steps: what happened at each one (who, when, the probe's
result), the current step with its buttons, and each remediation's plan — the change, the blast
radius and the undo — with Approve / Reject while it waits, and Undo once it succeeded. Button
values carry what the click needs (run and step, or action and the plan digest shown), so a
click on an old message acts on what that person saw, and the services refuse what is stale.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot import messages
from bot.adapters.slack.blocks import Block, clock_time
from bot.adapters.slack.ids import ActionId
from bot.core.approvals import FINAL_STATES, ActionRecord, ActionState
from bot.core.incidents import Incident
from bot.core.runbooks import (
    DecisionStep,
    DiagnosticStep,
    InstructionStep,
    RemediationStep,
    Runbook,
    RunState,
    Step,
    StepOutcome,
    VerifyStep,
)
from bot.core.walkthrough import RunView, entered_at, outcome_text, who

SECTION_MAX = 3000  # characters of a section's text
_ICON = {
    StepOutcome.DONE: ":white_check_mark:",
    StepOutcome.PROBED: ":mag:",
    StepOutcome.CHOSEN: ":twisted_rightwards_arrows:",
    StepOutcome.EXECUTED: ":white_check_mark:",
    StepOutcome.VERIFIED: ":white_check_mark:",
    StepOutcome.SKIPPED: ":fast_forward:",
    StepOutcome.NOT_APPLICABLE: ":heavy_minus_sign:",
    StepOutcome.TIMED_OUT: ":warning:",
}
CURRENT_ICON = ":arrow_right:"
WAITING_ICON = ":white_circle:"


def offer_message(incident: Incident, runbooks: Sequence[Runbook]) -> tuple[str, list[Block]]:
    """The thread message offering runbooks, each with its Start button."""
    names = ", ".join(r.name for r in runbooks)
    text = messages.RUNBOOK_OFFERED.format(ref=incident.ref, names=names)
    blocks: list[Block] = [_plain_header(messages.RUNBOOK_OFFER_TITLE.format(ref=incident.ref))]
    for runbook in runbooks:
        item = messages.RUNBOOK_OFFER_ITEM.format(
            title=runbook.title, description=runbook.description.strip()
        )
        blocks.append(
            {
                "type": "section",
                "text": _mrkdwn(item),
                "accessory": _button(
                    messages.BUTTON_START,
                    ActionId.RUNBOOK_START,
                    f"{incident.id}:{runbook.name}",
                    style="primary",
                ),
            }
        )
    return text, blocks


def run_message(view: RunView, *, now: float) -> tuple[str, list[Block]]:
    """The run's thread message: every step, the current one with its buttons."""
    run = view.run
    text = messages.RUNBOOK_FALLBACK.format(
        title=view.runbook.title, ref=view.incident_ref, state=run.state
    )
    blocks: list[Block] = [
        _plain_header(messages.RUNBOOK_HEADER.format(title=view.runbook.title)),
        {
            "type": "context",
            "elements": [
                _mrkdwn(
                    messages.RUNBOOK_CONTEXT.format(
                        ref=view.incident_ref, user=run.started_by, state=run.state
                    )
                )
            ],
        },
    ]
    for number, step in enumerate(view.runbook.steps, start=1):
        blocks += _step_blocks(view, step, number, now=now)
    return text, blocks


def _step_blocks(view: RunView, step: Step, number: int, *, now: float) -> list[Block]:
    record = view.record_of(step.id)
    current = view.run.state is RunState.ACTIVE and view.run.step == step.id
    icon = _ICON[record.outcome] if record else (CURRENT_ICON if current else WAITING_ICON)
    lines = [messages.RUNBOOK_STEP_LINE.format(icon=icon, number=number, title=step.title)]
    if current and step.text:
        lines.append(view.fill(step.text.strip()))
    if record is not None:
        lines.append(
            messages.RUNBOOK_STEP_DONE.format(
                outcome=outcome_text(record), who=who(record.actor), at=clock_time(record.at)
            )
        )
        result = dict(record.detail).get("result")
        if record.outcome is StepOutcome.PROBED and result:
            lines.append(f"```{result}```")
    if current and isinstance(step, VerifyStep):
        lines.append(_waiting(view, step))
    blocks: list[Block] = [_section("\n".join(lines))]
    if isinstance(step, RemediationStep):
        blocks += _remediation_blocks(view, step, current=current, now=now)
    elif current:
        blocks.append(_actions(_step_buttons(view, step)))
    return blocks


def _step_buttons(view: RunView, step: Step) -> list[Block]:
    value = f"{view.run.id}:{step.id}"
    skip = _button(messages.BUTTON_SKIP, ActionId.RUNBOOK_SKIP, value)
    if isinstance(step, InstructionStep):
        return [
            _button(messages.BUTTON_DONE, ActionId.RUNBOOK_DONE, value, style="primary"),
            skip,
            _button(messages.BUTTON_NOT_APPLICABLE, ActionId.RUNBOOK_NOT_APPLICABLE, value),
        ]
    if isinstance(step, DiagnosticStep):
        return [_button(messages.BUTTON_RUN_PROBE, ActionId.RUNBOOK_PROBE, value, "primary"), skip]
    if isinstance(step, DecisionStep):
        labels = (
            [c.label for c in step.choices]
            if step.choices
            else [
                view.runbook.step(goto).title if goto != "end" else goto
                for goto in (step.branch.then, step.branch.otherwise)  # type: ignore[union-attr]
            ]
        )
        return [
            _button(label[:75], f"{ActionId.RUNBOOK_CHOOSE}.{index}", f"{value}:{index}")
            for index, label in enumerate(labels)
        ]
    return [skip]  # verify: the bot checks by itself


def _remediation_blocks(
    view: RunView, step: RemediationStep, *, current: bool, now: float
) -> list[Block]:
    action = view.action_of(step.id)
    blocks: list[Block] = []
    if action is not None:
        blocks += _action_blocks(action, view.approvers(action), now=now)
        undo = view.undo_of(action)
        if undo is not None:
            blocks += _action_blocks(undo, view.approvers(undo), now=now)
        if _undoable(action, undo):
            blocks.append(
                _actions([_button(messages.BUTTON_UNDO, ActionId.ACTION_UNDO, str(action.id))])
            )
    if current and (action is None or action.state in FINAL_STATES):
        value = f"{view.run.id}:{step.id}"
        blocks.append(
            _actions(
                [
                    _button(
                        messages.BUTTON_REQUEST_ACTION, ActionId.RUNBOOK_REQUEST, value, "primary"
                    ),
                    _button(messages.BUTTON_SKIP, ActionId.RUNBOOK_SKIP, value),
                    _button(messages.BUTTON_NOT_APPLICABLE, ActionId.RUNBOOK_NOT_APPLICABLE, value),
                ]
            )
        )
    return blocks


def _undoable(action: ActionRecord, undo: ActionRecord | None) -> bool:
    if action.state is not ActionState.SUCCEEDED or action.plan.undo is None:
        return False
    return undo is None or (undo.state in FINAL_STATES and undo.state is not ActionState.SUCCEEDED)


def _action_blocks(action: ActionRecord, approvers: Sequence[str], *, now: float) -> list[Block]:
    """A waiting request: its plan and Approve / Reject; otherwise one line of its state."""
    if action.state is not ActionState.PENDING:
        detail = f" — {action.outcome}" if action.outcome else ""
        line = messages.RUNBOOK_ACTION_STATE.format(
            ref=action.ref, state=action.state, detail=detail, user=action.requested_by
        )
        return [_section(line)]
    plan = action.plan
    shown = messages.RUNBOOK_PLAN.format(
        ref=action.ref,
        what=plan.request.describe(),
        diff="; ".join(plan.diff),
        blast=plan.blast.describe(),
        undo=plan.undo.describe() if plan.undo else messages.RUNBOOK_NO_UNDO,
        risk=plan.risk,
        needed=action.approvals_needed,
        user=action.requested_by,
        approved=", ".join(f"<@{a}>" for a in approvers) or messages.RUNBOOK_NOBODY,
        expires=clock_time(action.expires_at, since=now),
    )
    value = f"{action.id}:{plan.digest}"
    return [
        _section(shown),
        _actions(
            [
                _button(messages.BUTTON_APPROVE, ActionId.ACTION_APPROVE, value, "primary"),
                _button(messages.BUTTON_REJECT, ActionId.ACTION_REJECT, value, "danger"),
            ]
        ),
    ]


def _waiting(view: RunView, step: VerifyStep) -> str:
    what = (
        f"`{view.fill(step.query)}` {step.direction} {step.recover:g}"
        if step.query is not None and step.recover is not None
        else messages.RUNBOOK_WAITING_ALERTS
    )
    deadline = entered_at(view.run, view.records) + step.timeout
    return messages.RUNBOOK_WAITING_VERIFY.format(
        what=what,
        at=clock_time(deadline),
        escalate=messages.RUNBOOK_WAITING_ESCALATES if step.escalate else "",
    )


def _plain_header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": text[:150]}}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _mrkdwn(text: str) -> dict[str, str]:
    if len(text) > SECTION_MAX:
        text = text[: SECTION_MAX - 4] + "…"
        if text.count("```") % 2:
            text += "```"  # close the probe result's code block
    return {"type": "mrkdwn", "text": text}


def _actions(elements: list[Block]) -> Block:
    return {"type": "actions", "elements": elements}


def _button(label: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": str(action_id),
        "value": value,
    }
    if style is not None:
        button["style"] = style
    return button
