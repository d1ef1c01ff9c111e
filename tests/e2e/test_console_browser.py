"""The web console in a real browser: Debian's headless Chromium driven by
playwright-core (tests/browser/console.test.mjs, run by `node`).

This test starts a server of its own (so the pages show only what the test
made), creates a project and a user with a console password through the
`coffer` CLI, and hands the console's URL and the credentials to the script.
The script signs in, creates and deletes buckets, checks the phone layout and
the operator's view, signs out, and fails on any console error or CSP
violation. Its screenshots land in target/browser-artifacts/: look at them.

scripts/install-test-deps installs chromium (apt) and playwright-core (npm,
tests/browser/node_modules); without them the test is skipped, or fails on CI.
"""

from __future__ import annotations

import os
import shutil

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
SCRIPT = BROWSER_DIR / "console.test.mjs"
ARTIFACTS = REPO_ROOT / "target" / "browser-artifacts"
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "browser-test-password-0123"


def test_console_in_chromium(tmp_path):
    require_tool(CHROMIUM, "Debian package chromium: run scripts/install-test-deps")
    node = require_tool("node", "Node.js 20 with npm")
    require_tool(str(BROWSER_DIR / "node_modules" / ".bin" / "playwright-core"),
                 "playwright-core in tests/browser/node_modules: run scripts/install-test-deps")

    server = CofferServer(data_dir=tmp_path / "data", log_path=tmp_path / "server.log")
    SERVERS.append(server)
    server.start()
    try:
        project, user = unique_name("web"), "alice"
        coffer_cli(server, "project", "create", project)
        coffer_cli(server, "user", "create", "--project", project, user)
        coffer_cli(server, "user", "policy", "set", "--project", project, user,
                   "--preset", "full-access")
        coffer_cli(server, "user", "password", "set", "--project", project, user,
                   input_bytes=f"{PASSWORD}\n".encode())

        shutil.rmtree(ARTIFACTS, ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_")}
        env.update(
            CONSOLE_URL=server.console_endpoint(),
            CONSOLE_PROJECT=project,
            CONSOLE_USER=user,
            CONSOLE_PASSWORD=PASSWORD,
            OPERATOR_ACCESS_KEY=server.access_key,
            OPERATOR_SECRET_KEY=server.secret_key,
            ARTIFACTS_DIR=str(ARTIFACTS),
            CHROMIUM=CHROMIUM,
        )
        proc = run([node, str(SCRIPT)], env=env, cwd=str(BROWSER_DIR), timeout=300,
                   check=False)
        print(proc.stdout_text)
        assert proc.returncode == 0, (
            f"{SCRIPT.name} failed (exit {proc.returncode}); screenshots in {ARTIFACTS}\n"
            f"--- stdout ---\n{proc.stdout_text[-8000:]}\n"
            f"--- stderr ---\n{proc.stderr_text[-8000:]}")
        shots = sorted(p.name for p in ARTIFACTS.glob("*.png"))
        assert len(shots) >= 8, shots
    finally:
        server.stop()
        SERVERS.remove(server)
