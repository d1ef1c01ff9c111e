"""scripts/soak keeps working: a 20-second run at c=32 on a server of its own.

The real soak (10 minutes at c=256, scripts/soak) is run by hand; this only
checks that the script starts the binary, drives every op class without an
error, reports each interval and its verdicts (RSS, fds, the blob dir audited
against meta.db after a restart), and exits 0.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from coffer_e2e import REPO_ROOT, coffer_bin


@pytest.mark.timeout(180)
def test_soak_script_short_run(tmp_path):
    out = tmp_path / "soak.json"
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "soak"), "--duration-secs", "20",
         "--interval-secs", "5", "--concurrency", "32", "--max-size", "24MiB",
         "--disk-budget", "512MiB", "--bin", str(coffer_bin()),
         # A debug build's RSS over 20 s is no leak test: the check runs, with room.
         "--rss-tolerance", "1.0", "--data-dir", str(tmp_path / "soak"), "--json-out", str(out)],
        capture_output=True, text=True, timeout=170)
    print(proc.stdout[-4000:], proc.stderr[-4000:])
    assert proc.returncode == 0, f"soak failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    report = json.loads(out.read_text())
    assert report["errors"] == []
    assert len(report["rows"]) == 4, [r["interval"] for r in report["rows"]]
    ops = {c: sum(r["ops"][c] for r in report["rows"]) for c in report["rows"][0]["ops"]}
    for cls in ("put", "get", "list", "delete", "mpu"):
        assert ops[cls] > 0, f"no {cls} in 20 s: {ops}"
    assert all(r["end"]["rss"] and r["end"]["fds"] for r in report["rows"]), report["rows"]
    verdicts = report["verdicts"]
    assert verdicts["rss"]["ok"] and verdicts["fds"]["ok"] and verdicts["blob_audit"]["ok"], verdicts
    assert "soak: passed" in proc.stdout
