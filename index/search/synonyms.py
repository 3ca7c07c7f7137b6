"""Synonyms: groups of words that mean the same thing (量化, quantization, quantize, ...).

The built-in table is index/synonyms.yaml; the editor adds a file of the same form, named by
archive.synonyms: a YAML list of word lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from index.errors import ArchiveError

BUILTIN_SYNONYMS = Path(__file__).resolve().parent.parent / "synonyms.yaml"


class Synonyms:
    """Groups of words that mean the same; lookups are case-insensitive."""

    def __init__(self, groups: Iterable[Iterable[str]] = ()) -> None:
        others: dict[str, set[str]] = {}
        for group in groups:
            words = {w.strip().lower() for w in group if w and w.strip()}
            for word in words:
                others.setdefault(word, set()).update(words - {word})
        self._others = {word: tuple(sorted(found)) for word, found in others.items()}

    @classmethod
    def load(cls, extra: Path | None = None) -> Synonyms:
        """The built-in table plus the editor's file (archive.synonyms), if any."""
        groups = _read_groups(BUILTIN_SYNONYMS)
        if extra is not None:
            groups += _read_groups(extra)
        return cls(groups)

    def of(self, word: str) -> tuple[str, ...]:
        """The other words of `word`'s groups, sorted; () when it has none."""
        return self._others.get(word.lower(), ())


def _read_groups(path: Path) -> list[list[str]]:
    import yaml  # type: ignore[import-untyped]

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ArchiveError(f"synonyms file {path} does not exist; fix archive.synonyms") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = str(exc).splitlines()[0]
        raise ArchiveError(f"cannot read synonyms file {path}: {reason}") from None
    if data is None:
        return []
    if not isinstance(data, list) or not all(
        isinstance(group, list) and all(isinstance(w, str | int | float) for w in group)
        for group in data
    ):
        raise ArchiveError(
            f"synonyms file {path} must be a YAML list of word lists, e.g. - [量化, quantization]"
        )
    return [[str(w) for w in group] for group in data]
