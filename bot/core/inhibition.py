"""Inhibition: a firing alert mutes others, by rules written as data, like Alertmanager's.

A rule mutes a *target* alert while a *source* alert is firing whose labels satisfy the source
matchers, the target satisfies the target matchers, and both carry the same non-empty value for
every ``equal`` label. (Alertmanager also treats a label missing on both sides as equal; we do
not, so a node-less P1 cannot mute every node-less P3.) An alert never mutes itself, and an alert
that matches both sides of a rule cannot be muted by another that does too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.core.matchers import Matcher, MatchOp, matches_all

LabelSet = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """Source alerts that mute target alerts sharing the ``equal`` labels."""

    name: str
    source: tuple[Matcher, ...]
    target: tuple[Matcher, ...]
    equal: tuple[str, ...] = ()

    def mutes(self, source: LabelSet, target: LabelSet) -> bool:
        """Whether a firing alert with ``source`` labels mutes one with ``target`` labels."""
        if not matches_all(self.source, source) or not matches_all(self.target, target):
            return False
        if matches_all(self.source, target) and matches_all(self.target, source):
            return False
        return all(source.get(name) and source.get(name) == target.get(name) for name in self.equal)


DEFAULT_INHIBIT_RULES = (
    InhibitRule(
        "silent-node-mutes-its-gpus",
        source=(Matcher("alertname", "node_not_reporting|node_down", MatchOp.RE),),
        target=(Matcher("gpu", ".+", MatchOp.RE),),
        equal=("node",),
    ),
    InhibitRule(
        "lost-gpu-mutes-its-metric-alerts",
        source=(Matcher("alertname", "gpu_lost"),),
        target=(
            Matcher("gpu", ".+", MatchOp.RE),
            Matcher("alertname", "gpu_lost|gpu_xid", MatchOp.NRE),
        ),
        equal=("node", "gpu"),
    ),
    InhibitRule(
        "p1-mutes-p3-of-its-deployment",
        source=(Matcher("severity", "P1"),),
        target=(Matcher("severity", "P3"),),
        equal=("deployment",),
    ),
)


def inhibiting(
    target_fingerprint: str,
    target: LabelSet,
    firing: Iterable[tuple[str, LabelSet]],
    rules: Iterable[InhibitRule],
) -> tuple[InhibitRule, LabelSet] | None:
    """The first rule and firing source alert (fingerprint, labels) that mute ``target``."""
    sources = [(fp, labels) for fp, labels in firing if fp != target_fingerprint]
    for rule in rules:
        for _, labels in sources:
            if rule.mutes(labels, target):
                return rule, labels
    return None
