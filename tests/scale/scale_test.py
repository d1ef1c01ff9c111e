"""The scale test (issue #12, item 6), run by `scripts/scale-test`.

Against a running `coffer server --meta postgres://…`: makes a project, a
bucket and its seed objects through the S3 and admin APIs, bulk-loads the
bucket's object rows into PostgreSQL (`load.py`, key layout in `layout.py`),
checks the stored totals against the rows, then times listings and GETs
over the S3 endpoint (`measure.py`) and compares them with the targets:
every 1,000-entry page (keys anywhere, folders under a delimiter, one
folder by prefix) at p95 <= 30 ms, 10,000 keys in 10 pages at p95 <= 50 ms.
Prints a table, writes a JSON report, exits 1 if a target is missed or an
answer is wrong (with --no-targets, only wrong answers fail).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import random
import sys
import time

import load
import measure
from layout import SEEDS, Layout
from s3http import S3Http


def args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--endpoint", required=True)
    p.add_argument("--pg-url", required=True, help="libpq connection string of the server's database")
    p.add_argument("--access-key", required=True, help="the operator's key")
    p.add_argument("--secret-key", required=True)
    p.add_argument("--objects", type=int, default=10_000_000)
    p.add_argument("--folders", type=int, default=10_000)
    p.add_argument("--reps", type=int, default=20, help="repetitions of each fixed-point request")
    p.add_argument("--randoms", type=int, default=100, help="random points per random scenario")
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--json", default="scale-test.json")
    p.add_argument("--no-targets", action="store_true", help="report latencies, fail only on wrong answers")
    p.add_argument("--hold-lock", help="hold this lock file (flock) while timing")
    p.add_argument("--quiet-wait", type=float, default=0,
                   help="before timing, wait up to this many seconds for the CPUs to be 85%% idle")
    return p.parse_args()


def cpu_idle(seconds: float = 3.0) -> float:
    """The share of CPU time idle over the next `seconds` (/proc/stat)."""
    def sample():
        v = [int(x) for x in open("/proc/stat").readline().split()[1:9]]
        return v[3] + v[4], sum(v)
    i0, t0 = sample()
    time.sleep(seconds)
    i1, t1 = sample()
    return (i1 - i0) / max(1, t1 - t0)


def wait_quiet(limit: float) -> float:
    """Waits (at most `limit` s) until the machine is 85 % idle; the idle share seen last."""
    deadline = time.monotonic() + limit
    idle = cpu_idle()
    while idle < 0.85 and time.monotonic() < deadline:
        idle = cpu_idle()
    return idle


@contextlib.contextmanager
def held(path: str | None):
    """The lock at `path` held (waiting for it), or nothing."""
    if not path:
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def table(rows: list[dict]) -> str:
    out = [f"{'scenario':<58} {'n':>4} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'target':>7}  result"]
    for r in rows:
        target = f"{r['target_ms']:.0f}" if r["target_ms"] is not None else "-"
        verdict = "ok" if r["ok"] else "WRONG ANSWER" if not r["right"] else "MISSED"
        if r["right"] and not r["met"] and r["ok"]:
            verdict = "ok (over target, not enforced)"
        out.append(f"{r['name']:<58} {r['n']:>4} {r.get('p50_ms', 0):>8.2f} {r.get('p95_ms', 0):>8.2f} "
                   f"{r.get('max_ms', 0):>8.2f} {target:>7}  {verdict}")
    return "\n".join(out)


def main() -> int:
    a = args()
    if a.folders < 2100:
        sys.exit("--folders must be at least 2,100 (a delimiter page from the middle covers 1,000 folders)")
    if a.objects % a.folders or a.objects < max(a.folders, 20_000):
        sys.exit("--objects must be a multiple of --folders and at least 20,000 (10,000 keys are paged through)")
    lay = Layout(a.folders, a.objects // a.folders)
    op = S3Http(a.endpoint, a.access_key, a.secret_key)
    op.admin("POST", "/projects", {"name": "scale"})
    k = op.admin("POST", "/projects/scale/keys", {})
    s3 = S3Http(a.endpoint, k["access_key"], k["secret_key"])
    bucket = "scale-test"
    s3.request("PUT", f"/{bucket}").ok()
    load.put_seeds(s3, bucket)

    print(f"scale-test: loading {lay.objects:,} objects ({lay.folders:,} folders of {lay.per_folder:,}) "
          f"into PostgreSQL", file=sys.stderr)
    load_s = load.bulk_load(a.pg_url, bucket, lay)
    vacuum_s = load.vacuum(a.pg_url)
    totals = load.totals(a.pg_url, bucket)
    print(f"scale-test: loaded in {load_s:.1f} s, VACUUM ANALYZE and CHECKPOINT {vacuum_s:.1f} s; "
          f"totals {totals}", file=sys.stderr)

    run = measure.Runner(s3, bucket, lay, random.Random(a.seed))
    with held(a.hold_lock):
        idle = wait_quiet(a.quiet_wait) if a.quiet_wait else None
        load_before = os.getloadavg()
        # Warm-up (not counted): the connection, the server's and PostgreSQL's first plans.
        run.pages(2, 2)
        run.folder_pages(2, 2)
        t0 = time.monotonic()
        scenarios = (run.pages(a.reps, a.randoms) + run.folder_pages(a.reps, a.randoms) + run.one_folder(a.randoms)
                     + [run.ten_thousand(a.reps), run.gets(a.reps)])
        took = time.monotonic() - t0
        load_after = os.getloadavg()
    rows = [s.summary() for s in scenarios]
    if a.no_targets:
        for r in rows:
            r["ok"] = r["right"]
    loads = f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (1 min, {os.cpu_count()} CPUs)"
    if idle is not None:
        loads += f"; CPUs {idle:.0%} idle just before"
    print(f"scale-test: {sum(r['n'] for r in rows):,} timed requests in {took:.1f} s; {loads}\n", file=sys.stderr)
    print(table(rows))
    failed = [r["name"] for r in rows if not r["ok"]]
    if not totals["consistent"]:
        failed.append("stored totals differ from the rows")
    report = {"objects": lay.objects + SEEDS, "loaded": lay.objects, "folders": lay.folders,
              "per_folder": lay.per_folder, "load_seconds": round(load_s, 1), "vacuum_seconds": round(vacuum_s, 1),
              "totals": totals, "postgres": load.settings(a.pg_url), "load_average": [load_before[0], load_after[0]],
              "idle_before": idle,
              "cpus": os.cpu_count(), "targets_enforced": not a.no_targets, "scenarios": rows, "failed": failed}
    with open(a.json, "w") as f:
        json.dump(report, f, indent=2)
    print(f"\nscale-test: report in {a.json}")
    if failed:
        print("scale-test: FAILED:\n" + "\n".join(f"  - {n}" for n in failed), file=sys.stderr)
        return 1
    print("scale-test: every target met" if not a.no_targets else "scale-test: every answer right")
    return 0


if __name__ == "__main__":
    sys.exit(main())
