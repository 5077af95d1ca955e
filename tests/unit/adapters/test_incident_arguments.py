"""Reading /incident arguments: refs, P-levels and mentions as Slack escapes them."""

import pytest

from bot.adapters.slack import arguments
from bot.core.errors import UserError
from bot.core.incidents import Severity


@pytest.mark.parametrize("text", ["INC-12", "inc-12", "12", " Inc12 "])
def test_an_incident_is_named_by_ref_or_number(text):
    assert arguments.incident_id(text) == 12


@pytest.mark.parametrize("text", ["INC-", "INC-x", "#12", "12a", "", "INC-1234567890"])
def test_anything_else_is_refused_showing_the_accepted_forms(text):
    with pytest.raises(UserError, match="write it as `INC-12`, `inc-12` or `12`"):
        arguments.incident_id(text)


@pytest.mark.parametrize(("text", "level"), [("P1", Severity.P1), ("p3", Severity.P3)])
def test_severity(text, level):
    assert arguments.severity(text) is level


@pytest.mark.parametrize("text", ["P4", "high", "1"])
def test_an_unknown_severity_lists_the_levels(text):
    with pytest.raises(UserError, match="use P1, P2 or P3"):
        arguments.severity(text)


@pytest.mark.parametrize(
    ("text", "user"),
    [("<@U0BOB|bob>", "U0BOB"), ("<@U0BOB>", "U0BOB"), ("W0ENTERPRISE", "W0ENTERPRISE")],
)
def test_a_mention_or_a_user_id_is_the_user(text, user):
    assert arguments.user_id(text) == user


def test_a_plain_name_is_left_for_a_lookup():
    assert arguments.user_id("@bob") is None
    assert arguments.user_name("@bob") == "bob"


@pytest.mark.parametrize("text", ["@", "<@bob", "@bob|x"])
def test_something_that_is_no_name_is_refused(text):
    with pytest.raises(UserError, match="is not a Slack user"):
        arguments.user_name(text)
