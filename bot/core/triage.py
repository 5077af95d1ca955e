"""LLM triage, the pure parts: prompts that fence untrusted text, answers checked and defused.

The model is a narrator with no agency: it gets no tools and no credentials, and nothing it writes
is parsed into an action. Around it:

- :func:`build_prompt` puts every fact (incident, alerts, timeline, computed evidence) into one
  JSON data block between markers carrying a nonce the service picks, after redacting secrets and
  truncating each field; the system prompt says that block is data, never instructions;
- :func:`parse_answer` accepts only the JSON shape asked for (else the service falls back);
- :func:`sanitise` escapes Slack's control characters and keeps mentions, links and citations
  only when they appear in the evidence; ``@channel``/``@here``/``@everyone`` never survive;
- :func:`template_report` is the deterministic answer used when the LLM is off or fails.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from bot import messages
from bot.core.alerts import Alert, AlertState
from bot.core.evidence import Evidence, describe_series
from bot.core.incidents import Incident, TimelineEntry
from bot.core.redact import redact

MAX_FIELD_CHARS = 1000
MAX_TIMELINE_ENTRIES = 200


class Task(StrEnum):
    """What the model is asked to write."""

    SUMMARY = "summary"
    ROOT_CAUSE = "root_cause"
    POSTMORTEM = "postmortem"


# the JSON each task must answer with: field → "text" or "list"
_SHAPES: Mapping[Task, Mapping[str, str]] = {
    Task.SUMMARY: {
        "what_happened": "text",
        "impact": "text",
        "tried": "text",
        "who": "text",
        "open_questions": "list",
    },
    Task.ROOT_CAUSE: {"ranking": "list", "note": "text"},
    Task.POSTMORTEM: {
        "summary": "text",
        "impact": "text",
        "root_cause": "text",
        "went_well": "list",
        "went_badly": "list",
        "action_items": "list",
    },
}
_HEADINGS: Mapping[str, str] = messages.TRIAGE_HEADINGS


@dataclass(frozen=True, slots=True)
class Prompt:
    """The two messages sent to the model."""

    system: str
    user: str


@dataclass(frozen=True, slots=True)
class Report:
    """A triage answer ready to show: headed sections of mrkdwn-safe text."""

    task: Task
    sections: tuple[tuple[str, str], ...]
    source: str  # "llm" or "template"
    note: str = ""  # why the template was used, or the model's name
    ranking: tuple[str, ...] = field(default=())  # hypothesis ids, as the model ranked them


@dataclass(frozen=True, slots=True)
class Completion:
    """What the model answered, and what it cost."""

    text: str
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def tokens(self) -> int:
        """Tokens spent on this request."""
        return self.prompt_tokens + self.completion_tokens


class InvalidAnswer(ValueError):
    """The model's answer is not the JSON asked for."""


# ---------------------------------------------------------------- prompt


def build_prompt(
    task: Task,
    *,
    incident: Incident,
    alerts: Sequence[Alert],
    timeline: Sequence[TimelineEntry],
    evidence: Evidence | None,
    nonce: str,
    max_chars: int,
) -> Prompt:
    """The system and user messages for ``task``, within ``max_chars`` of data."""
    data = _data(incident, alerts, timeline, evidence)
    text = _fit(data, max_chars)
    shape = ", ".join(
        f'"{k}": {"[strings]" if v == "list" else "string"}' for k, v in _SHAPES[task].items()
    )
    system = messages.TRIAGE_SYSTEM_PROMPT.format(nonce=nonce, shape=shape)
    user = (
        messages.TRIAGE_TASKS[task.value]
        + f"\n\n<<<DATA {nonce}>>>\n{text}\n<<<END DATA {nonce}>>>"
    )
    return Prompt(system, user)


