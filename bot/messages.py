"""Every user-facing string of the bot, in one place."""

ALERT_FIRED = "{level} alert fired: {summary}"
ALERT_ESCALATED = "Escalated to CRIT: {summary}"
ALERT_DEESCALATED = "Back to WARN: {summary}"
ALERT_RESOLVED = "Alert recovered: {summary}"
ALERT_SUPPRESSED = "Not notified: {summary} ({reason})"
ALL_ALERTS_CLEAR = "All alerts of {ref} have recovered. Resolve it when you are satisfied."
INCIDENT_OPENED = "{ref} opened ({severity}): {title}"
ACKNOWLEDGED = "Acknowledged by <@{user}>"
NOT_ALLOWED = "You are not allowed to {action} incidents; ask an admin to update rbac.yaml."
CHANGED_CONCURRENTLY = "{ref} was changed by someone else at the same moment; try again."
NO_OPEN_INCIDENTS = "No open incidents. :white_check_mark:"
OPEN_INCIDENTS_HEADER = "*Open incidents ({count})*"
INCIDENT_LINE = "• *{ref}* {severity} · {status} · {title}{owner}"
UNKNOWN_SUBCOMMAND = "Unknown subcommand `{text}`. Try `{command} help`."
BAD_QUOTING = (
    "Could not read that: {error}. "
    'Quote text with matching quotes, e.g. `{command} note INC-3 "text"`.'
)
WORKING_ON_IT = "Working on `{command}` …"
COMMAND_FAILED = (
    "Something went wrong on our side (reference `{reference}`). "
    "It has been logged; tell your gpuwarden admin the reference."
)
SLA_REMINDER = "{percent} % of the {deadline} deadline passed ({left})"
ACK_BREACHED = "Ack deadline breached — escalating"
DEADLINE_BREACHED = "{deadline} deadline breached"
PAGED = "Paging {mentions} (escalation level {level}{round})"
PAGED_ROUND = ", round {round}"
PAGED_NOBODY = "Escalation level {level}{round}: nobody to page (no one is on call)"
PAGE_DM = (
    ":rotating_light: You are paged for {ref} ({severity}): {title}. "
    "Acknowledge it in the incident's thread."
)
