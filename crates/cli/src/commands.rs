//! Each command: its request(s) to the admin API and how its answer is shown.

use anyhow::{anyhow, Context as _};
use http::Method;
use serde_json::{json, Map, Value};

use crate::client::{encode, query, Client};
use crate::render::{cell, list_view, object_rows, Cell, Field, Kind, Output, View};
use crate::{
    BucketCommand, ClientCommand, CredentialsCommand, Limit, ProjectCommand, PublicAccessBlockCommand, QuotaCommand,
    QuotaTarget, RegionCommand, Stdin, UsageCommand, UserCommand, UserPasswordCommand, UserPolicyCommand,
};

const PROJECT: &[Field] = &[("name", "/name", Kind::Text), ("created", "/created", Kind::Text)];
const PROJECT_SHOW: &[Field] = &[
    ("name", "/name", Kind::Text),
    ("created", "/created", Kind::Text),
    ("quota_max_bytes", "/quota/max_bytes", Kind::LimitBytes),
    ("quota_max_objects", "/quota/max_objects", Kind::LimitCount),
    ("stored_bytes", "/stored/bytes", Kind::Bytes),
    ("stored_objects", "/stored/objects", Kind::Text),
    ("stored_buckets", "/stored/buckets", Kind::Text),
];
const USER: &[Field] = &[
    ("name", "/name", Kind::Text),
    ("path", "/path", Kind::Text),
    ("root", "/root", Kind::Text),
    ("created", "/created", Kind::Text),
    ("presets", "/presets", Kind::Text),
    ("inline_policies", "/inline_policies", Kind::Text),
    ("has_password", "/has_password", Kind::Text),
];
/// The keys `credentials create -f json` always has.
const KEY_CREATED_JSON: [&str; 5] = ["access_key", "secret_key", "project", "user", "region"];
const KEY_CREATED: &[Field] = &[
    ("access_key", "/access_key", Kind::Text),
    ("secret_key", "/secret_key", Kind::Text),
    ("project", "/project", Kind::Text),
    ("user", "/user", Kind::Text),
    ("region", "/region", Kind::Text),
    ("status", "/status", Kind::Text),
    ("created", "/created", Kind::Text),
    ("expires", "/expires", Kind::Text),
];
const KEY: &[Field] = &[
    ("access_key", "/access_key", Kind::Text),
    ("project", "/project", Kind::Text),
    ("user", "/user", Kind::Text),
    ("region", "/region", Kind::Text),
    ("status", "/status", Kind::Text),
    ("created", "/created", Kind::Text),
    ("last_used", "/last_used", Kind::Text),
    ("expires", "/expires", Kind::Text),
];
/// In a project's list the project is left out: it is the same on every row.
const KEY_LIST: &[Field] = &[
    ("access_key", "/access_key", Kind::Text),
    ("user", "/user", Kind::Text),
    ("region", "/region", Kind::Text),
    ("status", "/status", Kind::Text),
    ("created", "/created", Kind::Text),
    ("last_used", "/last_used", Kind::Text),
    ("expires", "/expires", Kind::Text),
];
const BUCKET: &[Field] = &[
    ("name", "/name", Kind::Text),
    ("project", "/project", Kind::Text),
    ("region", "/region", Kind::Text),
    ("created", "/created", Kind::Text),
    ("bytes", "/bytes", Kind::Bytes),
    ("objects", "/objects", Kind::Text),
];
const QUOTA: &[Field] =
    &[("max_bytes", "/max_bytes", Kind::LimitBytes), ("max_objects", "/max_objects", Kind::LimitCount)];
const REGION: &[Field] =
    &[("name", "/name", Kind::Text), ("hosts", "/hosts", Kind::Text), ("default", "/default", Kind::Text)];
