"""``apps.connections.open`` on the sandbox as slack_sdk sees it: only the app token connects."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from sandbox.serving import ServerThread
from sandbox.slack import create_app

BOT_TOKEN, APP_TOKEN = "xoxb-socket-test", "xapp-1-socket-test"


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    app = create_app(
        bot_token=BOT_TOKEN, signing_secret="socket-secret", request_url=None, app_token=APP_TOKEN
    )
    server = ServerThread(app, None)
    server.start()
    yield server.url
    server.request_stop()
    server.wait_stopped()


def test_the_app_token_gets_a_one_time_websocket_url(sandbox_url: str) -> None:
    client = WebClient(base_url=f"{sandbox_url}/api/", retry_handlers=[])
    url = client.apps_connections_open(app_token=APP_TOKEN)["url"]
    assert url.startswith(sandbox_url.replace("http", "ws", 1) + "/link/?ticket=")


@pytest.mark.parametrize(
    ("token", "error"), [(BOT_TOKEN, "invalid_auth"), ("xapp-1-other", "invalid_auth")]
)
def test_other_tokens_are_refused(sandbox_url: str, token: str, error: str) -> None:
    client = WebClient(base_url=f"{sandbox_url}/api/", retry_handlers=[])
    with pytest.raises(SlackApiError) as refused:
        client.apps_connections_open(app_token=token)
    assert refused.value.response["error"] == error
