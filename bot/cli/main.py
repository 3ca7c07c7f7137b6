"""The `neuraltalk` command: thin. Each subcommand parses its flags and calls one function.

Modules are imported inside the commands so that `neuraltalk search` starts fast and does not
load the web server, the database layer or the WeChat SDK.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

import click

from bot.config import EXAMPLE, Settings, check_public_token, load_settings
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


@cli.command()
@click.argument("path", type=click.Path(dir_okay=False), default="neuraltalk.yaml")
@click.option("--force", is_flag=True, help="Overwrite an existing file.")
def init(path: str, force: bool) -> None:
    """Write a commented example configuration to PATH (default ./neuraltalk.yaml)."""
    target = Path(path)
    if target.exists() and not force:
        raise UserError(f"{target} already exists; use --force to overwrite it")
    target.write_text(EXAMPLE, encoding="utf-8")
    (target.parent / "data").mkdir(exist_ok=True)  # the example's storage.url and index_dir
    click.echo(f"wrote {target}: edit it, or set NEURALTALK_<SECTION>_<KEY> variables")


# --- the archive ----------------------------------------------------------------------------


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the issue as JSON.")
@pass_ctx
def parse(ctx: Context, file: str, as_json: bool) -> None:
    """Parse one newsletter issue and print its entries."""
    from bot.cli import archive as cli_archive

    sys.exit(cli_archive.parse_command(Path(file), as_json=as_json))


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path())
@pass_ctx
def ingest(ctx: Context, paths: tuple[str, ...]) -> None:
    """Parse and index issues (files or folders; default: archive.issues_dir)."""
    from bot.cli import archive as cli_archive

    sys.exit(cli_archive.ingest_command(ctx.settings, [Path(p) for p in paths]))


@cli.command()
@click.argument("query", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="How many results to show.",
)
@click.option(
    "--offset",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="How many results to skip (for the next page).",
)
@pass_ctx
def search(ctx: Context, query: tuple[str, ...], as_json: bool, limit: int, offset: int) -> None:
    """Search the archive."""
    from bot.cli import archive as cli_archive

    code = cli_archive.search_command(
        ctx.settings, " ".join(query), as_json=as_json, limit=limit, offset=offset
    )
    sys.exit(code)


# --- the chat bot ---------------------------------------------------------------------------


@cli.command()
@click.option("--host", help="Overrides server.host.")
@click.option("--port", type=int, help="Overrides server.port.")
@click.option("--hint", is_flag=True, hidden=True, help="Print how to chat with the server.")
@pass_ctx
def serve(ctx: Context, host: str | None, port: int | None, hint: bool) -> None:
    """Run the WeChat webhook server and the web archive."""
    from bot import web as web_archive
    from bot.chat import server as serve_module

    settings = ctx.settings
    if host or port:
        settings = settings.replace(
            server={"host": host or settings.server.host, "port": port or settings.server.port}
        )
    check_public_token(settings)
    serve_module.run(settings, debug=ctx.debug, hint=hint, pages=web_archive.mount)


@cli.command()
@click.option("--openid", default="editor-trial", show_default=True, help="Who the bot sees.")
@click.option("--url", help="A running server's /wechat URL; default: an in-process app.")
@pass_ctx
def chat(ctx: Context, openid: str, url: str | None) -> None:
    """Talk to the bot in the terminal as a follower would."""
    from bot.chat import console as chat_module

    sys.exit(chat_module.run(ctx.settings, openid=openid, url=url))


# --- subscribers and broadcast --------------------------------------------------------------


@cli.command()
@click.argument("issue")
@click.option(
    "--channel",
    type=click.Choice(["auto", "custom", "mass"]),
    default="auto",
    show_default=True,
    help="custom: one message each; mass: WeChat's mass send; auto: custom, else mass.",
)
@click.option("--dry-run", is_flag=True, help="Show recipients and texts; send nothing.")
@click.option("--preview", metavar="OPENID", help="Send to this one openid only.")
@click.option("--yes", is_flag=True, help="Do not ask before sending.")
@click.option("--rate", type=float, help="Messages per second (0: no limit).")
@click.option("--concurrency", type=click.IntRange(1, 1000), help="Sends in flight at once.")
@click.option(
    "--retry-in-doubt", is_flag=True, help="Re-send the deliveries in doubt (maybe delivered)."
)
@click.option(
    "--forget-in-doubt", is_flag=True, help="Count the deliveries in doubt as delivered; finish."
)
@pass_ctx
def broadcast(
    ctx: Context,
    issue: str,
    channel: str,
    dry_run: bool,
    preview: str | None,
    yes: bool,
    rate: float | None,
    concurrency: int | None,
    retry_in_doubt: bool,
    forget_in_doubt: bool,
) -> None:
    """Send an ingested issue to its subscribers.

    Exit codes: 0 finished; 1 stopped on an error, work left; 3 all sent but some in doubt;
    130 interrupted (Ctrl-C), 143 terminated (SIGTERM). Running it again resumes.
    """
    from bot.cli import broadcast as cli_broadcast

    code = cli_broadcast.broadcast_command(
        ctx.settings,
        issue,
        channel=channel,
        dry_run=dry_run,
        preview=preview,
        yes=yes,
        rate=rate,
        concurrency=concurrency,
        retry_in_doubt=retry_in_doubt,
        forget_in_doubt=forget_in_doubt,
    )
    sys.exit(code)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the campaigns as JSON.")
@pass_ctx
def campaigns(ctx: Context, as_json: bool) -> None:
    """List broadcast campaigns with status and counts."""
    from bot.cli import broadcast as cli_broadcast

    sys.exit(cli_broadcast.campaigns_command(ctx.settings, as_json=as_json))


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print every subscriber as JSON.")
@click.pass_context
def subscribers(click_ctx: click.Context, as_json: bool) -> None:
    """List subscribers and topics (or add/remove one)."""
    if click_ctx.invoked_subcommand is None:
        from bot.cli import broadcast as cli_broadcast

        sys.exit(cli_broadcast.subscribers_command(click_ctx.obj.settings, as_json=as_json))


@subscribers.command("add")
@click.argument("openid")
@click.option("--topic", help="Subscribe to this topic only.")
@pass_ctx
def subscribers_add(ctx: Context, openid: str, topic: str | None) -> None:
    """Subscribe OPENID (to every issue, or to --topic)."""
    from bot.cli import broadcast as cli_broadcast

    sys.exit(cli_broadcast.subscribers_add_command(ctx.settings, openid, topic=topic))


@subscribers.command("remove")
@click.argument("openid")
@click.option("--topic", help="Unsubscribe from this topic only.")
@pass_ctx
def subscribers_remove(ctx: Context, openid: str, topic: str | None) -> None:
    """Unsubscribe OPENID from everything (or from --topic only)."""
    from bot.cli import broadcast as cli_broadcast

    sys.exit(cli_broadcast.subscribers_remove_command(ctx.settings, openid, topic=topic))


@cli.command("mock-wechat")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=8900, show_default=True, help="Port to listen on.")
@pass_ctx
def mock_wechat(ctx: Context, host: str, port: int) -> None:
    """Run a fake WeChat API on loopback that prints every message it receives."""
    from bot.fake_wechat import server as mock

    mock.run(host=host, port=port)


def main(argv: list[str] | None = None) -> None:
    """Entry point: `neuraltalk ...` (errors are the NeuralTalk group's: one line each)."""
    cli.main(args=sys.argv[1:] if argv is None else argv, prog_name="neuraltalk")


if __name__ == "__main__":
    main()
