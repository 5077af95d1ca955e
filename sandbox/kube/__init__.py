"""Kubernetes stand-in: the API subset the bot's remediations use, over real HTTP."""

from sandbox.kube.app import DEFAULT_READY_AFTER_S, DEFAULT_TOKEN, DEFAULT_USER, create_app

__all__ = ["DEFAULT_READY_AFTER_S", "DEFAULT_TOKEN", "DEFAULT_USER", "create_app"]
