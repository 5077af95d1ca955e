"""The Summarizer port over any OpenAI-compatible endpoint (OpenAI, vLLM, SGLang …).

Uses the ``openai`` package's AsyncOpenAI with the endpoint's base URL, key and model. Each
attempt is bounded by ``timeout_s`` (≤ 20 s) and retried once (the SDK's own retry on timeouts,
connection errors, 429 and 5xx); the whole call is bounded by ``deadline_s`` so that a fallback
is always posted within 25 s. After ``BREAKER_FAILURES`` failures in a row the endpoint is not
called for ``BREAKER_PAUSE_S``. The client gets no tools and the model's answer is only text.
"""

from __future__ import annotations

import asyncio
import logging

import openai
from openai import AsyncOpenAI

from bot.core.errors import AdapterError
from bot.core.ports import Clock
from bot.core.triage import Completion

log = logging.getLogger(__name__)
MAX_RETRIES = 1
DEADLINE_S = 22.0
BREAKER_FAILURES = 5
BREAKER_PAUSE_S = 600.0
NO_KEY = "EMPTY"  # what vLLM's OpenAI-compatible server expects when it runs without --api-key


class OpenAISummarizer:
    """Chat completions through the real ``openai`` client, with a deadline and a breaker."""

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None,
        timeout_s: float,
        clock: Clock,
        deadline_s: float = DEADLINE_S,
    ) -> None:
        self.model = model
        self._client = AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or NO_KEY,
            timeout=timeout_s,
            max_retries=MAX_RETRIES,
        )
        self._deadline_s = deadline_s
        self._clock = clock
        self._failures = 0
        self._paused_until = 0.0

    async def complete(self, *, system: str, user: str, max_tokens: int) -> Completion:
        """One chat completion; AdapterError on a timeout, an API error or an empty answer."""
        if self._clock.now() < self._paused_until:
            msg = f"the LLM endpoint failed {BREAKER_FAILURES} times in a row; paused"
            raise AdapterError(msg)
        try:
            completion = await self._ask(system, user, max_tokens)
        except AdapterError:
            self._failures += 1
            if self._failures >= BREAKER_FAILURES:
                self._paused_until = self._clock.now() + BREAKER_PAUSE_S
                self._failures = 0
            raise
        self._failures = 0
        return completion

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self._client.close()

    async def _ask(self, system: str, user: str, max_tokens: int) -> Completion:
        try:
            async with asyncio.timeout(self._deadline_s):
                response = await self._client.chat.completions.create(
                    model=self.model,
                    messages=[
                        {"role": "system", "content": system},
                        {"role": "user", "content": user},
                    ],
                    max_tokens=max_tokens,
                    temperature=0.2,
                    response_format={"type": "json_object"},
                )
        except TimeoutError as exc:
            raise AdapterError(f"no answer within {self._deadline_s:g} s") from exc
        except openai.APITimeoutError as exc:
            raise AdapterError("the request timed out (after one retry)") from exc
        except openai.APIStatusError as exc:
            raise AdapterError(f"the endpoint answered {exc.status_code}") from exc
        except (openai.OpenAIError, ValueError) as exc:
            raise AdapterError(f"the request failed: {type(exc).__name__}") from exc
        try:
            choice = response.choices[0]
            text = choice.message.content
        except (AttributeError, IndexError, TypeError) as exc:
            raise AdapterError("the answer was not a chat completion") from exc
        if not text:
            raise AdapterError("the answer was empty")
        usage = response.usage
        return Completion(
            text=text,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
        )
