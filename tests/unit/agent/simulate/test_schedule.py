import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.errors import ScheduleError
from agent.simulate import (
    DEFAULT_FAULTS,
    DEFAULT_SCHEDULE,
    FaultSchedule,
    ScheduledFault,
    parse_schedule,
)


def test_parses_one_fault_and_fills_default_parameters():
    schedule = parse_schedule("gpu_saturation@20s+120s:node=gpu-node-2,gpu=3")

    assert schedule.faults == (
        ScheduledFault(
            at_s=20.0,
            duration_s=120.0,
            node="gpu-node-2",
            gpu=3,
            kind="gpu_saturation",
            params={"ramp_s": 30.0, "util": 0.985},
        ),
    )


def test_parses_several_faults_units_parameters_and_spaces():
    schedule = parse_schedule(
        " gpu_saturation@1.5m+1h:node=gpu-node-1,gpu=0,ramp_s=10 ;"
        "gpu_saturation@90+30s: node = gpu-node-2 , gpu = 7 , util = 0.99 "
    )

    first, second = schedule.faults
    assert (first.at_s, first.duration_s, first.node, first.gpu) == (90.0, 3600.0, "gpu-node-1", 0)
    assert first.params == {"ramp_s": 10.0, "util": 0.985}
    assert (second.at_s, second.duration_s, second.node, second.gpu) == (
        90.0,
        30.0,
        "gpu-node-2",
        7,
    )
    assert second.params == {"ramp_s": 30.0, "util": 0.99}


@pytest.mark.parametrize("text", ["", "   "])
def test_empty_text_means_no_faults(text):
    assert parse_schedule(text) == FaultSchedule()


def test_default_demo_saturates_gpu_3_of_node_2_from_20s_for_180s():
    (fault,) = DEFAULT_SCHEDULE.faults

    assert DEFAULT_FAULTS == "gpu_saturation@20s+180s:node=gpu-node-2,gpu=3"
    assert (fault.kind, fault.node, fault.gpu, fault.at_s, fault.duration_s) == (
        "gpu_saturation",
        "gpu-node-2",
        3,
        20.0,
        180.0,
    )


GOOD = "gpu_saturation@20s+120s:node=gpu-node-2,gpu=3"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            f"{GOOD};gpu_saturaton@20s+120s:node=gpu-node-2,gpu=3",
            "fault 2: unknown kind 'gpu_saturaton'; "
            "expected one of: driver_mismatch, gpu_memory_leak, gpu_saturation",
        ),
        (
            "saturate gpu 3",
            "fault 1: cannot read 'saturate gpu 3'; expected KIND@START+DURATION:node=NODE"
            "[,gpu=INDEX][,key=value...], e.g. gpu_saturation@20s+120s:node=gpu-node-2,gpu=3",
        ),
        (f"{GOOD};", "fault 2: cannot read ''"),
        (
            "gpu_saturation@2x+120s:node=n,gpu=3",
            "fault 1: bad start '2x'; expected a time like 20s, 5m or 1h",
        ),
        (
            "gpu_saturation@20s+-5s:node=n,gpu=3",
            "fault 1: bad duration '-5s'; expected a time like 20s, 5m or 1h",
        ),
        ("gpu_saturation@20s+0s:node=n,gpu=3", "fault 1: duration must be more than 0, got 0.0"),
        ("gpu_saturation@20s+1m", "fault 1: missing node=NODE"),
        ("gpu_saturation@20s+1m:gpu=3", "fault 1: missing node=NODE"),
        ("gpu_saturation@20s+1m:node=gpu-node-1", "fault 1: gpu_saturation needs gpu=INDEX"),
        ("gpu_saturation@20s+1m:node=n,gpu3", "fault 1: bad option 'gpu3'; expected key=value"),
        ("gpu_saturation@20s+1m:node=n,gpu=", "fault 1: bad option 'gpu='; expected key=value"),
        ("gpu_saturation@20s+1m:node=n,gpu=1,gpu=2", "fault 1: option 'gpu' given twice"),
        (
            "gpu_saturation@20s+1m:node=n,gpu=-1",
            "fault 1: gpu must be a GPU index (0, 1, ...), got '-1'",
        ),
        (
            "gpu_saturation@20s+1m:node=n,gpu=three",
            "fault 1: gpu must be a GPU index (0, 1, ...), got 'three'",
        ),
        (
            "gpu_saturation@20s+1m:node=-x,gpu=1",
            "fault 1: node must be a node name like gpu-node-1, got '-x'",
        ),
        (
            "gpu_saturation@20s+1m:node=n,gpu=1,rampp=3",
            "fault 1: unknown option 'rampp' for gpu_saturation; expected: node, gpu, ramp_s, util",
        ),
        (
            "gpu_saturation@20s+1m:node=n,gpu=1,ramp_s=fast",
            "fault 1: ramp_s must be a number, got 'fast'",
        ),
        (
            "gpu_saturation@20s+1m:node=n,gpu=1,util=1.5",
            "fault 1: util must be between 0 and 1, got 1.5",
        ),
        (
            "gpu_saturation@20s+1m:node=n,gpu=1,util=nan",
            "fault 1: util must be between 0 and 1, got nan",
        ),
    ],
)
def test_errors_name_the_fault_and_the_bad_part(text, message):
    with pytest.raises(ScheduleError) as caught:
        parse_schedule(text)

    assert str(caught.value).startswith(message)


def test_direct_construction_checks_the_same_rules():
    with pytest.raises(ScheduleError, match="unknown kind 'nope'"):
        ScheduledFault(0, 10, "gpu-node-1", 0, "nope")
    with pytest.raises(ScheduleError, match="start must not be negative"):
        ScheduledFault(-1, 10, "gpu-node-1", 0, "gpu_saturation")
    with pytest.raises(ScheduleError, match="gpu_saturation cannot take gpu=-1"):
        ScheduledFault(0, 10, "gpu-node-1", -1, "gpu_saturation")


def test_a_fault_is_active_from_its_start_until_just_before_its_end():
    fault = ScheduledFault(20, 10, "gpu-node-1", 0, "gpu_saturation")

    assert fault.elapsed(19.9) is None
    assert fault.elapsed(20.0) == 0.0
    assert fault.elapsed(29.5) == 9.5
    assert fault.elapsed(30.0) is None


def test_for_gpu_picks_the_faults_aimed_at_that_gpu():
    schedule = parse_schedule(
        "gpu_saturation@1s+1s:node=a,gpu=1;gpu_saturation@2s+1s:node=b,gpu=1;"
        "gpu_saturation@3s+1s:node=a,gpu=1"
    )

    assert [f.at_s for f in schedule.for_gpu("a", 1)] == [1.0, 3.0]
    assert schedule.for_gpu("a", 2) == ()


faults = st.builds(
    ScheduledFault,
    at_s=st.integers(0, 10_000).map(lambda n: n / 2),
    duration_s=st.integers(1, 10_000).map(lambda n: n / 4),
    node=st.from_regex(r"[a-z0-9][a-z0-9._-]{0,20}", fullmatch=True),
    gpu=st.integers(0, 15),
    kind=st.sampled_from(["gpu_saturation"]),
    params=st.fixed_dictionaries(
        {}, optional={"ramp_s": st.integers(0, 600).map(float), "util": st.floats(0.0, 1.0)}
    ),
)


@settings(database=None, max_examples=200)
@given(st.lists(faults, max_size=5).map(tuple).map(FaultSchedule))
def test_text_form_reads_back_to_the_same_schedule(schedule):
    assert parse_schedule(schedule.to_text()) == schedule