const USAGE_HOUR: &[Field] = &[
    ("hour", "/hour", Kind::Text),
    ("bucket", "/bucket", Kind::Text),
    ("bytes", "/bytes", Kind::Bytes),
    ("objects", "/objects", Kind::Text),
    ("byte_hours", "/byte_hours", Kind::ByteHours),
];
/// The request classes, in column order after the `requests` sum.
const REQUEST_CLASSES: [&str; 5] = ["get", "put", "list", "delete", "other"];
const TRAFFIC: &[Field] = &[("bytes_in", "/bytes_in", Kind::Bytes), ("bytes_out", "/bytes_out", Kind::Bytes)];

/// The line after `credentials create`'s table.
pub(crate) const SECRET_NOTE: &str =
    "The secret key is shown only this once: store it now (it cannot be retrieved later).";

/// One object shown as `Field | Value`, printed as JSON as the API gave it.
fn show(v: Value, fields: &[Field]) -> Output {
    Output { view: View::Object(object_rows(&v, fields)), json: Some(v), note: None }
}

/// A list, one column per field.
fn list(v: Value, fields: &[Field]) -> anyhow::Result<Output> {
    Ok(Output { view: list_view(&v, fields)?, json: Some(v), note: None })
}

/// The answer's body, which this call must have.
fn body(v: Option<Value>) -> anyhow::Result<Value> {
    v.ok_or_else(|| anyhow!("unexpected answer from the server: no body"))
}

pub(crate) async fn execute(c: &Client, cmd: ClientCommand, stdin: Stdin) -> anyhow::Result<Output> {
    match cmd {
        ClientCommand::Project(cmd) => project(c, cmd).await,
        ClientCommand::User(cmd) => user(c, cmd, stdin).await,
        ClientCommand::Credentials(cmd) => credentials(c, cmd).await,
        ClientCommand::Quota(cmd) => quota(c, cmd).await,
        ClientCommand::PublicAccessBlock(cmd) => public_access_block(c, cmd).await,
        ClientCommand::Usage(cmd) => usage(c, cmd).await,
        ClientCommand::Bucket(BucketCommand::List { project }) => {
            let q = query(&[("project", project.as_deref())]);
            list(body(c.call(Method::GET, "/buckets", &q, None).await?)?, BUCKET)
        }
        ClientCommand::Region(RegionCommand::List) => {
            list(body(c.call(Method::GET, "/regions", "", None).await?)?, REGION)
        }
    }
}

async fn project(c: &Client, cmd: ProjectCommand) -> anyhow::Result<Output> {
    match cmd {
        ProjectCommand::Create { name } => {
            let v = c.call(Method::POST, "/projects", "", Some(&json!({ "name": name }))).await?;
            Ok(show(body(v)?, PROJECT))
        }
        ProjectCommand::List => list(body(c.call(Method::GET, "/projects", "", None).await?)?, PROJECT),
        ProjectCommand::Show { name } => {
            Ok(show(body(c.call(Method::GET, &format!("/projects/{}", encode(&name)), "", None).await?)?, PROJECT_SHOW))
        }
        ProjectCommand::Delete { name } => {
            c.call(Method::DELETE, &format!("/projects/{}", encode(&name)), "", None).await?;
            Ok(Output::nothing())
        }
    }
}

/// The first line of `stdin`, without its line ending; an error if there is
/// none. A terminal gets a prompt on stderr (what is typed is echoed).
fn read_password(stdin: Stdin) -> anyhow::Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    let mut line = String::new();
    let n = match stdin {
        Stdin::Process => {
            let input = std::io::stdin();
            if input.is_terminal() {
                let mut err = std::io::stderr();
                let _ = write!(err, "Console password (one line): ");
                let _ = err.flush();
            }
            input.lock().read_line(&mut line)
        }
        Stdin::Text(text) => text.as_bytes().read_line(&mut line),
    }
    .context("reading the password from standard input")?;
    if n == 0 {
        anyhow::bail!("no password on standard input: give it as the first line, e.g. `... < password.txt`");
    }
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    if line.is_empty() {
        anyhow::bail!("the first line of standard input is empty: no password given");
    }
    Ok(line)
}

