from dataclasses import replace
from datetime import datetime, time

import pytest

from bot.core.alerts import Alert, AlertState, AlertTransition, Level, TransitionKind, fingerprint
from bot.core.grouping import Grouper, group_key
from bot.core.inhibition import DEFAULT_INHIBIT_RULES, InhibitRule, inhibiting
from bot.core.matchers import Matcher, MatchOp, alert_labels
from bot.core.noise import Cause, NoiseOutcome, NoisePolicy, NoiseSettings
from bot.core.silences import MaintenanceWindow, Silence, Silences

QUICK = NoiseSettings(group_wait_s=0.0, group_interval_s=0.0, grace_warn_s=0.0)
SILENT_NODE, LOST_GPU, P1_MUTES_P3 = DEFAULT_INHIBIT_RULES


def utc(text: str) -> float:
    return datetime.fromisoformat(text + "+00:00").timestamp()


def make_alert(rule: str, level: Level = Level.CRIT, **labels: str) -> Alert:
    pairs = tuple(sorted(labels.items()))
    return Alert(
        fingerprint(rule, pairs),
        rule,
        pairs,
        AlertState.FIRING,
        level,
        1.0,
        0.0,
        f"{rule} {labels}",
    )


def fired(alert: Alert, at: float) -> AlertTransition:
    return AlertTransition(TransitionKind.FIRED, alert, at)


def resolved(alert: Alert, at: float) -> AlertTransition:
    done = replace(alert, state=AlertState.RESOLVED, resolved_at=at)
    return AlertTransition(TransitionKind.RESOLVED, done, at)


def notified(outcome: NoiseOutcome) -> list[tuple[str, str]]:
    return [(t.kind.value, t.alert.rule) for g in outcome.groups for t in g.transitions]


def causes(outcome: NoiseOutcome) -> list[tuple[str, str, str]]:
    return [
        (s.cause.value, s.transition.kind.value, s.transition.alert.rule)
        for s in outcome.suppressed
    ]


GPU_TEMP = make_alert("gpu_temperature_high", node="n1", gpu="3")
NODE_SILENT = make_alert("node_not_reporting", node="n1")


# ------------------------------------------------------------------------------------ matchers


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ('node="n1"', {"node": "n1"}, True),
        ("node=n1", {"node": "n2"}, False),
        ("node!=n1", {"node": "n2"}, True),
        ("node!=n1", {}, True),
        ('node=""', {}, True),  # a missing label is the empty string
        ("node=~n0[1-3]", {"node": "n02"}, True),
        ("node=~n0[1-3]", {"node": "n010"}, False),  # anchored at both ends
        ("gpu=~.+", {}, False),
        ("alertname!~gpu_.*", {"alertname": "gpu_xid"}, False),
        ("alertname!~gpu_.*", {"alertname": "node_down"}, True),
    ],
)
def test_matchers(text, labels, matches):
    assert Matcher.parse(text).matches(labels) is matches


@pytest.mark.parametrize("text", ["node", "=n1", "node=~["])
def test_bad_matchers_are_refused(text):
    with pytest.raises(ValueError, match="matcher"):
        Matcher.parse(text)


def test_alert_labels_add_alertname_and_level():
    assert alert_labels(GPU_TEMP) == {
        "alertname": "gpu_temperature_high",
        "level": "crit",
        "node": "n1",
        "gpu": "3",
    }


# ------------------------------------------------------------------------------------ grouping


@pytest.mark.parametrize(
    ("labels", "group_by", "key"),
    [
        ({"alertname": "gpu_xid", "node": "n1", "gpu": "3"}, None, (("node", "n1"),)),
        ({"alertname": "ttft_high", "deployment": "ds-v3"}, None, (("deployment", "ds-v3"),)),
        ({"node": "n1", "deployment": "ds-v3"}, None, (("deployment", "ds-v3"),)),
        (
            {"node": "n1", "deployment": "ds-v3"},
            ("node", "deployment"),
            (("node", "n1"), ("deployment", "ds-v3")),
        ),
        ({"alertname": "ttft_high", "model_name": "m"}, ("node",), (("alertname", "ttft_high"),)),
        (
            {"alertname": "possible_network_partition", "scope": "fleet"},
            None,
            (("alertname", "possible_network_partition"),),
        ),
    ],
)
def test_group_key__is_the_scope_unless_group_by_names_labels(labels, group_by, key):
    assert group_key(labels, group_by) == key


