"""Query -> Hits over the live index generation: what bot/ searches with.

`Archive.open(index_dir)` opens the live generation (IndexMissingError when there is none this
version can read); `archive.search(query)` gives a SearchResult of Hits (QueryError for a query
that cannot be searched); `archive.issue`, `issues`, `latest` and `counts` read the ingested
issues. Inside: query.py (words, section word, phrase splits), synonyms.py, spelling.py,
matching.py (which records match, in ranked groups), scoring.py (BM25F from Whoosh's postings),
generation.py (one opened generation), archive.py (paging, ranking, reloading).
"""

from index.search.archive import Archive
from index.search.results import Hit, IssueSummary, SearchResult

__all__ = ["Archive", "Hit", "IssueSummary", "SearchResult"]
