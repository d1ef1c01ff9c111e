//! Quotas, usage and regions, URL encoding, errors and HTTPS of the client
//! against the fake admin API.

mod common;

use clap::Parser;
use coffer_cli::ClientCommand;
use common::*;
use serde_json::{json, Value};
use tokio::net::TcpListener;

#[tokio::test]
async fn quotas() {
    let fake = Fake::start().await;
    assert_eq!(
        fake.run(&["quota", "show", "--project", "acme"]).await.unwrap(),
        "\
+-------------+--------+
| Field       | Value  |
+-------------+--------+
| max_bytes   | 10 GiB |
| max_objects | 500    |
+-------------+--------+
"
    );
    assert_eq!(fake.run(&["quota", "show", "--bucket", "photos", "-f", "value"]).await.unwrap(), "none\n1000\n");
    assert_eq!(
        fake.take(),
        [seen("GET", "/projects/acme/quota", "", None), seen("GET", "/buckets/photos/quota", "", None)]
    );

    // Both limits: one PUT.
    assert_eq!(
        fake.run(&["quota", "set", "--project", "acme", "--max-bytes", "500M", "--max-objects", "none"]).await.unwrap(),
        "\
+-------------+---------+
| Field       | Value   |
+-------------+---------+
| max_bytes   | 500 MiB |
| max_objects | none    |
+-------------+---------+
"
    );
    assert_eq!(
        fake.take(),
        [seen("PUT", "/projects/acme/quota", "", Some(json!({"max_bytes": 524288000, "max_objects": null})))]
    );

    // One limit: the other keeps its current value.
    assert_eq!(
        fake.run(&["quota", "set", "--bucket", "photos", "--max-bytes", "1T", "-f", "value"]).await.unwrap(),
        "1099511627776\n1000\n"
    );
    assert_eq!(
        fake.take(),
        [
            seen("GET", "/buckets/photos/quota", "", None),
            seen("PUT", "/buckets/photos/quota", "", Some(json!({"max_bytes": 1099511627776u64, "max_objects": 1000}))),
        ]
    );
    assert_eq!(
        fake.run(&["quota", "set", "--project", "acme", "--max-bytes", "none", "-f", "json"]).await.unwrap(),
        "{\n  \"max_bytes\": null,\n  \"max_objects\": 500\n}\n"
    );
    assert_eq!(
        fake.take(),
        [
            seen("GET", "/projects/acme/quota", "", None),
            seen("PUT", "/projects/acme/quota", "", Some(json!({"max_bytes": null, "max_objects": 500}))),
        ]
    );
}

