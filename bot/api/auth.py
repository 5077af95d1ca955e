"""Bearer-token checks for the machine-to-machine endpoints (agents, Alertmanager)."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Annotated

from fastapi import Header, HTTPException


def bearer(token: str | None, *, refused: Callable[[], None]) -> Callable[..., None]:
    """A dependency that lets only ``Authorization: Bearer <token>`` through (all if None).

    ``refused`` is called before the 401, e.g. to count the attempt.
    """

    def check(authorization: Annotated[str | None, Header()] = None) -> None:
        if token is None:
            return
        expected = f"Bearer {token}"
        if authorization is None or not hmac.compare_digest(authorization, expected):
            refused()
            raise HTTPException(
                401, "missing or wrong bearer token", {"WWW-Authenticate": "Bearer"}
            )

    return check
