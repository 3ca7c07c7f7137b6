"""The `neuraltalk` group itself: --config, --debug anywhere on the line, --version, and the
errors of the layers below turned into one line each (tracebacks only with --debug).

The command modules (archive.py, server.py, subscribers.py, broadcast.py) define their commands
with `pass_ctx`; main.py adds them to `cli`.
"""

from __future__ import annotations

import sys
from typing import IO, Any

import click

from bot.config import Settings, load_settings
from bot.errors import UserError
from index.errors import ArchiveError

DEBUG = "--debug"


def _for_a_person(exc: BaseException) -> bool:
    """UserError, ArchiveError and the WeChat API's FatalError carry a message to print as is
    (the WeChat module is looked at only if a command loaded it: search does not)."""
    if isinstance(exc, UserError | ArchiveError):
        return True
    wechat = sys.modules.get("bot.wechat.errors")
    return wechat is not None and isinstance(exc, wechat.FatalError)


class Failure(click.ClickException):
    """A failure shown as the one line it is (`error: ...`), with its exit code."""

    def __init__(self, line: str, exit_code: int = 1) -> None:
        super().__init__(line)
        self.exit_code = exit_code  # type: ignore[misc]  # ClickException's is a class default

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(self.message, err=True)


class NeuralTalk(click.Group):
    """The top-level group: --debug anywhere on the line, and the errors of the layers below
    turned into one line each (tracebacks only with --debug)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        if DEBUG in args[:end]:  # a group option, accepted after the subcommand too
            args = [DEBUG] + [a for a in args[:end] if a != DEBUG] + args[end:]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        debug = bool(ctx.params.get("debug"))
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit):
            raise
        except click.exceptions.Abort:
            raise Failure("aborted") from None
        except KeyboardInterrupt:
            raise Failure("interrupted", 130) from None
        except Exception as exc:
            if debug:
                raise
            if _for_a_person(exc):
                raise Failure(f"error: {exc}", getattr(exc, "exit_code", 1)) from None
            line = f"error: {type(exc).__name__}: {exc} (run with --debug for the traceback)"
            raise Failure(line) from None


class Context:
    """What every subcommand gets: the settings (loaded on first use) and the --debug flag."""

    def __init__(self, config: str | None, debug: bool) -> None:
        self.config = config
        self.debug = debug
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings


pass_ctx = click.make_pass_decorator(Context)


@click.group(cls=NeuralTalk, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config", type=click.Path(dir_okay=False), help="YAML configuration file."
)
@click.option("--debug", is_flag=True, help="Tracebacks and debug logs (anywhere on the line).")
@click.version_option(package_name="neuraltalk", prog_name="neuraltalk")
@click.pass_context
def cli(ctx: click.Context, config: str | None, debug: bool) -> None:
    """NeuralTalk: the archive, chat bot and broadcast of 嵌入式AI简报."""
    ctx.obj = Context(config, debug)