#[tokio::test]
async fn usage_and_regions() {
    let fake = Fake::start().await;
    assert_eq!(
        fake.run(&["usage", "show", "--project", "acme", "--bucket", "photos", "--from", "2024-05-01", "--to", "2024-05-02T02:00:00+02:00"])
            .await
            .unwrap(),
        "\
+----------------------+--------+---------+---------+------------+----------+-----+-----+------+--------+-------+----------+-----------+
| hour                 | bucket | bytes   | objects | byte_hours | requests | get | put | list | delete | other | bytes_in | bytes_out |
+----------------------+--------+---------+---------+------------+----------+-----+-----+------+--------+-------+----------+-----------+
| 2024-05-01T10:00:00Z | photos | 1.5 KiB | 2       | 1.5 KiB-h  | 7        | 4   | 2   | 1    | 0      | 0     | 1.5 KiB  | 3 KiB     |
| 2024-05-01T11:00:00Z | photos | 1.5 KiB | 2       | 1.5 KiB-h  | 1        | 1   | 0   | 0    | 0      | 0     | 0 B      | 1.5 KiB   |
+----------------------+--------+---------+---------+------------+----------+-----+-----+------+--------+-------+----------+-----------+
| total                |        |         |         | 3 KiB-h    | 8        | 5   | 2   | 1    | 0      | 0     | 1.5 KiB  | 4.5 KiB   |
+----------------------+--------+---------+---------+------------+----------+-----+-----+------+--------+-------+----------+-----------+
"
    );
    assert_eq!(
        fake.take(),
        [seen(
            "GET",
            "/projects/acme/usage",
            "bucket=photos&from=2024-05-01T00%3A00%3A00Z&to=2024-05-02T00%3A00%3A00Z",
            None
        )]
    );
    assert_eq!(
        fake.run(&["usage", "show", "--project", "acme", "-f", "value"]).await.unwrap(),
        "2024-05-01T10:00:00Z photos 1536 2 1536.0 7 4 2 1 0 0 1536 3072\n2024-05-01T11:00:00Z photos 1536 2 1536.0 1 1 0 0 0 0 0 1536\n"
    );
    let json: Value =
        serde_json::from_str(&fake.run(&["usage", "show", "--project", "acme", "-f", "json"]).await.unwrap()).unwrap();
    assert_eq!(json, usage());
    assert_eq!(fake.take(), vec![seen("GET", "/projects/acme/usage", "", None); 2]);

    assert_eq!(
        fake.run(&["region", "list"]).await.unwrap(),
        "\
+-----------+-------------------------------+---------+
| name      | hosts                         | default |
+-----------+-------------------------------+---------+
| us-east-1 | s3.example.com,127.0.0.1:9000 | true    |
| eu-west-1 | eu.example.com                | false   |
+-----------+-------------------------------+---------+
"
    );
    assert_eq!(
        fake.run(&["region", "list", "-f", "value"]).await.unwrap(),
        "us-east-1 s3.example.com,127.0.0.1:9000 true\neu-west-1 eu.example.com false\n"
    );
    assert_eq!(fake.take(), vec![seen("GET", "/regions", "", None); 2]);

    assert_eq!(
        fake.run(&["bucket", "list"]).await.unwrap(),
        "\
+--------+---------+-----------+----------------------+-------+---------+
| name   | project | region    | created              | bytes | objects |
+--------+---------+-----------+----------------------+-------+---------+
| photos | acme    | us-east-1 | 2024-05-01T12:00:00Z | 3 MiB | 12      |
| logs   | globex  | eu-west-1 | 2024-05-01T12:00:00Z | 0 B   | 0       |
+--------+---------+-----------+----------------------+-------+---------+
"
    );
    assert_eq!(
        fake.run(&["bucket", "list", "--project", "acme", "-f", "value"]).await.unwrap(),
        "photos acme us-east-1 2024-05-01T12:00:00Z 3145728 12\n"
    );
    assert_eq!(fake.take(), [seen("GET", "/buckets", "", None), seen("GET", "/buckets", "project=acme", None)]);
}

#[tokio::test]
async fn names_are_percent_encoded_and_signed() {
    let fake = Fake::start().await;
    assert_eq!(fake.run(&["user", "list", "--project", "a b/c", "-f", "value"]).await.unwrap(), "");
    assert_eq!(
        fake.run(&["user", "policy", "show", "--project", "acme", "élève", "-f", "value"]).await.unwrap(),
        "-\n-\n"
    );
    assert_eq!(
        fake.take(),
        [
            seen("GET", "/projects/a%20b%2Fc/users", "", None),
            seen("GET", "/projects/acme/users/%C3%A9l%C3%A8ve/policy", "", None)
        ]
    );
}

#[tokio::test]
async fn errors() {
    let fake = Fake::start().await;
    let err = fake.run(&["project", "show", "ghost"]).await.unwrap_err();
    assert_eq!(err.to_string(), "NoSuchProject: The project 'ghost' does not exist.");
    let err = fake.run(&["project", "delete", "ghost"]).await.unwrap_err();
    assert_eq!(format!("Error: {err:#}"), "Error: NoSuchProject: The project 'ghost' does not exist.");

    // A wrong secret: the server's signature check fails.
    let err = fake.run_as("wrong-secret", &["project", "list"]).await.unwrap_err();
    assert_eq!(err.to_string(), "SignatureDoesNotMatch: The signature does not match.");
    assert_eq!(fake.take(), [seen("GET", "/projects/ghost", "", None), seen("DELETE", "/projects/ghost", "", None)]);

    // Missing keys are refused before any request.
    let conn = Cli::try_parse_from(["coffer", "--endpoint", &fake.url, "project", "list"]).unwrap().conn;
    if std::env::var_os("COFFER_ACCESS_KEY").is_none() {
        let err = coffer_cli::run_to_string(&conn, ClientCommand::Project(coffer_cli::ProjectCommand::List))
            .await
            .unwrap_err();
        assert_eq!(err.to_string(), "no access key: pass --access-key or set COFFER_ACCESS_KEY");
    }

    // Nobody listening.
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let cli =
        Cli::try_parse_from(["coffer", "--endpoint", &url, "--access-key", AK, "--secret-key", SK, "region", "list"])
            .unwrap();
    let err = coffer_cli::run_to_string(&cli.conn, cli.cmd).await.unwrap_err();
    let text = format!("{err:#}");
    assert!(text.starts_with(&format!("GET {url}/_coffer/admin/v1/regions: cannot connect to 127.0.0.1:")), "{text}");

    // https without --ca-cert.
    let cli = Cli::try_parse_from([
        "coffer",
        "--endpoint",
        "https://127.0.0.1:1",
        "--access-key",
        AK,
        "--secret-key",
        SK,
        "region",
        "list",
    ])
    .unwrap();
    let mut conn = cli.conn;
    conn.ca_cert = None;
    let err = coffer_cli::run_to_string(&conn, cli.cmd).await.unwrap_err();
    assert!(err.to_string().contains("needs --ca-cert"), "{err}");
}