async fn user(c: &Client, cmd: UserCommand, stdin: Stdin) -> anyhow::Result<Output> {
    let users = |project: &str| format!("/projects/{}/users", encode(project));
    match cmd {
        UserCommand::Create { project, name, path } => {
            let mut req = json!({ "name": name });
            if let Some(p) = path {
                req["path"] = json!(p);
            }
            Ok(show(body(c.call(Method::POST, &users(&project), "", Some(&req)).await?)?, USER))
        }
        UserCommand::List { project } => list(body(c.call(Method::GET, &users(&project), "", None).await?)?, USER),
        UserCommand::Show { project, name } => {
            let path = format!("{}/{}", users(&project), encode(&name));
            Ok(show(body(c.call(Method::GET, &path, "", None).await?)?, USER))
        }
        UserCommand::Delete { project, name } => {
            c.call(Method::DELETE, &format!("{}/{}", users(&project), encode(&name)), "", None).await?;
            Ok(Output::nothing())
        }
        UserCommand::Policy(UserPolicyCommand::Set { project, user, source }) => {
            let request = match (source.preset, source.file) {
                (Some(preset), _) => json!({ "preset": preset }),
                (None, Some(file)) => {
                    let text = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
                    let document: Value = serde_json::from_slice(&text)
                        .with_context(|| format!("{} is not a JSON document", file.display()))?;
                    if !document.is_object() {
                        anyhow::bail!("{} is not a policy document: expected a JSON object", file.display());
                    }
                    json!({ "document": document })
                }
                (None, None) => anyhow::bail!("give --preset NAME or --file POLICY.json"),
            };
            let path = format!("{}/{}/policy", users(&project), encode(&user));
            Ok(policy(body(c.call(Method::PUT, &path, "", Some(&request)).await?)?))
        }
        UserCommand::Policy(UserPolicyCommand::Show { project, user }) => {
            let path = format!("{}/{}/policy", users(&project), encode(&user));
            Ok(policy(body(c.call(Method::GET, &path, "", None).await?)?))
        }
        UserCommand::Password(cmd) => {
            let (project, user, password) = match cmd {
                UserPasswordCommand::Set { project, user, password_stdin: _ } => {
                    (project, user, Some(read_password(stdin)?))
                }
                UserPasswordCommand::Clear { project, user } => (project, user, None),
            };
            let path = format!("{}/{}/password", users(&project), encode(&user));
            c.call(Method::PUT, &path, "", Some(&json!({ "password": password }))).await?;
            Ok(Output::nothing())
        }
    }
}

/// A user's policies: the presets, then one row per inline document.
fn policy(v: Value) -> Output {
    let mut rows = vec![("presets".to_owned(), cell(v.get("presets"), Kind::Text))];
    match v.get("inline") {
        Some(Value::Object(inline)) => {
            let names: Vec<Value> = inline.keys().map(|k| Value::String(k.clone())).collect();
            rows.push(("inline_policies".to_owned(), cell(Some(&Value::Array(names)), Kind::Text)));
            for (name, doc) in inline {
                rows.push((format!("inline:{name}"), cell(Some(doc), Kind::Doc)));
            }
        }
        other => rows.push(("inline_policies".to_owned(), cell(other, Kind::Text))),
    }
    Output { view: View::Object(rows), json: Some(v), note: None }
}

