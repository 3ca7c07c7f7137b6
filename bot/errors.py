"""The application's exception whose message is meant for a person: what happened, what to do.

The `neuraltalk` command prints it (like index.errors.ArchiveError and bot.wechat.errors'
FatalError) as one line, without a traceback unless --debug is given.
"""


class UserError(Exception):
    """An error the `neuraltalk` command prints as one line (no traceback without --debug)."""

    exit_code = 1
