"""Workspace state: ids, ts ordering, threads and edits."""

from __future__ import annotations

import pytest

from sandbox.slack.errors import SlackError
from sandbox.slack.workspace import BOT_USER_ID, Workspace, slack_id, ts_key

FROZEN = 1732740000.0001


def frozen_workspace() -> Workspace:
    return Workspace(clock=lambda: FROZEN)


def test_ids_derive_from_names() -> None:
    ws = frozen_workspace()
    assert slack_id("C", "gpu-alerts") == "C0GPUALERTS"
    assert set(ws.users) == {"U0ALICE", "U0BOB", "U0CAROL", BOT_USER_ID}
    assert set(ws.channels) == {"C0GPUALERTS", "C0GENERAL"}


def test_ts_is_slack_shaped_unique_and_increasing_under_a_frozen_clock() -> None:
    ws = frozen_workspace()
    stamps = [ws.next_ts() for _ in range(3)]
    assert stamps == ["1732740000.000100", "1732740000.000101", "1732740000.000102"]


def test_ts_key_orders_exactly() -> None:
    assert ts_key("1732740000.000100") < ts_key("1732740000.0002") < ts_key("1732740001")


def test_channel_is_found_by_id_hash_name_and_name() -> None:
    ws = frozen_workspace()
    assert ws.channel("C0GPUALERTS") is ws.channel("#gpu-alerts") is ws.channel("gpu-alerts")
    with pytest.raises(SlackError, match="channel_not_found"):
        ws.channel("#nope")


def test_reply_to_a_reply_joins_the_parent_thread() -> None:
    ws = frozen_workspace()
    channel = ws.channel("gpu-alerts")
    parent = ws.post(channel, user=ws.bot, text="alert", blocks=[])
    first = ws.post(channel, user=ws.user("alice"), text="on it", blocks=[], thread_ts=parent.ts)
    second = ws.post(channel, user=ws.bot, text="ok", blocks=[], thread_ts=first.ts)
    assert second.thread_ts == parent.ts
    rendered = parent.to_api()
    assert rendered["reply_count"] == 2
    assert rendered["reply_users"] == ["U0ALICE", BOT_USER_ID]
    assert rendered["latest_reply"] == second.ts
    assert channel.messages == [parent]


def test_reply_to_unknown_thread_fails() -> None:
    ws = frozen_workspace()
    with pytest.raises(SlackError, match="thread_not_found"):
        ws.post(ws.channel("general"), user=ws.bot, text="x", blocks=[], thread_ts="1.000001")


def test_edit_marks_the_message_edited_and_keeps_blocks_when_none_given() -> None:
    ws = frozen_workspace()
    channel = ws.channel("general")
    blocks = [{"type": "divider", "block_id": "d"}]
    message = ws.post(channel, user=ws.bot, text="before", blocks=blocks)
    ws.edit(message, text="after", blocks=None, user=ws.bot)
    assert (message.text, message.blocks) == ("after", blocks)
    assert message.to_api()["edited"]["user"] == BOT_USER_ID


def test_deleting_a_parent_removes_its_replies() -> None:
    ws = frozen_workspace()
    channel = ws.channel("general")
    parent = ws.post(channel, user=ws.bot, text="p", blocks=[])
    reply = ws.post(channel, user=ws.bot, text="r", blocks=[], thread_ts=parent.ts)
    ws.delete(channel, parent)
    assert channel.messages == []
    assert reply.ts not in channel.index


WINTER, SUMMER = 1767225600.0, 1782864000.0  # 2026-01-01 and 2026-07-01, UTC


@pytest.mark.parametrize(
    ("now", "offsets"),
    [
        pytest.param(WINTER, {"alice": -8, "bob": 0, "carol": 8}, id="winter"),
        pytest.param(SUMMER, {"alice": -7, "bob": 1, "carol": 8}, id="summer"),
    ],
)
def test_people_carry_their_time_zone_offsets(now: float, offsets: dict[str, int]) -> None:
    ws = Workspace(clock=lambda: now)
    for name, hours in offsets.items():
        assert ws.user(name).to_api(now)["tz_offset"] == hours * 3600


def test_a_dm_holds_its_person_and_the_bot_only() -> None:
    ws = frozen_workspace()
    im, existed = ws.open_im(ws.user("alice"))
    assert (im.id, existed, ws.open_im(ws.user("alice"))[1]) == ("D0ALICE", False, True)
    assert ws.is_member(im, ws.user("alice"))
    assert ws.is_member(im, ws.bot)
    assert not ws.is_member(im, ws.user("bob"))
    assert ws.member_count(im) == 2
    with pytest.raises(SlackError, match="channel_not_found"):
        ws.channel("")  # a DM has no name to find it by
    with pytest.raises(SlackError, match="cannot_dm_bot"):
        ws.open_im(ws.bot)


def test_every_visible_change_bumps_the_feed() -> None:
    ws = frozen_workspace()
    channel = ws.channel("general")
    message = ws.post(channel, user=ws.bot, text="x", blocks=[])
    ws.react(message, name="eyes", user=ws.user("bob"))
    with pytest.raises(SlackError, match="already_reacted"):
        ws.react(message, name="eyes", user=ws.user("bob"))
    ws.set_members(ws.usergroups["S0GPUONCALL"], ["U0CAROL", "U0CAROL"])
    assert ws.usergroups["S0GPUONCALL"].users == ["U0CAROL"]
    assert (ws.changes.version, ws.changes.kind) == (3, "usergroup")