def test_transitions_within_group_wait_go_out_as_one_group_per_key():
    grouper = Grouper(group_wait_s=10.0, group_interval_s=30.0)
    a, b = make_alert("a", node="n1"), make_alert("b", node="n1", gpu="2")
    c = make_alert("c", node="n2")
    grouper.add(fired(a, 0.0), 0.0)
    grouper.add(fired(c, 3.0), 3.0)
    grouper.add(fired(b, 5.0), 5.0)
    assert grouper.tick(9.9) == []
    (first,) = grouper.tick(10.0)
    assert first.key == (("node", "n1"),)
    assert [t.alert.rule for t in first.transitions] == ["a", "b"]
    assert first.opened_at == 0.0
    (second,) = grouper.tick(13.0)
    assert [t.alert.rule for t in second.transitions] == ["c"]


def test_a_group_notified_lately_waits_for_its_group_interval():
    grouper = Grouper(group_wait_s=10.0, group_interval_s=30.0)
    a = make_alert("a", node="n1")
    grouper.add(fired(a, 0.0), 0.0)
    grouper.tick(10.0)
    grouper.add(resolved(a, 12.0), 12.0)
    assert grouper.tick(39.0) == []
    assert len(grouper.tick(40.0)) == 1
    grouper.add(fired(a, 100.0), 100.0)  # the interval is long over: a fresh group_wait
    assert grouper.tick(109.0) == []
    assert len(grouper.tick(110.0)) == 1


# ---------------------------------------------------------------------------------- inhibition


@pytest.mark.parametrize(
    ("rule", "source", "target", "mutes"),
    [
        (
            SILENT_NODE,
            {"alertname": "node_not_reporting", "node": "n1"},
            {"alertname": "t", "node": "n1", "gpu": "3"},
            True,
        ),
        (
            SILENT_NODE,
            {"alertname": "node_down", "node": "n1"},
            {"alertname": "t", "node": "n1", "gpu": "3"},
            True,
        ),
        (
            SILENT_NODE,
            {"alertname": "node_not_reporting", "node": "n1"},
            {"alertname": "t", "node": "n2", "gpu": "3"},
            False,
        ),
        (
            SILENT_NODE,
            {"alertname": "node_not_reporting", "node": "n1"},
            {"alertname": "node_no_metrics", "node": "n1"},
            False,
        ),
        (
            LOST_GPU,
            {"alertname": "gpu_lost", "node": "n1", "gpu": "5"},
            {"alertname": "gpu_straggler_utilization", "node": "n1", "gpu": "5"},
            True,
        ),
        (
            LOST_GPU,
            {"alertname": "gpu_lost", "node": "n1", "gpu": "5"},
            {"alertname": "gpu_temperature_high", "node": "n1", "gpu": "4"},
            False,
        ),
        (
            LOST_GPU,
            {"alertname": "gpu_lost", "node": "n1", "gpu": "5"},
            {"alertname": "gpu_xid", "node": "n1", "gpu": "5"},
            False,
        ),
        (
            P1_MUTES_P3,
            {"severity": "P1", "deployment": "ds"},
            {"severity": "P3", "deployment": "ds"},
            True,
        ),
        (
            P1_MUTES_P3,
            {"severity": "P1", "deployment": "ds"},
            {"severity": "P2", "deployment": "ds"},
            False,
        ),
        (
            P1_MUTES_P3,
            {"severity": "P1", "deployment": "ds"},
            {"severity": "P3", "deployment": "other"},
            False,
        ),
        (P1_MUTES_P3, {"severity": "P1"}, {"severity": "P3"}, False),  # equal labels must exist
    ],
)
def test_default_inhibition_rules(rule, source, target, mutes):
    assert rule.mutes(source, target) is mutes


def test_an_alert_matching_both_sides_is_not_muted_by_another_that_does():
    rule = InhibitRule(
        "any-mutes-any",
        source=(Matcher("severity", "P.", MatchOp.RE),),
        target=(Matcher("severity", "P.", MatchOp.RE),),
        equal=("node",),
    )
    assert not rule.mutes({"severity": "P1", "node": "n1"}, {"severity": "P3", "node": "n1"})


