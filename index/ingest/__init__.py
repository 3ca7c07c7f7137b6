"""Issue files -> a new index generation, switched in atomically: what `neuraltalk ingest` does.

`ingest(index_dir, paths)` parses the new and changed issue files and makes a generation holding
them live; an IngestReport says what was ingested, unchanged, warned about and refused.
"""

from index.ingest.generation import ingest_lock, write_generation
from index.ingest.run import IngestReport, collect_files, ingest

__all__ = ["IngestReport", "collect_files", "ingest", "ingest_lock", "write_generation"]
