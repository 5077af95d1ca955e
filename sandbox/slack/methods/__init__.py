"""The Web API methods of the stand-in, each a function of one :class:`Call`.

Every method returns the fields of a successful answer (``ok`` is added by the caller) or raises
:class:`~sandbox.slack.errors.SlackError` with the code Slack would return.
"""

from sandbox.slack.methods import chat, conversations, files, users, views
from sandbox.slack.methods.call import Call, Method, Result

METHODS: dict[str, Method] = (
    chat.METHODS | conversations.METHODS | users.METHODS | views.METHODS | files.METHODS
)

__all__ = ["METHODS", "Call", "Method", "Result"]
