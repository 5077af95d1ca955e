from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from bot.core.incidents import Severity
from bot.core.policy import AccessPolicy, Rotation, SeverityPolicy, SlaPolicy, deadlines

SLA = SlaPolicy(
    (
        SeverityPolicy(Severity.P1, "down", 300, 1800, "restore", "fail over"),
        SeverityPolicy(Severity.P2, "slow", 900, 3600, "mitigate", "scale out"),
        SeverityPolicy(Severity.P3, "warn", 3600, 86400, "root-cause", "find the cause"),
    )
)


def test_p1_must_be_acknowledged_in_5_minutes_and_restored_in_30():
    ack, restore = deadlines(SLA, Severity.P1, opened_at=1000.0)
    assert (ack.name, ack.due) == ("ack", 1300.0)
    assert (restore.name, restore.due) == ("restore", 2800.0)


def weekly(zone: str = "Europe/Berlin") -> Rotation:
    start = datetime(2026, 1, 5, 9, 0, tzinfo=ZoneInfo(zone))
    return Rotation("primary", ("alice", "bob", "carol"), 7, time(9), zone, start)


def at(text: str, zone: str = "Europe/Berlin") -> float:
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(zone)).timestamp()


def test_weekly_rotation_hands_off_at_local_handoff_time():
    rotation = weekly()
    assert rotation.on_call(now=at("2026-01-05T09:00")) == "alice"
    assert rotation.on_call(now=at("2026-01-12T08:59")) == "alice"
    assert rotation.on_call(now=at("2026-01-12T09:00")) == "bob"
    assert rotation.on_call(now=at("2026-01-26T10:00")) == "alice"  # wrapped around


def test_next_on_call_names_the_next_user_and_the_handoff_instant():
    user, starts = weekly().next_on_call(now=at("2026-01-06T12:00"))
    assert user == "bob"
    assert datetime.fromtimestamp(starts, tz=UTC) == datetime(2026, 1, 12, 8, 0, tzinfo=UTC)


def test_access_policy_wildcard_and_named_users():
    policy = AccessPolicy((("acknowledge", frozenset({"*"})), ("resolve", frozenset({"U1"}))))
    assert policy.allows("anyone", "acknowledge")
    assert policy.allows("U1", "resolve")
    assert not policy.allows("U2", "resolve")
    assert not policy.allows("U1", "delete")
