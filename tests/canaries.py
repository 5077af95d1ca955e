"""Synthetic secrets ("canaries") for redaction tests: none of them may ever leave the bot.

Generated deterministically, so a failing test names the exact canary that got through.
"""

from __future__ import annotations

import base64
import json
import random
import string

_ALNUM = string.ascii_letters + string.digits


def _rand(rng: random.Random, n: int, alphabet: str = _ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _jwt(rng: random.Random) -> str:
    def part(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    head = part({"alg": "RS256", "kid": _rand(rng, 8)})
    body = part({"sub": f"system:serviceaccount:serving:{_rand(rng, 6)}", "n": _rand(rng, 12)})
    return f"{head}.{body}.{_rand(rng, 43, _ALNUM + '-_')}"


def _pem(rng: random.Random) -> str:
    body = "\n".join(_rand(rng, 64, _ALNUM + "+/") for _ in range(4))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{body}\n-----END RSA PRIVATE KEY-----"


def canaries(count: int = 220, *, seed: int = 7) -> list[tuple[str, str]]:
    """``count`` (secret, text that carries it) pairs across every kind of secret we redact."""
    rng = random.Random(seed)
    makers = [
        lambda: (s := f"xoxb-{rng.randint(10**11, 10**12)}-{_rand(rng, 24)}", f"token {s}"),
        lambda: (s := f"xoxp-{_rand(rng, 10, string.digits)}-{_rand(rng, 30)}", f"SLACK={s}"),
        lambda: (s := f"xapp-1-{_rand(rng, 11)}-{_rand(rng, 40)}", f"app token: {s}"),
        lambda: (s := f"sk-proj-{_rand(rng, 40)}", f"OPENAI_API_KEY={s}"),
        lambda: (s := f"sk-{_rand(rng, 48)}", f"using key {s} for summaries"),
        lambda: (s := f"AKIA{_rand(rng, 16, string.ascii_uppercase + string.digits)}", f"aws {s}"),
        lambda: (s := _rand(rng, 40, _ALNUM + "/+"), f"aws_secret_access_key = {s}"),
        lambda: (s := _jwt(rng), f"Authorization: Bearer {s}"),
        lambda: (s := _rand(rng, 32), f"curl -H 'Authorization: Bearer {s}' http://x"),
        lambda: (s := _pem(rng), f"client-key:\n{s}\n"),
        lambda: (s := _rand(rng, 14), f"postgresql://svc:{s}@db.internal:5432/prod"),
        lambda: (s := _rand(rng, 12), f"password={s} retry=3"),
        lambda: (s := _rand(rng, 20), f'"client_secret": "{s}"'),
        lambda: (s := base64.b64encode(rng.randbytes(48)).decode(), f"client-key-data: {s}"),
        lambda: (s := f"ghp_{_rand(rng, 36)}", f"cloned with {s}"),
        lambda: (s := _rand(rng, 32, "0123456789abcdef"), f"session_key={s}"),
        lambda: (s := _rand(rng, 24), f"hf_token: {s}"),
        lambda: (s := _rand(rng, 28, _ALNUM + "+/"), f"x_blob={s}"),
    ]
    return [makers[i % len(makers)]() for i in range(count)]
