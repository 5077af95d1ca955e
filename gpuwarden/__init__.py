"""The ``gpuwarden`` command: one entry point for the bot, the agent, the sandbox and the demo.

This launcher is the only package allowed to import everything (bot, agent and sandbox); nothing
imports it. See docs/adr/0001-launcher-package.md.
"""
