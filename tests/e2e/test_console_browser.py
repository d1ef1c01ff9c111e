"""The web console in a real browser: Debian's headless Chromium driven by
playwright-core (tests/browser/console.test.mjs, run by `node`).

Each test starts a server of its own (so the pages show only what the test
made), creates a project and a full-access user, gives it and the project's
root console passwords through the `coffer` CLI, and hands the console's URL
and the credentials to a script:
- console.test.mjs: sign-in, creating and deleting buckets, the phone layout,
  the operator's view, sign-out;
- objects.test.mjs: drag-and-drop uploads of files and a folder with
  progress, multipart and cancel, the listing and totals refreshed in place
  after uploads, folders, download, share links, multi-select delete, the
  public switch, an S3 key used with boto3 then deleted, usage charts, the
  root creating a read-object-only user on the Users page, and that user's
  view;
- versions.test.mjs: versioning turned on in the bucket's settings, a file
  uploaded twice and its two versions, the older one downloaded and
  restored, a delete marker found with "Show versions" and undone, a version
  deleted for good, a Block Public Access switch, object lock with a default
  retention refusing a version's delete, access key ids on one line.
All fail on any console error or CSP violation. Their screenshots land in
target/browser-artifacts/: look at them.

scripts/install-test-deps installs chromium (apt) and playwright-core (npm,
tests/browser/node_modules); without them the test is skipped, or fails on CI.
"""

from __future__ import annotations

import os
import shutil
import sys

from coffer_e2e import (
    REPO_ROOT,
    SERVERS,
    CofferServer,
    coffer_cli,
    require_tool,
    run,
    unique_name,
)

BROWSER_DIR = REPO_ROOT / "tests" / "browser"
ARTIFACTS = REPO_ROOT / "target" / "browser-artifacts"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "browser-test-password-0123"


def run_script(tmp_path, script: str, min_shots: int) -> None:
    require_tool(CHROMIUM, "Debian package chromium: run scripts/install-test-deps")
    node = require_tool("node", "Node.js 20 with npm")
    require_tool(str(BROWSER_DIR / "node_modules" / ".bin" / "playwright-core"),
                 "playwright-core in tests/browser/node_modules: run scripts/install-test-deps")

    # Metering every second, so the usage charts have data within the test.
    server = CofferServer(data_dir=tmp_path / "data", log_path=tmp_path / "server.log",
                          extra_args=["--meter-interval-secs", "1"])
    SERVERS.append(server)
    server.start()
    try:
        project, user = unique_name("web"), "alice"
        coffer_cli(server, "project", "create", project)
        coffer_cli(server, "user", "create", "--project", project, user)
        coffer_cli(server, "user", "policy", "set", "--project", project, user,
                   "--preset", "full-access")
        for name in (user, "root"):
            coffer_cli(server, "user", "password", "set", "--project", project, name,
                       input_bytes=f"{PASSWORD}\n".encode())

        artifacts = ARTIFACTS / script.removesuffix(".test.mjs")
        shutil.rmtree(artifacts, ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
        env.update(
            CONSOLE_URL=server.console_endpoint(),
            CONSOLE_PROJECT=project,
            CONSOLE_USER=user,
            CONSOLE_PASSWORD=PASSWORD,
            ROOT_PASSWORD=PASSWORD,
            OPERATOR_ACCESS_KEY=server.access_key,
            OPERATOR_SECRET_KEY=server.secret_key,
            S3_URL=server.endpoint,
            S3_REGION=server.region,
            PYTHON=sys.executable,
            ARTIFACTS_DIR=str(artifacts),
            CHROMIUM=CHROMIUM,
        )
        proc = run([node, str(BROWSER_DIR / script)], env=env, cwd=str(BROWSER_DIR), timeout=600,
                   check=False)
        print(proc.stdout_text)
        assert proc.returncode == 0, (
            f"{script} failed (exit {proc.returncode}); screenshots in {artifacts}\n"
            f"--- stdout ---\n{proc.stdout_text[-8000:]}\n"
            f"--- stderr ---\n{proc.stderr_text[-8000:]}")
        shots = sorted(p.name for p in artifacts.glob("*.png"))
        assert len(shots) >= min_shots, shots
    finally:
        server.stop()
        SERVERS.remove(server)


def test_console_in_chromium(tmp_path):
    run_script(tmp_path, "console.test.mjs", 8)


def test_object_browser_in_chromium(tmp_path):
    run_script(tmp_path, "objects.test.mjs", 10)


def test_versions_in_chromium(tmp_path):
    run_script(tmp_path, "versions.test.mjs", 12)
