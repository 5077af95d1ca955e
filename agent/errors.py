"""The agent's exception tree.

The agent ships alone, so it does not share the bot's tree::

    AgentError
     └── ConfigError        a flag or environment variable is wrong; the CLI exits 2 with it
          └── ScheduleError a fault schedule string does not parse (names the fault and part)
"""


class AgentError(Exception):
    """Root of every error the agent raises on purpose."""


class ConfigError(AgentError):
    """A flag or environment variable is wrong; the message says what was expected."""


class ScheduleError(ConfigError):
    """A fault schedule does not parse or does not fit the simulated fleet."""