def _clip(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    text = redact(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _iso(at: float) -> str:
    return datetime.fromtimestamp(at, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _data(
    incident: Incident,
    alerts: Sequence[Alert],
    timeline: Sequence[TimelineEntry],
    evidence: Evidence | None,
) -> dict[str, object]:
    data: dict[str, object] = {
        "incident": {
            "ref": incident.ref,
            "title": _clip(incident.title),
            "severity": incident.severity.value,
            "status": incident.status.value,
            "opened": _iso(incident.created_at),
            "acknowledged_by": incident.acknowledged_by,
        },
        "alerts": [
            {
                "rule": a.rule,
                "level": a.level.value,
                "state": a.state.value,
                "summary": _clip(a.summary),
                "labels": {k: _clip(v, 200) for k, v in a.labels},
                "started": _iso(a.started_at),
            }
            for a in alerts[-20:]
        ],
        "timeline": [
            {
                "id": f"T{e.id}",
                "at": _iso(e.at),
                "kind": e.kind,
                "actor": e.actor,
                "text": _clip(e.text),
            }
            for e in timeline[-MAX_TIMELINE_ENTRIES:]
        ],
    }
    if evidence is not None:
        data["evidence"] = evidence_data(evidence)
    return data


def evidence_data(evidence: Evidence) -> dict[str, object]:
    """The computed evidence as plain data (redacted, truncated)."""
    return {
        "anomaly_onset": _iso(evidence.onset),
        "trigger": describe_series(evidence.trigger) if evidence.trigger else None,
        "moved_together": [
            {"series": describe_series(c.series), "r": c.r} for c in evidence.moved_together
        ],
        "events_near_onset": [
            {"offset_s": round(a.offset_s), "event": _clip(a.text, 500)} for a in evidence.aligned
        ],
        "last_changes": [
            {"at": _iso(c.at), "change": _clip(c.describe(), 300)} for c in evidence.changes
        ],
        "reproduction": evidence.reproduction,
        "hypotheses": [
            {
                "id": f"H{i}",
                "title": _clip(h.title, 300),
                "score": h.score,
                "support": list(h.support),
            }
            for i, h in enumerate(evidence.hypotheses, start=1)
        ],
    }


def _fit(data: dict[str, object], max_chars: int) -> str:
    """JSON of ``data``, dropping the oldest timeline entries until it fits ``max_chars``."""
    timeline = list(data["timeline"])  # type: ignore[call-overload]
    while True:
        text = json.dumps({**data, "timeline": timeline}, ensure_ascii=False, indent=1)
        if len(text) <= max_chars or not timeline:
            return text[:max_chars]
        timeline = timeline[max(1, len(timeline) // 10) :]


# ---------------------------------------------------------------- answer


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def parse_answer(task: Task, content: str) -> dict[str, str | list[str]]:
    """The fields of the model's JSON answer; InvalidAnswer names what is wrong."""
    match = _FENCE.match(content)
    try:
        doc = json.loads(match.group(1) if match else content)
    except json.JSONDecodeError as exc:
        raise InvalidAnswer(f"not JSON: {exc.msg}") from None
    if not isinstance(doc, dict):
        raise InvalidAnswer("expected a JSON object")
    out: dict[str, str | list[str]] = {}
    for name, kind in _SHAPES[task].items():
        value = doc.get(name)
        if kind == "text" and isinstance(value, str):
            out[name] = value
        elif kind == "list" and isinstance(value, list):
            out[name] = [_item(v) for v in value]
        elif value is not None:
            raise InvalidAnswer(f"{name}: expected {'a string' if kind == 'text' else 'a list'}")
    if not out:
        raise InvalidAnswer(f"none of the fields {', '.join(_SHAPES[task])}")
    return out


def _item(value: object) -> str:
    if isinstance(value, dict):  # {"id": "H2", "explanation": "…"}
        return " ".join(str(v) for v in value.values())
    return str(value)


@dataclass(frozen=True, slots=True)
class Allowed:
    """What the model may mention: users, links and timeline entries found in the evidence."""

    users: frozenset[str] = frozenset()
    urls: frozenset[str] = frozenset()
    entries: frozenset[int] = frozenset()
    hypotheses: int = 0


_USER_ID = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_URL = re.compile(r"https?://[^\s<>|)\]\"']+")


def allowed_from(
    incident: Incident, timeline: Sequence[TimelineEntry], evidence: Evidence | None
) -> Allowed:
    """Users, links and entry ids that the incident's own record contains."""
    texts = [e.text for e in timeline] + [incident.title]
    users = {u for t in texts for u in _USER_ID.findall(t)}
    users |= {e.actor for e in timeline if re.fullmatch(r"[UW][A-Z0-9]+", e.actor)}
    if incident.acknowledged_by:
        users.add(incident.acknowledged_by)
    urls = {u for t in texts for u in _URL.findall(t)}
    return Allowed(
        frozenset(users),
        frozenset(urls),
        frozenset(e.id for e in timeline if e.id is not None),
        len(evidence.hypotheses) if evidence else 0,
    )


_SPECIAL = re.compile(r"<([^<>]*)>")
_BROADCAST = re.compile(r"(?i)([@!])(channel|here|everyone)\b")
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\(([^)]*)\)")
_CITATION = re.compile(r"\[T(\d+)\]")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def sanitise(text: str, allowed: Allowed) -> str:
    """Model text made safe for Slack mrkdwn: no broadcasts, no unknown mentions or links."""
    text = _CONTROL.sub("", text)
    text = _MD_LINK.sub(lambda m: f"{m.group(1)} ({m.group(2)})", text)
    parts: list[str] = []
    last = 0
    for match in _SPECIAL.finditer(text):
        parts.append(_plain(text[last : match.start()], allowed))
        parts.append(_special(match.group(1), allowed))
        last = match.end()
    parts.append(_plain(text[last:], allowed))
    return "".join(parts)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str, allowed: Allowed) -> str:
    text = _URL.sub(
        lambda m: m.group(0) if m.group(0) in allowed.urls else messages.LINK_REMOVED, text
    )
    text = _BROADCAST.sub(lambda m: f"{m.group(1)}\u2060{m.group(2)}", text)
    text = _CITATION.sub(lambda m: m.group(0) if int(m.group(1)) in allowed.entries else "", text)
    return _escape(text)


def _special(inner: str, allowed: Allowed) -> str:
    """One ``<…>`` sequence: a kept mention or link, or its harmless text."""
    user = _USER_ID.fullmatch(f"<{inner}>")
    if user is not None:
        return f"<@{user.group(1)}>" if user.group(1) in allowed.users else f"@{user.group(1)}"
    target = inner.split("|", 1)[0]
    if _URL.fullmatch(target):
        return f"<{target}>" if target in allowed.urls else messages.LINK_REMOVED
    if inner.startswith(("!", "#", "@")):  # a broadcast, a channel, a user group: its name only
        sigil = "#" if inner.startswith("#") else "@"
        return _plain(sigil + (inner[1:].rsplit("|", maxsplit=1)[-1] or inner[1:]), allowed)
    return "&lt;" + _plain(inner, allowed) + "&gt;"


# ---------------------------------------------------------------- reports


def llm_report(
    task: Task, answer: Mapping[str, str | list[str]], allowed: Allowed, *, model: str
) -> Report:
    """The model's validated answer as a report, every string sanitised."""
    sections = []
    ranking: tuple[str, ...] = ()
    for name, value in answer.items():
        if name == "ranking" and isinstance(value, list):
            ranking = tuple(_hypothesis_ids(value, allowed.hypotheses))
        text = (
            sanitise(value, allowed)
            if isinstance(value, str)
            else "\n".join(f"• {sanitise(v, allowed)}" for v in value)
        )
        if text.strip():
            sections.append((_HEADINGS.get(name, name), text))
    return Report(task, tuple(sections), "llm", model, ranking)


def _hypothesis_ids(items: Sequence[str], count: int) -> list[str]:
    seen: list[str] = []
    for item in items:
        match = re.search(r"\bH(\d+)\b", item)
        if match and 1 <= int(match.group(1)) <= count and match.group(0) not in seen:
            seen.append(match.group(0))
    return seen


def template_report(
    task: Task,
    *,
    incident: Incident,
    alerts: Sequence[Alert],
    timeline: Sequence[TimelineEntry],
    evidence: Evidence | None,
    reason: str,
) -> Report:
    """The deterministic answer: built from the record alone, the same every time."""
    none = Allowed()
    firing = [a for a in alerts if a.state is AlertState.FIRING] or list(alerts)
    what = "; ".join(sanitise(a.summary, none) for a in firing[:3]) or sanitise(
        incident.title, none
    )
    cite = [e for e in timeline if e.id is not None]
    opened = cite[0] if cite else None
    recent = [e for e in cite if e.kind not in {"incident.opened"}][-3:]
    tried = (
        "\n".join(f"• {sanitise(e.text, none)} [T{e.id}]" for e in recent) or messages.NOTHING_YET
    )
    who = (
        messages.TEMPLATE_OWNER.format(user=incident.acknowledged_by)
        if incident.acknowledged_by
        else messages.TEMPLATE_NO_OWNER
    )
    top = evidence.hypotheses[0].title if evidence and evidence.hypotheses else None
    cause = sanitise(top, none) if top else messages.TEMPLATE_CAUSE_UNKNOWN
    labels = ", ".join(f"{k}={v}" for a in firing[:1] for k, v in a.labels)
    sections: list[tuple[str, str]] = [
        (
            _HEADINGS["what_happened"],
            messages.TEMPLATE_WHAT.format(
                what=what,
                labels=sanitise(labels, none),
                opened=_iso(incident.created_at),
                cite=f" [T{opened.id}]" if opened else "",
            ),
        ),
        (_HEADINGS["impact"], messages.TEMPLATE_IMPACT.format(severity=incident.severity)),
    ]
    if task is Task.POSTMORTEM:
        sections += _postmortem_sections(incident, cite, cause, evidence)
    else:
        sections += [
            (_HEADINGS["tried"], tried),
            (_HEADINGS["who"], who),
            (_HEADINGS["open_questions"], messages.TEMPLATE_OPEN.format(cause=cause)),
        ]
    return Report(task, tuple(sections), "template", reason)


def _postmortem_sections(
    incident: Incident,
    timeline: Sequence[TimelineEntry],
    cause: str,
    evidence: Evidence | None,
) -> list[tuple[str, str]]:
    none = Allowed()
    lines = [f"• `{_iso(e.at)}` {sanitise(e.text, none)} [T{e.id}]" for e in timeline]
    well, badly = [], []
    if incident.acknowledged_at is not None:
        minutes = (incident.acknowledged_at - incident.created_at) / 60
        well.append(messages.TEMPLATE_ACKED_IN.format(minutes=minutes))
    else:
        badly.append(messages.TEMPLATE_NEVER_ACKED)
    breaches = [e for e in timeline if "breach" in e.kind]
    badly += [f"{sanitise(e.text, none)} [T{e.id}]" for e in breaches]
    actions = [messages.TEMPLATE_CONFIRM_CAUSE]
    if evidence and evidence.hypotheses:
        actions.append(evidence.hypotheses[0].verify)
    return [
        (_HEADINGS["timeline"], "\n".join(lines) or messages.NOTHING_YET),
        (_HEADINGS["root_cause"], cause),
        (_HEADINGS["went_well"], "\n".join(f"• {w}" for w in well) or messages.NOTHING_YET),
        (_HEADINGS["went_badly"], "\n".join(f"• {b}" for b in badly) or messages.NOTHING_YET),
        (_HEADINGS["action_items"], "\n".join(f"• {a}" for a in actions)),
    ]


def evidence_text(evidence: Evidence, *, ranking: Sequence[str] = ()) -> str:
    """The computed evidence as mrkdwn: shown with or without an LLM (log text quoted, escaped)."""
    none = Allowed()
    numbered = {f"H{i}": h for i, h in enumerate(evidence.hypotheses, start=1)}
    order = [*ranking, *(k for k in numbered if k not in ranking)]
    lines = [messages.EVIDENCE_HEADER.format(ref=evidence.ref, onset=_iso(evidence.onset))]
    lines += [
        messages.EVIDENCE_HYPOTHESIS.format(
            rank=n, title=sanitise(numbered[k].title, none), score=numbered[k].score
        )
        for n, k in enumerate(order, start=1)
    ]
    if evidence.moved_together:
        moved = ", ".join(
            f"`{describe_series(c.series)}` (r={c.r:+.2f})" for c in evidence.moved_together[:5]
        )
        lines.append(messages.EVIDENCE_MOVED.format(series=moved))
    for aligned in evidence.aligned[:5]:
        quoted = sanitise(aligned.text[:300], none).replace("`", "'")
        lines.append(messages.EVIDENCE_EVENT.format(offset=round(aligned.offset_s), text=quoted))
    lines += [
        messages.EVIDENCE_CHANGE.format(at=_iso(c.at), change=sanitise(c.describe(), none))
        for c in evidence.changes
    ]
    lines.append(messages.EVIDENCE_REPRODUCE.format(text=evidence.reproduction))
    return "\n".join(lines)


def report_text(report: Report) -> str:
    """A report as one mrkdwn message body, labelled with where it came from."""
    label = (
        messages.AI_LABEL.format(model=report.note)
        if report.source == "llm"
        else messages.TEMPLATE_LABEL.format(reason=report.note)
    )
    body = "\n".join(f"*{heading}*\n{text}" for heading, text in report.sections)
    return f"{label}\n{body}"