async fn credentials(c: &Client, cmd: CredentialsCommand) -> anyhow::Result<Output> {
    let key = |ak: &str| format!("/keys/{}", encode(ak));
    match cmd {
        CredentialsCommand::Create { project, user, region, expires } => {
            let mut request = Map::new();
            for (k, v) in [("user", user), ("region", region), ("expires", expires)] {
                if let Some(v) = v {
                    request.insert(k.to_owned(), Value::String(v));
                }
            }
            let path = format!("/projects/{}/keys", encode(&project));
            let mut v = body(c.call(Method::POST, &path, "", Some(&Value::Object(request))).await?)?;
            if let Value::Object(map) = &mut v {
                for k in KEY_CREATED_JSON {
                    map.entry(k).or_insert(Value::Null);
                }
            }
            let mut out = show(v, KEY_CREATED);
            out.note = Some(SECRET_NOTE.to_owned());
            Ok(out)
        }
        CredentialsCommand::List { project, user } => {
            let path = format!("/projects/{}/keys", encode(&project));
            list(body(c.call(Method::GET, &path, &query(&[("user", user.as_deref())]), None).await?)?, KEY_LIST)
        }
        CredentialsCommand::Show { access_key } => {
            Ok(show(body(c.call(Method::GET, &key(&access_key), "", None).await?)?, KEY))
        }
        CredentialsCommand::Delete { access_key } => {
            c.call(Method::DELETE, &key(&access_key), "", None).await?;
            Ok(Output::nothing())
        }
        CredentialsCommand::Deactivate { access_key } => set_status(c, &key(&access_key), "Inactive").await,
        CredentialsCommand::Activate { access_key } => set_status(c, &key(&access_key), "Active").await,
    }
}

/// Activates or deactivates a key; shows the key if the server sends it back.
async fn set_status(c: &Client, path: &str, status: &str) -> anyhow::Result<Output> {
    match c.call(Method::PATCH, path, "", Some(&json!({ "status": status }))).await? {
        Some(v) => Ok(show(v, KEY)),
        None => Ok(Output::nothing()),
    }
}

fn quota_path(target: &QuotaTarget) -> anyhow::Result<String> {
    match (&target.project, &target.bucket) {
        (Some(p), None) => Ok(format!("/projects/{}/quota", encode(p))),
        (None, Some(b)) => Ok(format!("/buckets/{}/quota", encode(b))),
        _ => anyhow::bail!("give exactly one of --project and --bucket"),
    }
}

fn limit_json(l: Limit) -> Value {
    l.0.map_or(Value::Null, Value::from)
}

async fn quota(c: &Client, cmd: QuotaCommand) -> anyhow::Result<Output> {
    match cmd {
        QuotaCommand::Set { target, limits } => {
            let path = quota_path(&target)?;
            // A PUT sets both limits: one not given keeps its current value.
            let mut request = match (limits.max_bytes, limits.max_objects) {
                (Some(_), Some(_)) => Map::new(),
                (None, None) => anyhow::bail!("give --max-bytes or --max-objects (or both)"),
                _ => match c.call(Method::GET, &path, "", None).await? {
                    Some(Value::Object(current)) => current,
                    _ => Map::new(),
                },
            };
            request.retain(|k, _| k == "max_bytes" || k == "max_objects");
            for (k, l) in [("max_bytes", limits.max_bytes), ("max_objects", limits.max_objects)] {
                match l {
                    Some(l) => {
                        request.insert(k.to_owned(), limit_json(l));
                    }
                    None => {
                        request.entry(k).or_insert(Value::Null);
                    }
                }
            }
            let request = Value::Object(request);
            let answer = c.call(Method::PUT, &path, "", Some(&request)).await?;
            Ok(show(answer.unwrap_or(request), QUOTA))
        }
        QuotaCommand::Show { target } => {
            Ok(show(body(c.call(Method::GET, &quota_path(&target)?, "", None).await?)?, QUOTA))
        }
    }
}

const SWITCHES: &[Field] = &[
    ("block_public_acls", "/block_public_acls", Kind::Text),
    ("ignore_public_acls", "/ignore_public_acls", Kind::Text),
    ("block_public_policy", "/block_public_policy", Kind::Text),
    ("restrict_public_buckets", "/restrict_public_buckets", Kind::Text),
];

