"""The one exception type whose message is meant for a person: what happened, what to do."""


class UserError(Exception):
    """An error the `neuraltalk` command prints as one line (no traceback without --debug)."""

    exit_code = 1
