from bot.core.incidents import Severity
from bot.core.policy import AccessPolicy, SeverityPolicy, SlaPolicy, deadlines

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


def test_access_policy_wildcard_and_named_users():
    policy = AccessPolicy((("acknowledge", frozenset({"*"})), ("resolve", frozenset({"U1"}))))
    assert policy.allows("anyone", "acknowledge")
    assert policy.allows("U1", "resolve")
    assert not policy.allows("U2", "resolve")
    assert not policy.allows("U1", "delete")
