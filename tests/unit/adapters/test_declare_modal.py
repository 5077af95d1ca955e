"""The declare-incident modal: within Slack's view limits, and read back as entered."""

from slack_sdk.models.views import View

from bot.adapters.slack.modals import declare_view, read_declaration
from bot.core.incidents import Severity
from sandbox.slack.viewspec import parse_view


def test_the_modal_is_a_valid_slack_view_that_remembers_the_channel():
    view = declare_view(channel="C0ALERTS")
    model = View(**view)
    model.validate_json()  # raises over Slack's limits
    assert model.to_dict() == view
    assert parse_view(view) is not None  # the sandbox's views.open check
    assert view["callback_id"] == "incident.declare"
    assert view["private_metadata"] == "C0ALERTS"


def test_the_submitted_values_are_read_back():
    view = declare_view(channel="C0ALERTS") | {
        "state": {
            "values": {
                "declare.title": {"declare.title": {"type": "plain_text_input", "value": "503s"}},
                "declare.severity": {
                    "declare.severity": {
                        "type": "static_select",
                        "selected_option": {"value": "P1"},
                    }
                },
                "declare.description": {
                    "declare.description": {"type": "plain_text_input", "value": None}
                },
            }
        }
    }
    entered = read_declaration(view)
    assert (entered.title, entered.severity, entered.description, entered.channel) == (
        "503s",
        Severity.P1,
        "",
        "C0ALERTS",
    )
