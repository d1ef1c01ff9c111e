//! Client commands that manage resources (projects, users and their
//! policies and passwords, credentials) against the fake admin API.

mod common;

use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn projects() {
    let fake = Fake::start().await;
    assert_eq!(
        fake.run(&["project", "create", "acme"]).await.unwrap(),
        "\
+---------+----------------------+
| Field   | Value                |
+---------+----------------------+
| name    | acme                 |
| created | 2024-05-01T12:00:00Z |
+---------+----------------------+
"
    );
    assert_eq!(fake.take(), [seen("POST", "/projects", "", Some(json!({"name": "acme"})))]);

    assert_eq!(
        fake.run(&["project", "list"]).await.unwrap(),
        "\
+--------+----------------------+
| name   | created              |
+--------+----------------------+
| acme   | 2024-05-01T12:00:00Z |
| globex | 2024-05-01T12:00:00Z |
+--------+----------------------+
"
    );
    assert_eq!(
        fake.run(&["project", "list", "-f", "value"]).await.unwrap(),
        "acme 2024-05-01T12:00:00Z\nglobex 2024-05-01T12:00:00Z\n"
    );
    let json: Value = serde_json::from_str(&fake.run(&["project", "list", "-f", "json"]).await.unwrap()).unwrap();
    assert_eq!(json, json!([{"name": "acme", "created": T0}, {"name": "globex", "created": T0}]));
    assert_eq!(fake.take(), vec![seen("GET", "/projects", "", None); 3]);

    assert_eq!(
        fake.run(&["project", "show", "acme"]).await.unwrap(),
        "\
+-------------------+----------------------+
| Field             | Value                |
+-------------------+----------------------+
| name              | acme                 |
| created           | 2024-05-01T12:00:00Z |
| quota_max_bytes   | 10 GiB               |
| quota_max_objects | none                 |
| stored_bytes      | 1.5 KiB              |
| stored_objects    | 3                    |
| stored_buckets    | 1                    |
+-------------------+----------------------+
"
    );
    assert_eq!(
        fake.run(&["project", "show", "acme", "-f", "value"]).await.unwrap(),
        "acme\n2024-05-01T12:00:00Z\n10737418240\nnone\n1536\n3\n1\n"
    );
    let json: Value =
        serde_json::from_str(&fake.run(&["project", "show", "acme", "-f", "json"]).await.unwrap()).unwrap();
    assert_eq!(json["quota"], json!({"max_bytes": 10737418240u64, "max_objects": null}));
    assert_eq!(json["stored"]["bytes"], 1536);
    assert_eq!(fake.take(), vec![seen("GET", "/projects/acme", "", None); 3]);

    assert_eq!(fake.run(&["project", "delete", "acme"]).await.unwrap(), "");
    assert_eq!(fake.run(&["project", "delete", "acme", "-f", "json"]).await.unwrap(), "");
    assert_eq!(fake.take(), vec![seen("DELETE", "/projects/acme", "", None); 2]);
}

