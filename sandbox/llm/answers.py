"""How the stand-in composes an answer: echo, or an evidence-aware reading of the data block.

The evidence-aware model behaves like a careful LLM: it finds the fenced data block, answers in
the JSON shape the system prompt asks for, cites timeline entries by id, ranks the bot's
hypotheses as given and quotes (never obeys) the log lines near the onset.
"""

from __future__ import annotations

import json
import re
from typing import Any

_DATA = re.compile(r"<<<DATA (\S+)>>>\n(.*)\n<<<END DATA \1>>>", re.DOTALL)
_SHAPE = re.compile(r"shape: \{(.*)\}\s*$", re.DOTALL)
_FIELD = re.compile(r'"(\w+)": (\[strings\]|string)')


def last_user_text(messages: list[dict[str, Any]]) -> str:
    """The text of the last user message ("" when there is none)."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content", "")
            return content if isinstance(content, str) else json.dumps(content)
    return ""


def evidence_answer(messages: list[dict[str, Any]]) -> str:
    """A JSON answer in the shape the system prompt asks for, built from the data block."""
    system = next((m.get("content", "") for m in messages if m.get("role") == "system"), "")
    shape = _SHAPE.search(str(system))
    fields = _FIELD.findall(shape.group(1)) if shape else [("summary", "string")]
    match = _DATA.search(last_user_text(messages))
    data = json.loads(match.group(2)) if match else {}
    facts = _Facts(data if isinstance(data, dict) else {})
    answer: dict[str, Any] = {}
    for name, kind in fields:
        text = facts.field(name)
        answer[name] = text if kind == "string" else [t for t in text.split("\n") if t]
    return json.dumps(answer)


class _Facts:
    def __init__(self, data: dict[str, Any]) -> None:
        self.incident = data.get("incident", {})
        self.alerts = data.get("alerts", [])
        self.timeline = data.get("timeline", [])
        self.evidence = data.get("evidence") or {}

    def field(self, name: str) -> str:
        timeline = self.timeline
        cite = {e["kind"]: e["id"] for e in timeline}
        opened = cite.get("incident.opened", timeline[0]["id"] if timeline else "")
        hypotheses = self.evidence.get("hypotheses", [])
        events = self.evidence.get("events_near_onset", [])
        owner = self.incident.get("acknowledged_by")
        texts = {
            "what_happened": f"{self.incident.get('title', 'An incident')} [{opened}]",
            "summary": f"{self.incident.get('title', '')} [{opened}]",
            "impact": f"Severity {self.incident.get('severity')}: {len(self.alerts)} alert(s)",
            "tried": "\n".join(f"{e['text']} [{e['id']}]" for e in timeline[1:4]) or "-",
            "who": f"<@{owner}> is on it." if owner else "Nobody has acknowledged it yet.",
            "open_questions": "Is the top hypothesis confirmed?",
            "ranking": "\n".join(f"{h['id']}: {h['title']}" for h in hypotheses),
            "note": "\n".join(f'Log near the onset: "{e["event"]}"' for e in events[:3]),
            "root_cause": hypotheses[0]["title"] if hypotheses else "Not determined.",
            "went_well": "The alert fired and the incident opened automatically.",
            "went_badly": "The cause was found late.",
            "action_items": "Add a canary stage for this signal.",
        }
        return texts.get(name, "")