/// `coffer region list` against `url` trusting only the certificates in `ca`; the error it must give.
async fn region_list_with_ca(url: &str, ca: &std::path::Path) -> anyhow::Error {
    let args = ["coffer", "--endpoint", url, "--access-key", AK, "--secret-key", SK, "--ca-cert"];
    let cli = Cli::try_parse_from(args.into_iter().chain([ca.to_str().unwrap(), "region", "list"])).unwrap();
    coffer_cli::run_to_string(&cli.conn, cli.cmd).await.unwrap_err()
}

#[tokio::test]
async fn https_with_ca_cert() {
    let fake = Fake::start_tls().await;
    assert!(fake.url.starts_with("https://127.0.0.1:"));
    assert_eq!(
        fake.run(&["project", "list", "-f", "value"]).await.unwrap(),
        "acme 2024-05-01T12:00:00Z\nglobex 2024-05-01T12:00:00Z\n"
    );
    assert_eq!(fake.take(), [seen("GET", "/projects", "", None)]);

    // Another CA is not trusted.
    let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("other.pem");
    std::fs::write(&ca, other.cert.pem()).unwrap();
    let err = region_list_with_ca(&fake.url, &ca).await;
    assert!(format!("{err:#}").contains("TLS handshake"), "{err:#}");
    assert_eq!(fake.take(), []);

    // A file without a certificate.
    std::fs::write(&ca, "not a certificate").unwrap();
    let err = region_list_with_ca(&fake.url, &ca).await;
    assert!(format!("{err:#}").contains("no usable certificate"), "{err:#}");
}

#[tokio::test]
async fn project_public_access_block() {
    let fake = Fake::start().await;
    assert_eq!(
        fake.run(&["public-access-block", "show", "--project", "acme", "-f", "value"]).await.unwrap(),
        "true\nfalse\ntrue\nfalse\n"
    );
    assert_eq!(fake.take(), [seen("GET", "/projects/acme/public-access-block", "", None)]);
    // --all: one PUT of all four.
    let all = json!({"block_public_acls": true, "ignore_public_acls": true, "block_public_policy": true, "restrict_public_buckets": true});
    fake.run(&["public-access-block", "set", "--project", "acme", "--all"]).await.unwrap();
    assert_eq!(fake.take(), [seen("PUT", "/projects/acme/public-access-block", "", Some(all))]);
    // One switch: the others keep their current value.
    let out =
        fake.run(&["public-access-block", "set", "--project", "acme", "--ignore-public-acls", "true", "-f", "value"]);
    assert_eq!(out.await.unwrap(), "true\ntrue\ntrue\nfalse\n");
    let want = json!({"block_public_acls": true, "ignore_public_acls": true, "block_public_policy": true, "restrict_public_buckets": false});
    assert_eq!(
        fake.take(),
        [
            seen("GET", "/projects/acme/public-access-block", "", None),
            seen("PUT", "/projects/acme/public-access-block", "", Some(want)),
        ]
    );
    assert!(fake.run(&["public-access-block", "set", "--project", "acme"]).await.is_err());
    assert!(fake.run(&["public-access-block", "set", "--project", "acme", "--all", "--none"]).await.is_err());
}
