"""What runs beside the HTTP app for Slack: Socket Mode, countdown refreshes and the outbox."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.adapters.scheduler import IntervalScheduler
from bot.adapters.slack.countdown import refresh_countdowns
from bot.adapters.slack.notifier import SlackNotifier
from bot.adapters.slack.socket_mode import SocketModeTransport
from bot.core.ports import UnitOfWorkFactory

OUTBOX_DRAIN_S = 10.0  # how long shutdown waits for queued Slack calls
COUNTDOWN_CHECKS = 4  # countdown look-ups per refresh interval: a refresh is at most 25 % late


class SlackRuntime:
    """Starts and stops the Slack side's background work with the bot."""

    def __init__(
        self,
        app: AsyncApp,
        *,
        notifier: SlackNotifier,
        uow: UnitOfWorkFactory,
        app_token: str | None,
    ) -> None:
        self._notifier = notifier
        self._uow = uow
        self._socket_mode = SocketModeTransport(app, app_token=app_token)

    def schedule(self, scheduler: IntervalScheduler, *, countdown_every_s: float) -> None:
        """Look for countdowns due often enough that each refresh goes out about on time."""
        tick = countdown_every_s / COUNTDOWN_CHECKS
        scheduler.every(tick, self._refresh_countdowns, name="sla-countdown", first_in=tick)

    def start(self) -> None:
        """Connect Socket Mode when an app token is configured."""
        self._socket_mode.start()

    async def stop(self) -> None:
        """Disconnect, then let what is queued for Slack go out (for a while)."""
        await self._socket_mode.stop()
        await self._notifier.outbox.drain(within_s=OUTBOX_DRAIN_S)

    async def _refresh_countdowns(self) -> None:
        await refresh_countdowns(uow=self._uow, notifier=self._notifier)
