"""The sandbox's signer agrees with slack_sdk's own SignatureVerifier."""

from __future__ import annotations

import time

from slack_sdk.signature import SignatureVerifier

from sandbox.slack.signing import sign

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BODY = b"token=xyz&team_id=T0SANDBOX&command=%2Fincident&text=list"


class FixedClock:
    def __init__(self, now: float) -> None:
        self._now = now

    def now(self) -> float:
        return self._now


def test_signature_is_accepted_by_slack_sdk_verifier() -> None:
    timestamp = str(int(time.time()))
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(SECRET, timestamp, BODY),
    }
    assert SignatureVerifier(SECRET).is_valid_request(BODY, headers)


def test_signature_equals_slack_sdk_generated_signature() -> None:
    verifier = SignatureVerifier(SECRET, clock=FixedClock(1531420618))
    assert sign(SECRET, "1531420618", BODY) == verifier.generate_signature(
        timestamp="1531420618", body=BODY
    )


def test_signature_matches_slack_documentation_example() -> None:
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&"
        b"channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&"
        b"command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2F"
        b"commands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&"
        b"trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    expected = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    assert sign(SECRET, "1531420618", body) == expected


def test_signature_with_another_secret_is_rejected() -> None:
    timestamp = str(int(time.time()))
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign("not-the-secret", timestamp, BODY),
    }
    assert not SignatureVerifier(SECRET).is_valid_request(BODY, headers)


def test_stale_timestamp_is_rejected_even_when_correctly_signed() -> None:
    stale = str(int(time.time()) - 301)
    headers = {"X-Slack-Request-Timestamp": stale, "X-Slack-Signature": sign(SECRET, stale, BODY)}
    assert not SignatureVerifier(SECRET).is_valid_request(BODY, headers)


def test_signature_covers_the_exact_body_bytes() -> None:
    timestamp = str(int(time.time()))
    headers = {
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": sign(SECRET, timestamp, BODY),
    }
    assert not SignatureVerifier(SECRET).is_valid_request(BODY + b"&extra=1", headers)
