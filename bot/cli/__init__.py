"""The `neuraltalk` command: one module per command group, each calling one function of the
packages below it (chat, broadcast, store, index)."""

from bot.cli.main import main

__all__ = ["main"]
