"""Label matchers as Alertmanager writes them (``=``, ``!=``, ``=~``, ``!~``), and alert label sets.

A missing label matches as the empty string, and regular expressions are anchored at both ends,
exactly as in Alertmanager: ``node=~"n0[1-3]"`` matches ``n01`` but not ``n010``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from bot.core.alerts import Alert

_MATCHER_RE = re.compile(r'^\s*([A-Za-z_]\w*)\s*(=~|!~|!=|=)\s*"?(.*?)"?\s*$')


class MatchOp(StrEnum):
    """How a matcher compares a label's value."""

    EQ = "="
    NE = "!="
    RE = "=~"
    NRE = "!~"


@dataclass(frozen=True, slots=True)
class Matcher:
    """One condition on one label."""

    name: str
    value: str
    op: MatchOp = MatchOp.EQ

    def __post_init__(self) -> None:
        if self.op in {MatchOp.RE, MatchOp.NRE}:
            try:
                re.compile(self.value)
            except re.error as exc:
                msg = f"matcher {self}: expected a regular expression, {exc}"
                raise ValueError(msg) from exc

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{self.value}"'

    @classmethod
    def parse(cls, text: str) -> Matcher:
        """Read ``name=value``, ``name!=value``, ``name=~regex`` or ``name!~regex``."""
        found = _MATCHER_RE.match(text)
        if found is None:
            msg = f"matcher {text!r}: expected name=value, name!=value, name=~regex or name!~regex"
            raise ValueError(msg)
        name, op, value = found.groups()
        return cls(name, value, MatchOp(op))

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfy this matcher (a missing label is the empty string)."""
        actual = labels.get(self.name, "")
        if self.op is MatchOp.EQ:
            return actual == self.value
        if self.op is MatchOp.NE:
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op is MatchOp.RE else not found


def matches_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether ``labels`` satisfy every matcher."""
    return all(m.matches(labels) for m in matchers)


def alert_labels(alert: Alert) -> dict[str, str]:
    """The labels matchers see: identifying labels plus ``alertname`` (the rule) and ``level``."""
    return {"alertname": alert.rule, "level": alert.level.value, **dict(alert.labels)}
