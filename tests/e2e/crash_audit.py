"""The SIGKILL test's view of the data dir: blob files against metadata.

A blob lives at `blobs/v1/<2 hex>/<id>` once committed, at
`blobs/tmp/<id>.tmp` while being written. The metadata (`meta.db`, SQLite
in WAL mode) references blobs from `segments` (objects) and `parts`
(multipart uploads in progress); `gc_queue` lists dropped blobs waiting to
be deleted. Everything else in `blobs/v1` is an orphan.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path


def blob_files(data_dir: Path) -> tuple[set[str], list[str]]:
    """(ids of the committed blob files, names of the temporary files)."""
    root = data_dir / "blobs"
    ids = set()
    for sub in os.scandir(root / "v1"):
        if sub.is_dir():
            ids.update(e.name for e in os.scandir(sub.path))
    return ids, sorted(os.listdir(root / "tmp"))


def _refs(conn: sqlite3.Connection) -> tuple[set[str], set[str]]:
    referenced = {r[0] for r in conn.execute("SELECT blob_id FROM segments")}
    referenced |= {r[0] for r in conn.execute("SELECT blob_id FROM parts")}
    queued = {r[0] for r in conn.execute("SELECT blob_id FROM gc_queue")}
    return referenced, queued


def meta_refs(data_dir: Path, *, copy: bool) -> tuple[set[str], set[str]]:
    """(blobs referenced by objects or parts, blobs in the garbage queue).

    The server must not be running. With `copy`, the database and its WAL
    are copied first and the copy is read (after a SIGKILL: SQLite rebuilds
    the WAL index of the copy, the server's files stay as the kill left
    them); otherwise meta.db is opened read-only in place.
    """
    db = data_dir / "meta.db"
    if not copy:
        conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            return _refs(conn)
        finally:
            conn.close()
    with tempfile.TemporaryDirectory(prefix="crash-meta-") as tmp:
        for suffix in ("", "-wal", "-journal"):
            src = data_dir / f"meta.db{suffix}"
            if src.exists():
                shutil.copyfile(src, Path(tmp) / f"meta.db{suffix}")
        conn = sqlite3.connect(f"file:{Path(tmp) / 'meta.db'}", uri=True)
        try:
            return _refs(conn)
        finally:
            conn.close()


def clean_audit(data_dir: Path) -> list[str]:
    """With the server stopped after a start-up recovery: every blob file is
    referenced, every referenced blob has its file, nothing is queued or
    temporary. Returns the problems found."""
    files, tmp = blob_files(data_dir)
    referenced, queued = meta_refs(data_dir, copy=False)
    problems = []
    if files - referenced:
        problems.append(f"{len(files - referenced)} blob file(s) no object or part references "
                        f"(orphans not reclaimed), e.g. {sorted(files - referenced)[:5]}")
    if referenced - files:
        problems.append(f"{len(referenced - files)} referenced blob(s) missing on disk, "
                        f"e.g. {sorted(referenced - files)[:5]}")
    if queued:
        problems.append(f"{len(queued)} blob(s) still in gc_queue after a start-up recovery")
    if tmp:
        problems.append(f"temporary files left: {tmp[:5]}")
    return problems
