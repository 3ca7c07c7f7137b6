"""The templates (bot/web/templates/, Jinja2, every value escaped) and the stylesheet.

`Renderer.html(name, **context)` renders a page; the `mark` filter escapes a text and puts the
query's words in <mark> (case-insensitive), escaping first, so nothing from an issue or a query
is ever markup; `rich` does the same and links the http(s) addresses written in a summary.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

ENTITY = r"&(?:amp|lt|gt|#34|#39);"  # what markupsafe.escape writes: never cut by a <mark>


@lru_cache(maxsize=256)
def _pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """Entities first, then the escaped words, longest first, any case."""
    kept = sorted({str(escape(w)) for w in words if w.strip()}, key=len, reverse=True)
    if not kept:
        return None
    return re.compile(f"({ENTITY})|" + "|".join(re.escape(w) for w in kept), re.IGNORECASE)


def _mark(found: re.Match[str]) -> str:
    return found.group() if found.group(1) else f"<mark>{found.group()}</mark>"


def marked(text: str, words: Sequence[str] | None = None) -> Markup:
    """`text` escaped, then each occurrence of one of `words` in <mark> (one pass over the
    escaped text; an entity such as &amp; is matched first, so a word never cuts one)."""
    escaped = str(escape(text))
    pattern = _pattern(tuple(words)) if words else None
    return Markup(escaped if pattern is None else pattern.sub(_mark, escaped))


URL = re.compile(r"https?://[^\s<>\"'，。；、）】》]+", re.IGNORECASE)


def rich(text: str, words: Sequence[str] | None = None) -> Markup:
    """`text` escaped, its http(s) addresses linked, the words marked outside them."""
    if "://" not in text:
        return marked(text, words)
    parts: list[Markup] = []
    last = 0
    for found in URL.finditer(text):
        parts.append(marked(text[last : found.start()], words))
        url = found.group().rstrip(".,;:!?)]")
        parts.append(Markup('<a href="%s" rel="noopener nofollow">%s</a>') % (url, url))
        last = found.start() + len(url)
    parts.append(marked(text[last:], words))
    return Markup("").join(parts)


class Renderer:
    """The Jinja2 environment and the stylesheet, made once at start-up."""

    def __init__(self, base_url: str) -> None:
        self.css = files("bot.web").joinpath("static/style.css").read_text(encoding="utf-8")
        version = hashlib.blake2b(self.css.encode(), digest_size=6).hexdigest()
        self.env = Environment(
            loader=PackageLoader("bot.web", "templates"),
            autoescape=select_autoescape(("html", "xml")),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,  # the templates are part of the package: no stat per page
        )
        self.env.filters["mark"] = marked
        self.env.filters["rich"] = rich
        self.env.globals.update(css_href=f"/static/style.css?v={version}", base_url=base_url, q="")

    def html(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)
