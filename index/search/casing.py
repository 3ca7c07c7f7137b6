"""How the archive writes a word: the index is lower-cased, the entries are not (Tengine,
MobileNet, TensorRT), so a word shown back to a follower takes its most frequent written form."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from index.search.results import Hit


def hit_texts(hits: Iterable[Hit]) -> Iterable[str]:
    for hit in hits:
        yield hit.title
        yield hit.source
        yield hit.summary
        yield from hit.tags


def written_form(word: str, texts: Iterable[str]) -> str | None:
    """The most frequent way `word` (any case) is written in `texts`, first seen on ties;
    None when it does not occur."""
    pattern = re.compile(re.escape(word), re.IGNORECASE)
    forms: Counter[str] = Counter()
    for text in texts:
        forms.update(m.group() for m in pattern.finditer(text))
    return forms.most_common(1)[0][0] if forms else None
