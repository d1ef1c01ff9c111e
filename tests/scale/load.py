"""The bulk loader: object rows straight into PostgreSQL, in Coffer's schema.

Seed objects are PUT through S3 first (real blobs, real ETags, stored
totals through the server's own code). Then each batch is one transaction
and one statement: `generate_series` makes the keys, each row copies the
size, ETag and stored headers of its seed and gets a segment naming the
seed's blob, and the bucket row's totals (the folded part beside the
counter shards, see meta-postgres `quota.rs`) grow by exactly what the
batch inserted, so the stored totals equal the rows at every commit.

Rows arrive as if the folders had filled side by side over time: each batch
is a band of file numbers across every folder (files 0-49 of all folders,
then 50-99, ...), inserted in random order. Neither the table nor the index
is in key order: a page's rows are spread over the table, as in a bucket
written over time.

Caveat, test data only: loaded rows share their seeds' blobs. Deleting one
of them queues the shared blob for collection (the store assumes one
object per blob), so this bucket is for reading.
"""

from __future__ import annotations

import subprocess
import sys
import time

from layout import SEEDS, Layout, seed_body, seed_key
from s3http import S3Http


def psql(url: str, sql: str) -> str:
    out = subprocess.run(["psql", url, "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-f", "-"],
                         input=sql, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"psql failed: {out.stderr.strip()}\n--- SQL ---\n{sql[:2000]}")
    return out.stdout.strip()


def put_seeds(s3: S3Http, bucket: str) -> None:
    for i in range(SEEDS):
        s3.request("PUT", f"/{bucket}/{seed_key(i)}", body=seed_body(i),
                   headers={"Content-Type": "image/jpeg"}).ok()


def bucket_id(url: str, bucket: str) -> int:
    return int(psql(url, f"SELECT id FROM buckets WHERE name = '{bucket}'"))


def batch_sql(bid: int, lay: Layout, j0: int, j1: int, now: int) -> str:
    return f"""
BEGIN;
SET LOCAL synchronous_commit = off;
WITH s AS (
    SELECT (row_number() OVER (ORDER BY o.key) - 1)::int8 AS idx, g.blob_id, o.size, o.etag, o.meta
    FROM objects o JOIN segments g ON g.object_id = o.id
    WHERE o.bucket_id = {bid} AND o.key >= convert_to('seed/', 'UTF8') AND o.key < convert_to('seed0', 'UTF8')
),
ins AS (
    INSERT INTO objects (bucket_id, key, size, etag, last_modified, meta)
    SELECT {bid}, {lay.sql_key('f', 'j')}, s.size, s.etag, {now}, s.meta
    FROM generate_series({j0}, {j1 - 1}) j CROSS JOIN generate_series(0, {lay.folders - 1}) f
    JOIN s ON s.idx = (f::int8 * {lay.per_folder} + j) % {SEEDS}
    ORDER BY random()
    RETURNING id, size, etag
),
seg AS (
    INSERT INTO segments (object_id, idx, blob_id, size)
    SELECT ins.id, 0, s.blob_id, ins.size FROM ins JOIN s ON s.etag = ins.etag
    RETURNING size
)
UPDATE buckets SET objects = objects + (SELECT count(*) FROM seg),
                   bytes = bytes + (SELECT coalesce(sum(size), 0) FROM seg)::int8
WHERE id = {bid};
COMMIT;
"""


def bulk_load(url: str, bucket: str, lay: Layout, batch_rows: int = 500_000) -> float:
    """Loads every key of `lay`; returns the seconds it took."""
    bid = bucket_id(url, bucket)
    seeds = int(psql(url, f"SELECT count(*) FROM objects o JOIN segments g ON g.object_id = o.id "
                          f"WHERE o.bucket_id = {bid} AND convert_from(o.key, 'UTF8') LIKE 'seed/%'"))
    if seeds != SEEDS:
        raise RuntimeError(f"expected {SEEDS} seed objects with one blob each, found {seeds}")
    step = max(1, batch_rows // lay.folders)
    now = int(time.time() * 1000)
    start = time.monotonic()
    for j0 in range(0, lay.per_folder, step):
        j1 = min(lay.per_folder, j0 + step)
        psql(url, batch_sql(bid, lay, j0, j1, now))
        done = j1 * lay.folders
        took = time.monotonic() - start
        print(f"  loaded {done:>11,} rows in {took:7.1f} s ({done / took:,.0f} rows/s)", file=sys.stderr)
    return time.monotonic() - start


def vacuum(url: str) -> float:
    """VACUUM ANALYZE the loaded tables (what autovacuum would get to), then
    a CHECKPOINT, so the timed requests do not share the disk with the
    write-back of the load's gigabytes of dirty buffers."""
    start = time.monotonic()
    psql(url, "VACUUM (ANALYZE) objects;\nVACUUM (ANALYZE) segments;\nCHECKPOINT;")
    return time.monotonic() - start


def settings(url: str) -> dict:
    """The PostgreSQL settings a reader of the figures wants to know."""
    names = ("server_version", "shared_buffers", "max_wal_size", "fsync", "synchronous_commit")
    got = psql(url, "SELECT name, current_setting(name) FROM pg_settings WHERE name IN ("
                    + ", ".join(f"'{n}'" for n in names) + ")")
    return dict(line.split("|", 1) for line in got.splitlines())


def totals(url: str, bucket: str) -> dict:
    """The stored totals (row plus shards) against what the rows add up to."""
    row = psql(url, f"""
SELECT b.objects + coalesce((SELECT sum(objects) FROM bucket_totals t WHERE t.bucket_id = b.id), 0),
       b.bytes + coalesce((SELECT sum(bytes) FROM bucket_totals t WHERE t.bucket_id = b.id), 0),
       (SELECT count(*) FROM objects o WHERE o.bucket_id = b.id),
       (SELECT coalesce(sum(size), 0) FROM objects o WHERE o.bucket_id = b.id),
       pg_total_relation_size('objects'), pg_total_relation_size('segments')
FROM buckets b WHERE b.name = '{bucket}'""")
    so, sb, ro, rb, tsize, ssize = (int(x) for x in row.split("|"))
    return {"stored_objects": so, "stored_bytes": sb, "row_objects": ro, "row_bytes": rb,
            "consistent": (so, sb) == (ro, rb), "objects_table_bytes": tsize, "segments_table_bytes": ssize}