def test_an_alert_never_mutes_itself():
    labels = {"alertname": "gpu_lost", "node": "n1", "gpu": "5", "severity": "P1"}
    rule = InhibitRule(
        "self", (Matcher("alertname", "gpu_lost"),), (Matcher("gpu", "5"),), ("node",)
    )
    assert inhibiting("fp1", labels, [("fp1", labels)], [rule]) is None
    assert inhibiting("fp2", labels | {"alertname": "x"}, [("fp1", labels)], [rule]) is not None


def test_silent_node_mutes_its_gpu_alert_until_it_reports_again():
    policy = NoisePolicy(QUICK)
    out = policy.filter([fired(GPU_TEMP, 0.0)], [NODE_SILENT, GPU_TEMP], 0.0)
    assert notified(out) == []
    (muted,) = out.suppressed
    assert muted.cause is Cause.INHIBITED
    assert "silent-node-mutes-its-gpus" in muted.reason
    assert "node_not_reporting" in muted.reason
    assert notified(policy.tick(5.0, firing=[NODE_SILENT, GPU_TEMP])) == []
    assert notified(policy.tick(10.0, firing=[GPU_TEMP])) == [("fired", "gpu_temperature_high")]
    out = policy.filter([resolved(GPU_TEMP, 20.0)], [], 20.0)
    assert notified(out) == [("resolved", "gpu_temperature_high")]


def test_p1_of_a_deployment_mutes_its_p3_when_labels_carry_severity():
    severity = {"serving_down": "P1", "ttft_high": "P3"}

    def labels_of(alert: Alert) -> dict[str, str]:
        return alert_labels(alert) | {"severity": severity[alert.rule]}

    down, slow = (
        make_alert("serving_down", deployment="ds"),
        make_alert("ttft_high", deployment="ds"),
    )
    policy = NoisePolicy(QUICK, labels_of=labels_of)
    out = policy.filter([fired(down, 0.0), fired(slow, 0.0)], [down, slow], 0.0)
    assert notified(out) == [("fired", "serving_down")]
    assert causes(out) == [("inhibited", "fired", "ttft_high")]
    assert "p1-mutes-p3-of-its-deployment" in out.suppressed[0].reason


def test_a_resolved_whose_firing_was_muted_is_not_notified():
    policy = NoisePolicy(QUICK)
    policy.filter([fired(GPU_TEMP, 0.0)], [NODE_SILENT, GPU_TEMP], 0.0)
    out = policy.filter([resolved(GPU_TEMP, 5.0)], [NODE_SILENT], 5.0)
    assert causes(out) == [("not_announced", "resolved", "gpu_temperature_high")]
    assert notified(policy.tick(10.0, firing=[])) == []


# ------------------------------------------------------------------------------------ silences


def silence(*matchers: str, starts: float = 0.0, ends: float = 3600.0) -> Silence:
    parsed = tuple(Matcher.parse(m) for m in matchers)
    return Silence("s1", parsed, starts, ends, created_by="alice", comment="kernel upgrade")


@pytest.mark.parametrize(
    ("matchers", "labels", "now", "silenced"),
    [
        (["node=n1"], {"node": "n1"}, 0.0, True),
        (["node=n1"], {"node": "n1"}, 3599.0, True),
        (["node=n1"], {"node": "n1"}, 3600.0, False),  # expired
        (["node=n1"], {"node": "n1"}, -1.0, False),  # not yet started
        (["node=n1"], {"node": "n2"}, 10.0, False),
        (["node=~n[0-9]+", "alertname!=gpu_xid"], {"node": "n17", "alertname": "x"}, 10.0, True),
        (
            ["node=~n[0-9]+", "alertname!=gpu_xid"],
            {"node": "n17", "alertname": "gpu_xid"},
            10.0,
            False,
        ),
        (["node=~n[0-9]+"], {"node": "gpu-n1"}, 10.0, False),
    ],
)
def test_silence_matchers_and_expiry(matchers, labels, now, silenced):
    assert Silences((silence(*matchers),)).is_silenced(labels, now) is silenced


@pytest.mark.parametrize(
    ("matchers", "starts", "ends"), [((), 0.0, 10.0), (("node=n1",), 10.0, 10.0)]
)
def test_bad_silences_are_refused(matchers, starts, ends):
    with pytest.raises(ValueError, match="silence s1"):
        silence(*matchers, starts=starts, ends=ends)


