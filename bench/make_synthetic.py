"""Write a synthetic archive of N entries, made from the real corpus, as markdown issue files.

    python bench/make_synthetic.py OUT_DIR [--entries 100000] [--per-issue 20] [--seed 1]

Each synthetic entry takes the title, source and link of one real entry and a summary recombined
from the sentences of three others (so that texts and scores differ), under one of the real
section names; issues get consecutive dates from 2000-01-01, in the format of the real issues.
"""

from __future__ import annotations

import argparse
import datetime
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "issues"
sys.path.insert(0, str(ROOT))


def real_entries(corpus: Path) -> list[tuple[str, str, str, str, list[str]]]:
    """(section, title, source, url, summary sentences) of every corpus entry."""
    from index.parse import parse_file

    found = []
    for path in sorted(corpus.glob("2*.md")):
        for section, entry in parse_file(path).entries:
            sentences = [s for s in re.split(r"(?<=[。！？])|\n", entry.summary) if s.strip()]
            title = entry.title.replace("|", "/").replace("[", "(").replace("]", ")")
            source = entry.source.replace("|", "/").replace("[", "(").replace("]", ")")
            found.append((section.name, title, source, entry.url, sentences or [title]))
    return found


def entry_markdown(rng: random.Random, pool: list, number: int) -> tuple[str, str]:
    section, title, source, url, _ = rng.choice(pool)
    sentences: list[str] = []
    for _, _, _, _, more in rng.sample(pool, 3):
        sentences.extend(rng.sample(more, min(len(more), 2)))
    summary = "".join(sentences).replace("\n", " ")
    link = f"[{title} #{number} | {source}]({url})" if source else f"[{title} #{number}]({url})"
    return section, f"- {link}  \n摘要：{summary}\n"


def write_archive(out: Path, entries: int, per_issue: int, seed: int) -> int:
    rng = random.Random(seed)
    pool = real_entries(CORPUS)
    out.mkdir(parents=True, exist_ok=True)
    day = datetime.date(2000, 1, 1)
    written = issues = 0
    while written < entries:
        count = min(per_issue, entries - written)
        by_section: dict[str, list[str]] = {}
        for _ in range(count):
            written += 1
            section, text = entry_markdown(rng, pool, written)
            by_section.setdefault(section, []).append(text)
        body = [f"# 嵌入式AI简报 ({day.isoformat()})\n"]
        for section, texts in by_section.items():
            body.append(f"\n## {section}\n\n" + "".join(texts))
        (out / f"{day.isoformat()}.md").write_text("".join(body), encoding="utf-8")
        day += datetime.timedelta(days=1)
        issues += 1
    return issues


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--per-issue", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    issues = write_archive(args.out, args.entries, args.per_issue, args.seed)
    print(f"wrote {args.entries} entries in {issues} issues to {args.out}")


if __name__ == "__main__":
    main()
