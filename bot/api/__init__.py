"""The bot's HTTP surface: ingest, Alertmanager intake, Slack events, incidents, health."""