async fn public_access_block(c: &Client, cmd: PublicAccessBlockCommand) -> anyhow::Result<Output> {
    match cmd {
        PublicAccessBlockCommand::Show { project } => {
            let path = format!("/projects/{}/public-access-block", encode(&project));
            Ok(show(body(c.call(Method::GET, &path, "", None).await?)?, SWITCHES))
        }
        PublicAccessBlockCommand::Set {
            project,
            all,
            none,
            block_public_acls,
            ignore_public_acls,
            block_public_policy,
            restrict_public_buckets,
        } => {
            let path = format!("/projects/{}/public-access-block", encode(&project));
            let named = [
                ("block_public_acls", block_public_acls),
                ("ignore_public_acls", ignore_public_acls),
                ("block_public_policy", block_public_policy),
                ("restrict_public_buckets", restrict_public_buckets),
            ];
            if !all && !none && named.iter().all(|(_, v)| v.is_none()) {
                anyhow::bail!("give --all, --none or at least one switch");
            }
            // A PUT sets all four: start from --all/--none, else from the current ones.
            let mut request = if all || none {
                named.iter().map(|(k, _)| (k.to_string(), Value::Bool(all))).collect::<Map<_, _>>()
            } else {
                match c.call(Method::GET, &path, "", None).await? {
                    Some(Value::Object(current)) => current,
                    _ => Map::new(),
                }
            };
            request.retain(|k, _| named.iter().any(|(n, _)| n == k));
            for (k, v) in named {
                if let Some(v) = v {
                    request.insert(k.to_owned(), Value::Bool(v));
                }
            }
            let request = Value::Object(request);
            let answer = c.call(Method::PUT, &path, "", Some(&request)).await?;
            Ok(show(answer.unwrap_or(request), SWITCHES))
        }
    }
}

async fn usage(c: &Client, cmd: UsageCommand) -> anyhow::Result<Output> {
    let UsageCommand::Show { project, bucket, from, to } = cmd;
    let path = format!("/projects/{}/usage", encode(&project));
    let q = query(&[("bucket", bucket.as_deref()), ("from", from.as_deref()), ("to", to.as_deref())]);
    let v = body(c.call(Method::GET, &path, &q, None).await?)?;
    Ok(Output { view: usage_view(&v)?, json: Some(v), note: None })
}

/// The `requests` sum, then one cell per class.
fn request_cells(requests: Option<&Value>) -> Vec<Cell> {
    let total: Option<u64> = requests
        .and_then(Value::as_object)
        .map(|m| m.values().filter_map(Value::as_u64).fold(0u64, u64::saturating_add));
    let mut cells = vec![match total {
        Some(t) => Cell::text(t.to_string()),
        None => Cell::text("-"),
    }];
    cells.extend(REQUEST_CLASSES.iter().map(|k| cell(requests.and_then(|r| r.get(*k)), Kind::Text)));
    cells
}

