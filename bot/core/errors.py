"""The bot's exception tree.

::

    GpuwardenError
     ├── UserError          a request did not proceed for a known reason; shown to the user
     │    ├── InvalidTransition   e.g. acknowledging an incident that is already resolved
     │    └── Conflict            the cluster object changed since the plan (HTTP 409): re-plan
     ├── NotFound           the incident / alert / node asked for does not exist
     ├── ConfigError        a configuration file or variable is wrong (names file, key, expected)
     └── AdapterError       an external system (Slack, Kubernetes, …) failed; wraps the SDK error
"""


class GpuwardenError(Exception):
    """Root of every error gpuwarden raises on purpose."""


class UserError(GpuwardenError):
    """A request did not proceed for a known reason; the message is shown to the user."""


class InvalidTransition(UserError):
    """A status change that the incident's transition table does not allow."""


class Conflict(UserError):
    """The object changed since the plan was made (Kubernetes 409); re-plan, never re-apply."""


class NotFound(GpuwardenError):
    """The thing asked for does not exist."""


class ConfigError(GpuwardenError):
    """Configuration is wrong; the message names the file, the key and what was expected."""

    def __init__(self, *, source: str, key: str, expected: str) -> None:
        self.source = source
        self.key = key
        self.expected = expected
        super().__init__(f"{source}: {key}: {expected}")


class AdapterError(GpuwardenError):
    """An external system failed; raised ``from`` the SDK's own exception."""
