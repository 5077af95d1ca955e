"""Automation endpoints under ``/_sandbox/``: act as a person, read state, steer the stand-in.

These are not part of Slack. Tests, the demo and the browser UI use them:

- ``POST /_sandbox/command``  ``{user, channel, command, text}`` → ``{status, body, error,
  ephemeral, message}``
- ``POST /_sandbox/click``    ``{user, channel, ts, action_id, value?}`` → ``{status, body, error}``
- ``POST /_sandbox/select``   ``{user, channel, ts, action_id, value}`` (a static_select's or
  overflow's option value, a users_select's user id) → ``{status, body, error}``
- ``POST /_sandbox/message``  ``{user, channel, text, thread_ts?}`` → ``{channel, ts, message}``
- ``GET  /_sandbox/views[?user=]`` → ``{views: {user_id: [{view, errors}, …root→front]}}``
- ``POST /_sandbox/submit``   ``{user, view_id, values: {block_id: {action_id: value}}}`` →
  ``{status, body, error, response_action, messages}``
- ``POST /_sandbox/close``    ``{user, view_id}`` → ``{status, body, error, closed}``
- ``GET  /_sandbox/users`` (with ``roles``), ``/_sandbox/channels`` (DMs too),
  ``/_sandbox/usergroups``, ``/_sandbox/files``
- ``GET  /_sandbox/messages?channel=gpu-alerts[&user=alice]`` → messages, oldest first, with
  ``replies`` nested, and the ephemerals (only ``user``'s when given)
- ``GET  /_sandbox/dm?user=alice`` → the bot's DM with alice and its messages
- ``POST /_sandbox/faults`` ``{method, error, count?, retry_after?, http_status?}``;
  ``GET``/``DELETE /_sandbox/faults``
- ``POST /_sandbox/reset``      start over with a fresh workspace (the change stream stays open)
- ``POST /_sandbox/ratelimit`` ``{per_minute: int | null}`` changes the Web API budget
- ``GET  /_sandbox/events``   server-sent events ``{version, kind}`` on every change
- ``GET  /_sandbox/healthz``

Command, click and select bodies accept ``signing_secret_override`` and ``timestamp_override`` so
that a test can deliver a badly signed or stale request. Unknown users, channels, messages,
elements or views answer 404; values a person could not enter answer 422.
"""

from fastapi import APIRouter

from sandbox.slack.automation import acting, control, modals, reading

router = APIRouter(prefix="/_sandbox")
for module in (acting, control, modals, reading):
    router.include_router(module.router)

__all__ = ["router"]
