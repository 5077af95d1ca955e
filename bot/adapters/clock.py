"""The Clock port over the system clock."""

import time


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        """Current unix time in seconds."""
        return time.time()