#[tokio::test]
async fn users_and_policies() {
    let fake = Fake::start().await;
    assert_eq!(
        fake.run(&["user", "create", "--project", "acme", "bob"]).await.unwrap(),
        "\
+-----------------+----------------------+
| Field           | Value                |
+-----------------+----------------------+
| name            | bob                  |
| path            | /                    |
| root            | false                |
| created         | 2024-05-01T12:00:00Z |
| presets         | -                    |
| inline_policies | -                    |
| has_password    | false                |
+-----------------+----------------------+
"
    );
    assert_eq!(fake.take(), [seen("POST", "/projects/acme/users", "", Some(json!({"name": "bob"})))]);
    assert_eq!(
        fake.run(&["user", "create", "--project", "acme", "carol", "--path", "/ops/", "-f", "value"]).await.unwrap(),
        "carol\n/ops/\nfalse\n2024-05-01T12:00:00Z\n-\n-\nfalse\n"
    );
    assert_eq!(
        fake.take(),
        [seen("POST", "/projects/acme/users", "", Some(json!({"name": "carol", "path": "/ops/"})))]
    );

    assert_eq!(
        fake.run(&["user", "list", "--project", "acme"]).await.unwrap(),
        "\
+-------+--------+-------+----------------------+-------------+-----------------+--------------+
| name  | path   | root  | created              | presets     | inline_policies | has_password |
+-------+--------+-------+----------------------+-------------+-----------------+--------------+
| root  | /      | true  | 2024-05-01T12:00:00Z | full-access | -               | false        |
| alice | /team/ | false | 2024-05-01T12:00:00Z | read-only   | logs            | true         |
+-------+--------+-------+----------------------+-------------+-----------------+--------------+
"
    );
    assert_eq!(
        fake.run(&["user", "list", "--project", "acme", "-f", "value"]).await.unwrap(),
        "root / true 2024-05-01T12:00:00Z full-access - false\nalice /team/ false 2024-05-01T12:00:00Z read-only logs true\n"
    );
    assert_eq!(fake.take(), vec![seen("GET", "/projects/acme/users", "", None); 2]);

    assert_eq!(
        fake.run(&["user", "show", "--project", "acme", "alice", "-f", "value"]).await.unwrap(),
        "alice\n/team/\nfalse\n2024-05-01T12:00:00Z\nread-only\nlogs\ntrue\n"
    );
    assert_eq!(fake.take(), [seen("GET", "/projects/acme/users/alice", "", None)]);

    assert_eq!(fake.run(&["user", "delete", "--project", "acme", "bob"]).await.unwrap(), "");
    assert_eq!(fake.take(), [seen("DELETE", "/projects/acme/users/bob", "", None)]);

    assert_eq!(
        fake.run(&["user", "policy", "set", "--project", "acme", "alice", "--preset", "read-only"]).await.unwrap(),
        "\
+-----------------+-----------+
| Field           | Value     |
+-----------------+-----------+
| presets         | read-only |
| inline_policies | -         |
+-----------------+-----------+
"
    );
    assert_eq!(
        fake.take(),
        [seen("PUT", "/projects/acme/users/alice/policy", "", Some(json!({"preset": "read-only"})))]
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("policy.json");
    let document =
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]});
    std::fs::write(&file, serde_json::to_string_pretty(&document).unwrap()).unwrap();
    let out = fake
        .run(&["user", "policy", "set", "--project", "acme", "alice", "--file", file.to_str().unwrap(), "-f", "json"])
        .await
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&out).unwrap(), json!({"presets": [], "inline": {"policy": document}}));
    assert_eq!(
        fake.take(),
        [seen("PUT", "/projects/acme/users/alice/policy", "", Some(json!({"document": document})))]
    );

    // A file that is not JSON is refused before anything is sent.
    std::fs::write(&file, "Version: 2012-10-17").unwrap();
    let err = fake
        .run(&["user", "policy", "set", "--project", "acme", "alice", "--file", file.to_str().unwrap()])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("is not a JSON document"), "{err:#}");
    let err = fake
        .run(&["user", "policy", "set", "--project", "acme", "alice", "--file", "/nonexistent/p.json"])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("reading /nonexistent/p.json"), "{err:#}");
    assert_eq!(fake.take(), []);

    assert_eq!(
        fake.run(&["user", "policy", "show", "--project", "acme", "alice"]).await.unwrap(),
        "\
+-----------------+-----------------------------------------+
| Field           | Value                                   |
+-----------------+-----------------------------------------+
| presets         | read-only                               |
| inline_policies | logs                                    |
| inline:logs     | {                                       |
|                 |   \"Statement\": [                        |
|                 |     {                                   |
|                 |       \"Action\": \"s3:*\",                 |
|                 |       \"Effect\": \"Deny\",                 |
|                 |       \"Resource\": \"arn:aws:s3:::logs/*\" |
|                 |     }                                   |
|                 |   ],                                    |
|                 |   \"Version\": \"2012-10-17\"               |
|                 | }                                       |
+-----------------+-----------------------------------------+
"
    );
    assert_eq!(fake.take(), [seen("GET", "/projects/acme/users/alice/policy", "", None)]);
}

#[tokio::test]
async fn console_passwords() {
    let fake = Fake::start().await;
    let set = ["user", "password", "set", "--project", "acme", "alice"];
    // The first line of stdin, without its line ending; spaces are kept.
    for (stdin, sent) in [
        ("correct horse battery\n", "correct horse battery"),
        ("  spaced out pass  \r\nsecond line\n", "  spaced out pass  "),
        ("no newline at all", "no newline at all"),
    ] {
        assert_eq!(fake.run_with_stdin(stdin, &set).await.unwrap(), "");
        assert_eq!(
            fake.take(),
            [seen("PUT", "/projects/acme/users/alice/password", "", Some(json!({"password": sent})))]
        );
    }
    let mut explicit = set.to_vec();
    explicit.push("--password-stdin");
    assert_eq!(fake.run_with_stdin("correct horse battery\n", &explicit).await.unwrap(), "");
    assert_eq!(fake.take().len(), 1);

    // Nothing on stdin: refused before anything is sent.
    for stdin in ["", "\n", "\r\nlater"] {
        let err = fake.run_with_stdin(stdin, &set).await.unwrap_err();
        assert!(err.to_string().contains("password"), "{err:#}");
    }
    assert_eq!(fake.take(), []);

    // The server's refusals come back as errors, without the password.
    let err = fake.run_with_stdin("short\n", &set).await.unwrap_err();
    assert!(err.to_string().contains("WeakPassword"), "{err:#}");
    assert!(!err.to_string().contains("short\n"), "{err:#}");
    let err =
        fake.run_with_stdin("correct horse battery\n", &["user", "password", "set", "--project", "acme", "bob"]).await;
    assert!(err.unwrap_err().to_string().contains("NoSuchUser"));
    fake.take();

    // Clear sends null and reads nothing.
    assert_eq!(fake.run(&["user", "password", "clear", "--project", "acme", "alice"]).await.unwrap(), "");
    assert_eq!(fake.take(), [seen("PUT", "/projects/acme/users/alice/password", "", Some(json!({"password": null})))]);
}

