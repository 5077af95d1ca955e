"""OpenAI-compatible chat-completions stand-in (port 8702), for tests and the demo."""

from sandbox.llm.app import DEFAULT_API_KEY, DEFAULT_MODELS, create_app

__all__ = ["DEFAULT_API_KEY", "DEFAULT_MODELS", "create_app"]