def test_silenced_alert_is_suppressed_with_who_and_why_and_announced_once_it_expires():
    policy = NoisePolicy(QUICK, silences=Silences((silence("node=n1", ends=100.0),)))
    out = policy.filter([fired(GPU_TEMP, 0.0)], [GPU_TEMP], 0.0)
    assert causes(out) == [("silenced", "fired", "gpu_temperature_high")]
    assert out.suppressed[0].reason == "silenced by silence s1 by alice: kernel upgrade"
    assert notified(policy.tick(99.0, firing=[GPU_TEMP])) == []
    assert notified(policy.tick(100.0, firing=[GPU_TEMP])) == [("fired", "gpu_temperature_high")]


def test_a_notified_alert_still_resolves_in_slack_under_a_new_silence():
    policy = NoisePolicy(QUICK)
    assert notified(policy.filter([fired(GPU_TEMP, 0.0)], [GPU_TEMP], 0.0)) == [
        ("fired", "gpu_temperature_high")
    ]
    policy.silences = Silences((silence("node=n1", starts=5.0),))
    out = policy.filter([resolved(GPU_TEMP, 10.0)], [], 10.0)
    assert notified(out) == [("resolved", "gpu_temperature_high")]


def test_a_change_of_a_muted_alert_is_announced_as_fired_once_unmuted():
    warn = make_alert("gpu_temperature_high", Level.WARN, node="n1", gpu="3")
    policy = NoisePolicy(QUICK, silences=Silences((silence("node=n1", ends=50.0),)))
    policy.filter([fired(warn, 0.0)], [warn], 0.0)
    crit = replace(warn, level=Level.CRIT)
    escalated = AlertTransition(TransitionKind.ESCALATED, crit, 60.0)
    out = policy.filter([escalated], [crit], 60.0)
    ((transition,),) = [g.transitions for g in out.groups]
    assert (transition.kind, transition.alert.level) == (TransitionKind.FIRED, Level.CRIT)


def test_restored_alert_resolves_in_slack_after_a_restart():
    policy = NoisePolicy(QUICK)
    policy.restore(GPU_TEMP)
    assert notified(policy.filter([resolved(GPU_TEMP, 1.0)], [], 1.0)) == [
        ("resolved", "gpu_temperature_high")
    ]


# ------------------------------------------------------------------------- maintenance windows


def window(days: set[int], start: time, end: time, tz: str) -> MaintenanceWindow:
    return MaintenanceWindow(
        "weekly-patching",
        (Matcher("node", "n1"),),
        frozenset(days),
        start,
        end,
        tz,
        created_by="ops",
        comment="kernel patches",
    )


SAT, SUN, FRI = 5, 6, 4
BERLIN_SAT = window({SAT}, time(2), time(6), "Europe/Berlin")
BERLIN_SUN_EARLY = window({SUN}, time(1), time(4), "Europe/Berlin")
NEW_YORK_FRI_NIGHT = window({FRI}, time(22), time(2), "America/New_York")


@pytest.mark.parametrize(
    ("win", "at", "active"),
    [
        # winter (CET = UTC+1): Saturday 02:00-06:00 local is 01:00-05:00 UTC
        (BERLIN_SAT, "2024-01-06T00:59:00", False),
        (BERLIN_SAT, "2024-01-06T01:00:00", True),
        (BERLIN_SAT, "2024-01-06T04:30:00", True),
        (BERLIN_SAT, "2024-01-06T05:00:00", False),
        (BERLIN_SAT, "2024-01-07T01:00:00", False),  # Sunday
        # summer (CEST = UTC+2): the same local window is 00:00-04:00 UTC
        (BERLIN_SAT, "2024-07-06T00:00:00", True),
        (BERLIN_SAT, "2024-07-06T04:30:00", False),
        # spring forward on Sunday 2024-03-31 at 02:00 CET: 01:00-04:00 local lasts 2 h
        (BERLIN_SUN_EARLY, "2024-03-30T23:59:00", False),
        (BERLIN_SUN_EARLY, "2024-03-31T00:30:00", True),  # 01:30 CET
        (BERLIN_SUN_EARLY, "2024-03-31T01:30:00", True),  # 03:30 CEST
        (BERLIN_SUN_EARLY, "2024-03-31T02:00:00", False),  # 04:00 CEST
        # fall back on Sunday 2024-10-27 at 03:00 CEST: 01:00-04:00 local lasts 4 h
        (BERLIN_SUN_EARLY, "2024-10-26T23:00:00", True),  # 01:00 CEST
        (BERLIN_SUN_EARLY, "2024-10-27T02:59:00", True),  # 03:59 CET
        (BERLIN_SUN_EARLY, "2024-10-27T03:00:00", False),  # 04:00 CET
        # past midnight: Friday 22:00 to Saturday 02:00 in New York (EST = UTC-5)
        (NEW_YORK_FRI_NIGHT, "2024-01-06T03:00:00", True),  # Fri 22:00
        (NEW_YORK_FRI_NIGHT, "2024-01-06T06:30:00", True),  # Sat 01:30
        (NEW_YORK_FRI_NIGHT, "2024-01-06T07:00:00", False),  # Sat 02:00
        (NEW_YORK_FRI_NIGHT, "2024-01-07T04:00:00", False),  # Sat 23:00
        (NEW_YORK_FRI_NIGHT, "2024-01-05T04:00:00", False),  # Thu 23:00
    ],
)
def test_weekly_maintenance_window_in_local_time(win, at, active):
    assert win.active(utc(at)) is active


