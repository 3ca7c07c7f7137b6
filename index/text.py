"""What a word is made of, for ingest's jieba words and a query's words alike.

`latin_runs` / `cjk_runs` give the Latin and Chinese parts of a word, so that search finds the
index's jieba words inside a query word without loading jieba's dictionary (that takes ~1 s).
"""

from __future__ import annotations

import re

CJK_CHARS = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
WORDLIKE = re.compile(r"[^\W_]")  # a letter, digit or CJK character
_CJK_RUN = re.compile(f"[{CJK_CHARS}]+")
_WORD = r"[^\W_" + CJK_CHARS + "]"
_LATIN_RUN = re.compile(_WORD + r"(?:" + _WORD + r"|[._+#\-])*")
_LATIN_WORD = re.compile(r"[a-z][a-z0-9.+#\-]*[a-z0-9+#]")
_EDGE = "._-"


def latin_runs(text: str) -> list[str]:
    """Lower-cased Latin/digit runs of `text`, edges trimmed: 'OpenCV4.3发布' -> ['opencv4.3']."""
    runs = (m.group().strip(_EDGE) for m in _LATIN_RUN.finditer(text.lower()))
    return [r for r in runs if r]


def cjk_runs(text: str) -> list[str]:
    """Runs of Chinese (and Japanese kana) characters: '低比特量化 on ARM' -> ['低比特量化']."""
    return _CJK_RUN.findall(text)


def is_latin_word(word: str) -> bool:
    """A Latin word that could be misspelt (tengnie, mobilenett): letters, digits, .+#-."""
    return bool(_LATIN_WORD.fullmatch(word.lower()))
