"""Secret redaction: every text that leaves the bot for an LLM passes through :func:`redact`.

Each match is replaced with ``[REDACTED:<kind>]``. The patterns follow detect-secrets' plugins
(Slack, OpenAI, AWS, JWT, private keys, basic auth in URLs, GitHub tokens, keywords,
high-entropy strings); they err on the side of removing too much, since an over-redacted log line
costs a little context and a leaked token costs a rotation.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

_KEYWORDS = (
    r"pass(?:word|wd)?|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key"
    r"|client[_-]?(?:secret|key(?:[_-]?data)?)|auth(?:orization)?|credentials?|session[_-]?key"
    r"|signing[_-]?secret"
)
_MIN_ENTROPY_BITS = 3.0  # Shannon bits per character of a random-looking value
_MIN_SECRET_CHARS = 16


@dataclass(frozen=True, slots=True)
class _Pattern:
    kind: str
    regex: re.Pattern[str]
    group: int = 0  # the group that holds the secret (0: the whole match)
    accept: Callable[[str], bool] | None = None


def _entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


# words of at most 12 characters joined by _ . / or - : gpuwarden_gpu_process_memory_used_bytes,
# serving/deepseek-v3-blue, vllm.serving.ttft — names people write; a token has a long random
# run, or capitals inside its runs
_WORDY = re.compile(r"[A-Za-z][a-z0-9]{0,11}(?:[_./-][A-Za-z0-9][a-z0-9]{0,11})+")


def _random_looking(value: str) -> bool:
    """Long, high-entropy, and not an identifier made of words (a metric or deployment name)."""
    if len(value) < _MIN_SECRET_CHARS or _entropy(value) < _MIN_ENTROPY_BITS:
        return False
    return not _WORDY.fullmatch(value)


_PATTERNS: tuple[_Pattern, ...] = (
    _Pattern(
        "private_key",
        re.compile(
            r"-----BEGIN[A-Z ]*PRIVATE KEY-----.*?(?:-----END[A-Z ]*PRIVATE KEY-----|\Z)",
            re.DOTALL,
        ),
    ),
    _Pattern("slack_token", re.compile(r"\bxox[abposre]-[A-Za-z0-9-]{8,}")),
    _Pattern("slack_token", re.compile(r"\bxapp-\d-[A-Za-z0-9-]{8,}")),
    _Pattern("slack_webhook", re.compile(r"https://hooks\.slack\.com/services/[A-Za-z0-9/_-]+")),
    _Pattern("openai_key", re.compile(r"\bsk-(?:proj-|svcacct-)?[A-Za-z0-9_-]{16,}")),
    _Pattern("github_token", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{20,}")),
    _Pattern("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b")),
    _Pattern(
        "aws_secret_key",
        re.compile(r"(?i)aws_?secret_?(?:access_?)?key\W{0,3}\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})"),
        group=1,
    ),
    _Pattern("jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]+")),
    _Pattern(
        "bearer_token", re.compile(r"(?i)\b(?:bearer|token)\s+([A-Za-z0-9._~+/=-]{12,})"), group=1
    ),
    _Pattern("url_password", re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s:/@]+:([^\s@/]+)@"), 1),
    _Pattern(
        "keyword_secret",
        re.compile(
            rf"(?i)\b(?:[a-z0-9_.-]*(?:{_KEYWORDS}))[\"']?\s*[:=]\s*[\"']?([^\s\"',;&]{{6,}})"
        ),
        group=1,
    ),
    _Pattern(
        "high_entropy",
        re.compile(r"(?i)\b[a-z0-9_.-]+\s*[:=]\s*[\"']?([A-Za-z0-9+/_=-]{16,})"),
        group=1,
        accept=_random_looking,
    ),
)


def _placeholder(kind: str) -> str:
    return f"[REDACTED:{kind}]"


def redact(text: str) -> str:
    """``text`` with every secret-looking substring replaced by ``[REDACTED:<kind>]``."""
    for pattern in _PATTERNS:
        text = pattern.regex.sub(partial(_replace, pattern=pattern), text)
    return text


def _replace(match: re.Match[str], *, pattern: _Pattern) -> str:
    secret = match.group(pattern.group)
    if secret.startswith("[REDACTED:") or (
        pattern.accept is not None and not pattern.accept(secret)
    ):
        return match.group(0)
    start, end = match.span(pattern.group)
    offset = match.start(0)
    whole = match.group(0)
    return whole[: start - offset] + _placeholder(pattern.kind) + whole[end - offset :]
