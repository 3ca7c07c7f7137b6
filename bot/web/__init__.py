"""The web archive: the newsletter's own pages and feed, served by the webhook's application.

`mount(app, settings, live_archive)` adds GET / (the newest issues, paged, by month), GET
/issues/{YYYY-MM-DD} (one issue), GET /search?q=&page= (the bot's own search, paged) and GET
/feed.xml[?topic=] (Atom), rendered with Jinja2 from the live index generation the chat bot
searches (`live_archive()`), cached per generation, gzip and ETag included. It imports index/
and bot.config, never bot.chat or bot.broadcast (the caller, bot.cli, plugs it in).
"""

from bot.web.routes import mount

__all__ = ["mount"]