def test_whole_day_window_when_end_equals_start():
    day = window({SAT}, time(0), time(0), "UTC")
    assert [
        day.active(utc(t))
        for t in (
            "2024-01-05T23:59:00",
            "2024-01-06T00:00:00",
            "2024-01-06T23:59:00",
            "2024-01-07T00:00:00",
        )
    ] == [False, True, True, False]


@pytest.mark.parametrize(("days", "tz"), [(set(), "UTC"), ({7}, "UTC"), ({SAT}, "Mars/Olympus")])
def test_bad_windows_are_refused(days, tz):
    with pytest.raises(ValueError, match="maintenance window weekly-patching"):
        window(days, time(2), time(6), tz)


def test_maintenance_window_mutes_with_its_name():
    at = utc("2024-01-06T02:00:00")
    policy = NoisePolicy(QUICK, silences=Silences(windows=(BERLIN_SAT,)))
    out = policy.filter([fired(GPU_TEMP, at)], [GPU_TEMP], at)
    assert causes(out) == [("silenced", "fired", "gpu_temperature_high")]
    assert out.suppressed[0].reason == (
        "silenced by maintenance window weekly-patching by ops: kernel patches"
    )


# ----------------------------------------------------------------------------------- flapping


def feed(policy: NoisePolicy, transitions: list[AlertTransition]) -> list[NoiseOutcome]:
    return [policy.filter([t], [], t.at) for t in transitions]


def toggles(alert: Alert, times: list[float]) -> list[AlertTransition]:
    return [(fired if i % 2 == 0 else resolved)(alert, at) for i, at in enumerate(times)]


def test_flapping_alert_is_held_with_one_notice_and_released_when_stable():
    policy = NoisePolicy(QUICK)
    outs = feed(policy, toggles(GPU_TEMP, [0.0, 60.0, 120.0, 180.0, 240.0, 300.0]))
    assert [notified(o) for o in outs[:3]] == [
        [("fired", "gpu_temperature_high")],
        [("resolved", "gpu_temperature_high")],
        [("fired", "gpu_temperature_high")],
    ]
    assert all(notified(o) == [] for o in outs[3:])
    assert [causes(o) for o in outs[3:]] == [
        [("flapping", "resolved", "gpu_temperature_high")],
        [("flapping", "fired", "gpu_temperature_high")],
        [("flapping", "resolved", "gpu_temperature_high")],
    ]
    (notice,) = [n for o in outs for n in o.notices]
    assert notice.held
    assert "changed 4 times in 10 min" in notice.text
    assert policy.tick(899.0, firing=[]).notices == ()
    released = policy.tick(900.0, firing=[])
    assert [n.held for n in released.notices] == [False]
    # people last saw it firing and it has resolved since: they are told
    assert notified(released) == [("resolved", "gpu_temperature_high")]


def test_released_flapper_that_people_saw_in_its_current_state_is_not_repeated():
    policy = NoisePolicy(QUICK)
    feed(policy, toggles(GPU_TEMP, [0.0, 60.0, 120.0, 180.0, 240.0]))  # ends firing, as notified
    released = policy.tick(840.0, firing=[GPU_TEMP])
    assert len(released.notices) == 1
    assert notified(released) == []