#[tokio::test]
async fn credentials() {
    let fake = Fake::start().await;
    assert_eq!(
        fake.run(&["credentials", "create", "--project", "acme"]).await.unwrap(),
        "\
+------------+----------------------+
| Field      | Value                |
+------------+----------------------+
| access_key | AKNEW                |
| secret_key | SKNEW                |
| project    | acme                 |
| user       | root                 |
| region     | us-east-1            |
| status     | Active               |
| created    | 2024-05-01T12:00:00Z |
| expires    | -                    |
+------------+----------------------+
The secret key is shown only this once: store it now (it cannot be retrieved later).
"
    );
    assert_eq!(fake.take(), [seen("POST", "/projects/acme/keys", "", Some(json!({})))]);

    let out = fake
        .run(&[
            "credentials",
            "create",
            "--project",
            "acme",
            "--user",
            "alice",
            "--region",
            "eu-west-1",
            "--expires",
            "2025-01-01",
            "-f",
            "json",
        ])
        .await
        .unwrap();
    let json: Value = serde_json::from_str(&out).unwrap();
    for k in ["access_key", "secret_key", "project", "user", "region"] {
        assert!(json.get(k).is_some(), "{k} missing from {out}");
    }
    assert_eq!(json["secret_key"], "SKNEW");
    assert_eq!(json["user"], "alice");
    assert_eq!(json["region"], "eu-west-1");
    assert_eq!(json["expires"], "2025-01-01T00:00:00Z");
    assert!(!out.contains("shown only"), "no note in JSON");
    assert_eq!(
        fake.take(),
        [seen(
            "POST",
            "/projects/acme/keys",
            "",
            Some(json!({"user": "alice", "region": "eu-west-1", "expires": "2025-01-01T00:00:00Z"}))
        )]
    );
    assert_eq!(
        fake.run(&["credentials", "create", "--project", "acme", "-f", "value"]).await.unwrap(),
        "AKNEW\nSKNEW\nacme\nroot\nus-east-1\nActive\n2024-05-01T12:00:00Z\n-\n"
    );
    fake.take();

    assert_eq!(
        fake.run(&["credentials", "list", "--project", "acme"]).await.unwrap(),
        "\
+------------+-------+-----------+----------+----------------------+-----------+---------+
| access_key | user  | region    | status   | created              | last_used | expires |
+------------+-------+-----------+----------+----------------------+-----------+---------+
| AK1        | root  | us-east-1 | Active   | 2024-05-01T12:00:00Z | -         | -       |
| AK2        | alice | us-east-1 | Inactive | 2024-05-01T12:00:00Z | -         | -       |
+------------+-------+-----------+----------+----------------------+-----------+---------+
"
    );
    assert_eq!(
        fake.run(&["credentials", "list", "--project", "acme", "--user", "alice", "-f", "value"]).await.unwrap(),
        "AK2 alice us-east-1 Inactive 2024-05-01T12:00:00Z - -\n"
    );
    assert_eq!(
        fake.take(),
        [seen("GET", "/projects/acme/keys", "", None), seen("GET", "/projects/acme/keys", "user=alice", None)]
    );

    assert_eq!(
        fake.run(&["credentials", "show", "AK1", "-f", "value"]).await.unwrap(),
        "AK1\nacme\nroot\nus-east-1\nActive\n2024-05-01T12:00:00Z\n-\n-\n"
    );
    assert_eq!(fake.take(), [seen("GET", "/keys/AK1", "", None)]);

    let out = fake.run(&["credentials", "deactivate", "AK1"]).await.unwrap();
    assert!(out.contains("| status     | Inactive             |"), "{out}");
    assert_eq!(fake.run(&["credentials", "activate", "AK1", "-f", "json"]).await.unwrap(), {
        let mut s = serde_json::to_string_pretty(&key("AK1", "root", "Active")).unwrap();
        s.push('\n');
        s
    });
    // A server that answers 204 prints nothing.
    assert_eq!(fake.run(&["credentials", "deactivate", "AK204"]).await.unwrap(), "");
    assert_eq!(
        fake.take(),
        [
            seen("PATCH", "/keys/AK1", "", Some(json!({"status": "Inactive"}))),
            seen("PATCH", "/keys/AK1", "", Some(json!({"status": "Active"}))),
            seen("PATCH", "/keys/AK204", "", Some(json!({"status": "Inactive"}))),
        ]
    );

    assert_eq!(fake.run(&["credentials", "delete", "AK1"]).await.unwrap(), "");
    assert_eq!(fake.take(), [seen("DELETE", "/keys/AK1", "", None)]);
}
