"""`coffer server --config FILE`: settings from a TOML file, under flags and
environment variables; unknown keys refused by name; `coffer config
print-default` and `coffer config check`."""

from __future__ import annotations

import os
import re
import subprocess
import time

from coffer_e2e import (
    REGION,
    ROOT_ACCESS_KEY,
    ROOT_SECRET_KEY,
    CofferServer,
    boto3_client,
    coffer_bin,
    free_port,
    http_request,
)


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("COFFER_") or k == "COFFER_BIN"}
    env.update(COFFER_ROOT_ACCESS_KEY=ROOT_ACCESS_KEY, COFFER_ROOT_SECRET_KEY=ROOT_SECRET_KEY, **extra)
    return env


def _serve(args, env, log):
    return subprocess.Popen([str(coffer_bin()), "server", *args], env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT)


def _wait_live(proc, port, log_path):
    deadline = time.time() + 30
    while time.time() < deadline:
        assert proc.poll() is None, log_path.read_text()
        try:
            if http_request(f"http://127.0.0.1:{port}/_coffer/health/live", timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"not live on {port}: {log_path.read_text()}")


def _stop(proc):
    proc.terminate()
    assert proc.wait(timeout=30) == 0


def _region_of_new_bucket(port, region, bucket):
    """Creates `bucket` signed for `region` and reads its location back."""
    server = CofferServer(data_dir=None, log_path=None, port=port, region=region)
    s3 = boto3_client(server)
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    return s3.get_bucket_location(Bucket=bucket)["LocationConstraint"]


def test_the_file_sets_what_flags_and_environment_leave(tmp_path):
    port = free_port()
    cfg = tmp_path / "coffer.toml"
    cfg.write_text(
        f'data_dir = "{tmp_path / "from-file"}"\n'
        f'listen = "127.0.0.1:{port}"\n'
        'region = ["eu-west-3", "eu-north-1"]\n'
        'no_console = true\n'
        'meter_interval_secs = 5\n'
    )
    log_path = tmp_path / "server.log"
    with open(log_path, "ab") as log:
        proc = _serve(["--config", str(cfg)], _env(), log)
        try:
            _wait_live(proc, port, log_path)
            assert (tmp_path / "from-file" / "meta.db").exists()
            assert _region_of_new_bucket(port, "eu-west-3", "from-the-file") == "eu-west-3"
        finally:
            _stop(proc)

        # A flag wins over the file (the listen address); the environment
        # wins over the file (the regions); the rest still comes from it.
        other = free_port()
        env = _env(COFFER_REGION="ap-south-2")
        proc = _serve(["--config", str(cfg), "--listen", f"127.0.0.1:{other}"], env, log)
        try:
            _wait_live(proc, other, log_path)
            assert _region_of_new_bucket(other, "ap-south-2", "from-the-env") == "ap-south-2"
            s3 = boto3_client(CofferServer(data_dir=None, log_path=None, port=other, region="ap-south-2"))
            names = {b["Name"] for b in s3.list_buckets()["Buckets"]}
            assert {"from-the-file", "from-the-env"} <= names, "the same data dir, from the file"
        finally:
            _stop(proc)


def test_bad_files_are_refused_naming_the_key(tmp_path):
    cases = {
        'lissen = "127.0.0.1:1"\n': "unknown key `lissen`",
        "no_console = 1\n": "key `no_console`: expected true or false",
        'idle_timeout_secs = "soon"\n': "idle-timeout-secs",
        "listen = [\n": "coffer.toml",
    }
    for text, expected in cases.items():
        cfg = tmp_path / "coffer.toml"
        cfg.write_text(text)
        r = subprocess.run([str(coffer_bin()), "server", "--config", str(cfg),
                            "--data-dir", str(tmp_path / "never")],
                           env=_env(), capture_output=True, text=True, timeout=30)
        assert r.returncode != 0, text
        assert expected in r.stderr, (text, r.stderr)
        check = subprocess.run([str(coffer_bin()), "config", "check", str(cfg)],
                               env=_env(), capture_output=True, text=True, timeout=30)
        assert check.returncode != 0 and expected in check.stderr, (text, check.stderr)
    assert not (tmp_path / "never").exists(), "nothing started"


def test_the_default_file_documents_every_flag_and_checks(tmp_path):
    printed = subprocess.run([str(coffer_bin()), "config", "print-default"], env=_env(),
                             capture_output=True, text=True, timeout=30, check=True).stdout
    help_text = subprocess.run([str(coffer_bin()), "server", "--help"], env=_env(),
                               capture_output=True, text=True, timeout=30, check=True).stdout
    top_help = subprocess.run([str(coffer_bin()), "--help"], env=_env(),
                              capture_output=True, text=True, timeout=30, check=True).stdout
    # The client commands' connection flags (global) are not the server's settings.
    client = set(re.findall(r"--([a-z][a-z0-9-]+)", top_help))
    flags = set(re.findall(r"--([a-z][a-z0-9-]+)", help_text)) - client - {"help", "config"}
    assert len(flags) > 25, flags
    for flag in flags:
        key = flag.replace("-", "_")
        assert re.search(rf"^#? ?{key} = ", printed, re.M), f"{key} missing from the default file"
        assert f"# Flag --{flag}" in printed, flag
    assert 'data_dir = "./coffer-data"' in printed and "idle_timeout_secs = 30" in printed
    cfg = tmp_path / "default.toml"
    cfg.write_text(printed)
    ok = subprocess.run([str(coffer_bin()), "config", "check", str(cfg)], env=_env(),
                        capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and "OK" in ok.stdout, ok.stderr
    assert REGION in printed


def test_the_packaged_config_checks():
    """packaging/coffer.toml (the systemd unit's) stays a valid configuration."""
    from coffer_e2e import REPO_ROOT
    ok = subprocess.run([str(coffer_bin()), "config", "check", str(REPO_ROOT / "packaging" / "coffer.toml")],
                        env=_env(), capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and "OK" in ok.stdout, ok.stderr


def test_settings_that_need_each_other_may_come_from_file_and_environment(tmp_path):
    token = tmp_path / "token"
    token.write_text("0123456789abcdef0123\n")
    cfg = tmp_path / "coffer.toml"
    cfg.write_text('metrics_listen = "127.0.0.1:0"\n')
    env = _env(COFFER_METRICS_TOKEN_FILE=str(token))
    ok = subprocess.run([str(coffer_bin()), "config", "check", str(cfg)], env=env,
                        capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    cfg.write_text("audit_all = true\n")
    bad = subprocess.run([str(coffer_bin()), "config", "check", str(cfg)], env=_env(),
                         capture_output=True, text=True, timeout=30)
    assert bad.returncode != 0 and "--audit-all needs --audit-log" in bad.stderr, bad.stderr