def test_changes_spread_beyond_the_window_are_not_flapping():
    policy = NoisePolicy(QUICK)
    outs = feed(policy, toggles(GPU_TEMP, [0.0, 200.0, 400.0, 700.0, 1400.0]))
    assert all(o.notices == () and o.suppressed == () for o in outs)
    assert sum(len(notified(o)) for o in outs) == 5


def test_flap_threshold_is_configurable():
    policy = NoisePolicy(replace(QUICK, flap_changes=2, flap_window_s=60.0, flap_stable_s=60.0))
    outs = feed(policy, toggles(GPU_TEMP, [0.0, 30.0]))
    assert [len(o.notices) for o in outs] == [0, 1]


# ---------------------------------------------------------------------------------- transient


WARN_TEMP = make_alert("gpu_temperature_high", Level.WARN, node="n1", gpu="3")
GRACE = replace(QUICK, grace_warn_s=60.0)


def test_warn_that_resolves_within_its_grace_is_never_notified():
    policy = NoisePolicy(GRACE)
    first = policy.filter([fired(WARN_TEMP, 0.0)], [WARN_TEMP], 0.0)
    assert (notified(first), first.suppressed) == ([], ())
    out = policy.filter([resolved(WARN_TEMP, 30.0)], [], 30.0)
    assert notified(out) == []
    assert causes(out) == [
        ("transient", "fired", "gpu_temperature_high"),
        ("transient", "resolved", "gpu_temperature_high"),
    ]
    assert "resolved 30 s after firing, within its 60 s grace" in out.suppressed[0].reason
    assert notified(policy.tick(100.0, firing=[])) == []


def test_warn_still_firing_after_its_grace_is_notified_then():
    policy = NoisePolicy(GRACE)
    policy.filter([fired(WARN_TEMP, 0.0)], [WARN_TEMP], 0.0)
    assert notified(policy.tick(59.0, firing=[WARN_TEMP])) == []
    out = policy.tick(60.0, firing=[WARN_TEMP])
    ((transition,),) = [g.transitions for g in out.groups]
    assert (transition.kind, transition.at) == (TransitionKind.FIRED, 0.0)


def test_crit_has_no_grace_by_default_but_may_get_one():
    assert notified(NoisePolicy(GRACE).filter([fired(GPU_TEMP, 0.0)], [], 0.0)) == [
        ("fired", "gpu_temperature_high")
    ]
    policy = NoisePolicy(replace(GRACE, grace_crit_s=30.0))
    policy.filter([fired(GPU_TEMP, 0.0)], [GPU_TEMP], 0.0)
    out = policy.filter([resolved(GPU_TEMP, 20.0)], [], 20.0)
    assert [c for c, _, _ in causes(out)] == ["transient", "transient"]


def test_escalation_to_crit_during_the_grace_is_notified_at_once_as_crit():
    policy = NoisePolicy(GRACE)
    policy.filter([fired(WARN_TEMP, 0.0)], [WARN_TEMP], 0.0)
    crit = replace(WARN_TEMP, level=Level.CRIT)
    out = policy.filter([AlertTransition(TransitionKind.ESCALATED, crit, 10.0)], [crit], 10.0)
    ((transition,),) = [g.transitions for g in out.groups]
    assert (transition.kind, transition.alert.level) == (TransitionKind.FIRED, Level.CRIT)
    assert causes(out) == [("transient", "escalated", "gpu_temperature_high")]


def test_flapping_cancels_a_fired_still_in_its_grace_and_announces_it_once_stable():
    policy = NoisePolicy(replace(GRACE, flap_changes=2))
    crit = replace(WARN_TEMP, level=Level.CRIT)
    policy.filter([fired(WARN_TEMP, 0.0)], [WARN_TEMP], 0.0)
    escalated = AlertTransition(TransitionKind.ESCALATED, crit, 10.0)
    out = policy.filter([escalated], [crit], 10.0)
    assert causes(out) == [
        ("flapping", "fired", "gpu_temperature_high"),
        ("flapping", "escalated", "gpu_temperature_high"),
    ]
    assert notified(policy.tick(100.0, firing=[crit])) == []
    released = policy.tick(610.0, firing=[crit])
    ((transition,),) = [g.transitions for g in released.groups]
    assert (transition.kind, transition.alert.level) == (TransitionKind.FIRED, Level.CRIT)