/// One row per (hour, bucket), a totals row in the table.
fn usage_view(v: &Value) -> anyhow::Result<View> {
    let hours = v
        .get("hours")
        .and_then(Value::as_array)
        .ok_or_else(|| anyhow!("unexpected answer from the server: no 'hours' list"))?;
    let mut columns: Vec<String> = USAGE_HOUR.iter().map(|(l, _, _)| l.to_string()).collect();
    columns.push("requests".into());
    columns.extend(REQUEST_CLASSES.iter().map(|c| c.to_string()));
    columns.extend(TRAFFIC.iter().map(|(l, _, _)| l.to_string()));
    let row = |item: &Value| -> Vec<Cell> {
        let mut cells: Vec<Cell> = USAGE_HOUR.iter().map(|(_, ptr, kind)| cell(item.pointer(ptr), *kind)).collect();
        cells.extend(request_cells(item.get("requests")));
        cells.extend(TRAFFIC.iter().map(|(_, ptr, kind)| cell(item.pointer(ptr), *kind)));
        cells
    };
    let rows = hours.iter().map(row).collect();
    let footer = v.get("totals").map(|t| {
        let mut cells = vec![Cell::text("total"), Cell::text(""), Cell::text(""), Cell::text("")];
        cells.push(cell(t.get("byte_hours"), Kind::ByteHours));
        cells.extend(request_cells(t.get("requests")));
        cells.extend(TRAFFIC.iter().map(|(_, ptr, kind)| cell(t.pointer(ptr), *kind)));
        cells
    });
    Ok(View::List { columns, rows, footer })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::render;
    use crate::Format;

    #[test]
    fn usage_table() {
        let v = json!({
            "project": "acme", "bucket": null, "from": "2024-05-01T00:00:00Z", "to": "2024-05-01T02:00:00Z",
            "hours": [
                {"hour": "2024-05-01T00:00:00Z", "bucket": "photos", "byte_hours": 1073741824u64, "bytes": 1073741824u64,
                 "objects": 10, "requests": {"get": 5, "put": 3, "list": 1, "delete": 0, "other": 1},
                 "bytes_in": 2048, "bytes_out": 512},
                {"hour": "2024-05-01T01:00:00Z", "bucket": "photos", "byte_hours": 1073741824u64, "bytes": 1073741824u64,
                 "objects": 10, "requests": {"get": 0, "put": 0, "list": 0, "delete": 0, "other": 0},
                 "bytes_in": 0, "bytes_out": 0}
            ],
            "totals": {"byte_hours": 2147483648u64, "requests": {"get": 5, "put": 3, "list": 1, "delete": 0, "other": 1},
                       "bytes_in": 2048, "bytes_out": 512}
        });
        let out = Output { view: usage_view(&v).unwrap(), json: Some(v), note: None };
        assert_eq!(
            render(&out, Format::Table),
            "\
+----------------------+--------+-------+---------+------------+----------+-----+-----+------+--------+-------+----------+-----------+
| hour                 | bucket | bytes | objects | byte_hours | requests | get | put | list | delete | other | bytes_in | bytes_out |
+----------------------+--------+-------+---------+------------+----------+-----+-----+------+--------+-------+----------+-----------+
| 2024-05-01T00:00:00Z | photos | 1 GiB | 10      | 1 GiB-h    | 10       | 5   | 3   | 1    | 0      | 1     | 2 KiB    | 512 B     |
| 2024-05-01T01:00:00Z | photos | 1 GiB | 10      | 1 GiB-h    | 0        | 0   | 0   | 0    | 0      | 0     | 0 B      | 0 B       |
+----------------------+--------+-------+---------+------------+----------+-----+-----+------+--------+-------+----------+-----------+
| total                |        |       |         | 2 GiB-h    | 10       | 5   | 3   | 1    | 0      | 1     | 2 KiB    | 512 B     |
+----------------------+--------+-------+---------+------------+----------+-----+-----+------+--------+-------+----------+-----------+
"
        );
        assert_eq!(
            render(&out, Format::Value),
            "2024-05-01T00:00:00Z photos 1073741824 10 1073741824 10 5 3 1 0 1 2048 512\n\
             2024-05-01T01:00:00Z photos 1073741824 10 1073741824 0 0 0 0 0 0 0 0\n"
        );
    }

    #[test]
    fn policy_view() {
        let v = json!({"presets": ["read-only"], "inline": {"deny-logs": {"Version": "2012-10-17", "Statement": []}}});
        let out = policy(v);
        assert_eq!(
            render(&out, Format::Table),
            "\
+------------------+---------------------------+
| Field            | Value                     |
+------------------+---------------------------+
| presets          | read-only                 |
| inline_policies  | deny-logs                 |
| inline:deny-logs | {                         |
|                  |   \"Statement\": [],        |
|                  |   \"Version\": \"2012-10-17\" |
|                  | }                         |
+------------------+---------------------------+
"
        );
        assert_eq!(
            render(&out, Format::Value),
            "read-only\ndeny-logs\n{\"Statement\":[],\"Version\":\"2012-10-17\"}\n"
        );
        let empty = policy(json!({"presets": [], "inline": {}}));
        assert_eq!(render(&empty, Format::Value), "-\n-\n");
    }
}
