//! The SQL of [`coffer_meta::IdentityStore`]: projects, users, access keys,
//! and the console's shared state (failed sign-ins, session generations).
//! Users keep their policies as JSON text (a map of inline documents, an
//! array of attached preset names); the store never reads a policy.
//!
//! Existence checks that guard an insert (a user's project, a key's user)
//! lock the parent row `FOR SHARE`, so a racing delete of the parent either
//! finishes first (and the insert is refused) or waits for the insert.

use crate::ops::corrupt;
use crate::retry::Try;
use crate::stmt::Db;
use coffer_meta::*;
use coffer_types::UnixMillis;
use tokio_postgres::types::Type;
use tokio_postgres::Row;

/// `NotFound` when a write changed no row.
fn found(changed: u64) -> Try<()> {
    if changed == 0 {
        Err(MetaError::NotFound.into())
    } else {
        Ok(())
    }
}

async fn locked(c: &impl Db, sql: &str, a: &str, b: Option<&str>) -> Try<bool> {
    let rows = match b {
        None => c.query_typed(sql, &[(&a, Type::TEXT)]).await?,
        Some(b) => c.query_typed(sql, &[(&a, Type::TEXT), (&b, Type::TEXT)]).await?,
    };
    Ok(!rows.is_empty())
}

pub async fn create_project(c: &impl Db, p: &ProjectRecord) -> Try<()> {
    // A name is taken for good, even once its project is deleted (v11).
    let n = c
        .execute_typed(
            "INSERT INTO project_names (name, created) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[(&p.name, Type::TEXT), (&p.created, Type::INT8)],
        )
        .await?;
    if n == 0 {
        return Err(MetaError::AlreadyExists.into());
    }
    let n = c
        .execute_typed(
            "INSERT INTO projects (name, created) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            &[(&p.name, Type::TEXT), (&p.created, Type::INT8)],
        )
        .await?;
    if n == 0 {
        return Err(MetaError::AlreadyExists.into());
    }
    Ok(())
}

fn project_row(r: &Row) -> ProjectRecord {
    ProjectRecord { name: r.get(0), created: r.get(1) }
}

pub async fn get_project(c: &impl Db, name: &str) -> Try<Option<ProjectRecord>> {
    let row = c.query_typed_opt("SELECT name, created FROM projects WHERE name = $1", &[(&name, Type::TEXT)]).await?;
    Ok(row.as_ref().map(project_row))
}

pub async fn list_projects(c: &impl Db) -> Try<Vec<ProjectRecord>> {
    let rows = c.query_typed("SELECT name, created FROM projects ORDER BY name", &[]).await?;
    Ok(rows.iter().map(project_row).collect())
}

pub async fn delete_project(c: &impl Db, name: &str) -> Try<()> {
    if !locked(c, "SELECT 1 FROM projects WHERE name = $1 FOR UPDATE", name, None).await? {
        return Err(MetaError::NotFound.into());
    }
    if locked(c, "SELECT 1 FROM buckets WHERE project = $1 LIMIT 1", name, None).await? {
        return Err(MetaError::NotEmpty.into());
    }
    for sql in [
        "DELETE FROM access_keys WHERE project = $1",
        "DELETE FROM users WHERE project = $1",
        "DELETE FROM quotas WHERE scope_kind = 'project' AND scope_name = $1",
        "DELETE FROM project_configs WHERE project = $1",
        "DELETE FROM projects WHERE name = $1",
    ] {
        c.execute_typed(sql, &[(&name, Type::TEXT)]).await?;
    }
    Ok(())
}

fn policies_json(u: &UserRecord) -> Result<(String, String), MetaError> {
    let inline = serde_json::to_string(&u.inline_policies).map_err(|e| corrupt("inline policies", e))?;
    let attached = serde_json::to_string(&u.attached).map_err(|e| corrupt("attached policies", e))?;
    Ok((inline, attached))
}

pub async fn create_user(c: &impl Db, u: &UserRecord) -> Try<()> {
    if !locked(c, "SELECT 1 FROM projects WHERE name = $1 FOR SHARE", &u.project, None).await? {
        return Err(MetaError::NotFound.into());
    }
    let (inline, attached) = policies_json(u)?;
    let n = c
        .execute_typed(
            "INSERT INTO users (project, name, root, created, inline_policies, attached, path, id, password_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (project, name) DO NOTHING",
            &[
                (&u.project, Type::TEXT),
                (&u.name, Type::TEXT),
                (&u.root, Type::BOOL),
                (&u.created, Type::INT8),
                (&inline, Type::TEXT),
                (&attached, Type::TEXT),
                (&u.path, Type::TEXT),
                (&u.id, Type::TEXT),
                (&u.password_hash, Type::TEXT),
            ],
        )
        .await?;
    if n == 0 {
        return Err(MetaError::AlreadyExists.into());
    }
    Ok(())
}

const USER_COLUMNS: &str =
    "SELECT project, name, root, created, inline_policies, attached, path, id, password_hash FROM users";

fn user_record(r: &Row) -> Result<UserRecord, MetaError> {
    let (inline, attached): (String, String) = (r.get(4), r.get(5));
    Ok(UserRecord {
        project: r.get(0),
        name: r.get(1),
        root: r.get(2),
        created: r.get(3),
        path: r.get(6),
        id: r.get(7),
        inline_policies: serde_json::from_str(&inline).map_err(|e| corrupt("inline policies", e))?,
        attached: serde_json::from_str(&attached).map_err(|e| corrupt("attached policies", e))?,
        password_hash: r.get(8),
    })
}

pub async fn get_user(c: &impl Db, project: &str, name: &str) -> Try<Option<UserRecord>> {
    let sql = format!("{USER_COLUMNS} WHERE project = $1 AND name = $2");
    let row = c.query_typed_opt(&sql, &[(&project, Type::TEXT), (&name, Type::TEXT)]).await?;
    Ok(row.as_ref().map(user_record).transpose()?)
}

pub async fn list_users(c: &impl Db, project: &str) -> Try<Vec<UserRecord>> {
    let sql = format!("{USER_COLUMNS} WHERE project = $1 ORDER BY name");
    let rows = c.query_typed(&sql, &[(&project, Type::TEXT)]).await?;
    Ok(rows.iter().map(user_record).collect::<Result<_, _>>()?)
}

/// Replaces the user's policies; with `before`, only if the stored ones are
/// still `before`'s: the row is locked (`FOR UPDATE`) while they are compared.
pub async fn set_user_policies(c: &impl Db, u: &UserRecord, before: Option<&UserRecord>) -> Try<()> {
    if let Some(before) = before {
        let sql = format!("{USER_COLUMNS} WHERE project = $1 AND name = $2 FOR UPDATE");
        let row = c.query_typed_opt(&sql, &[(&u.project, Type::TEXT), (&u.name, Type::TEXT)]).await?;
        let stored = user_record(&row.ok_or(MetaError::NotFound)?)?;
        if stored.inline_policies != before.inline_policies || stored.attached != before.attached {
            return Err(MetaError::PreconditionFailed.into());
        }
    }
    let (inline, attached) = policies_json(u)?;
    let n = c
        .execute_typed(
            "UPDATE users SET inline_policies = $3, attached = $4 WHERE project = $1 AND name = $2",
            &[(&u.project, Type::TEXT), (&u.name, Type::TEXT), (&inline, Type::TEXT), (&attached, Type::TEXT)],
        )
        .await?;
    found(n)
}

pub async fn set_user_password(c: &impl Db, project: &str, name: &str, hash: Option<&str>) -> Try<()> {
    let n = c
        .execute_typed(
            "UPDATE users SET password_hash = $3 WHERE project = $1 AND name = $2",
            &[(&project, Type::TEXT), (&name, Type::TEXT), (&hash, Type::TEXT)],
        )
        .await?;
    found(n)
}

pub async fn delete_user(c: &impl Db, project: &str, name: &str) -> Try<()> {
    let n = c
        .execute_typed(
            "DELETE FROM users WHERE project = $1 AND name = $2",
            &[(&project, Type::TEXT), (&name, Type::TEXT)],
        )
        .await?;
    found(n)?;
    c.execute_typed(
        "DELETE FROM access_keys WHERE project = $1 AND user_name = $2",
        &[(&project, Type::TEXT), (&name, Type::TEXT)],
    )
    .await?;
    Ok(())
}

/// Renames and/or moves a user; a new name is written to its keys too, in
/// the same transaction. The user's row is locked first.
pub async fn rename_user(
    c: &impl Db,
    project: &str,
    name: &str,
    new_name: Option<&str>,
    new_path: Option<&str>,
) -> Try<()> {
    let sql = "SELECT 1 FROM users WHERE project = $1 AND name = $2 FOR UPDATE";
    if !locked(c, sql, project, Some(name)).await? {
        return Err(MetaError::NotFound.into());
    }
    let new_name = new_name.filter(|n| *n != name);
    let n = c
        .execute_typed(
            "UPDATE users SET name = coalesce($3, name), path = coalesce($4, path) WHERE project = $1 AND name = $2
             AND NOT EXISTS (SELECT 1 FROM users o WHERE o.project = $1 AND o.name = $3)",
            &[(&project, Type::TEXT), (&name, Type::TEXT), (&new_name, Type::TEXT), (&new_path, Type::TEXT)],
        )
        .await;
    match n {
        Ok(0) => return Err(MetaError::AlreadyExists.into()),
        Ok(_) => {}
        // A user created under the new name since the check above.
        Err(e) if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) => {
            return Err(MetaError::AlreadyExists.into())
        }
        Err(e) => return Err(e.into()),
    }
    if let Some(n) = new_name {
        c.execute_typed(
            "UPDATE access_keys SET user_name = $3 WHERE project = $1 AND user_name = $2",
            &[(&project, Type::TEXT), (&name, Type::TEXT), (&n, Type::TEXT)],
        )
        .await?;
    }
    Ok(())
}

pub async fn create_access_key(c: &impl Db, k: &AccessKeyRecord) -> Try<()> {
    if k.project != OPERATOR_PROJECT {
        let sql = "SELECT 1 FROM users WHERE project = $1 AND name = $2 FOR SHARE";
        if !locked(c, sql, &k.project, Some(&k.user)).await? {
            return Err(MetaError::NotFound.into());
        }
    }
    let n = c
        .execute_typed(
            "INSERT INTO access_keys (access_key, sealed_secret, project, user_name, region, status, created, expires, last_used)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (access_key) DO NOTHING",
            &[
                (&k.access_key, Type::TEXT),
                (&k.sealed_secret, Type::TEXT),
                (&k.project, Type::TEXT),
                (&k.user, Type::TEXT),
                (&k.region, Type::TEXT),
                (&k.status.as_str(), Type::TEXT),
                (&k.created, Type::INT8),
                (&k.expires, Type::INT8),
                (&k.last_used, Type::INT8),
            ],
        )
        .await?;
    if n == 0 {
        return Err(MetaError::AlreadyExists.into());
    }
    Ok(())
}

const KEY_COLUMNS: &str =
    "SELECT access_key, sealed_secret, project, user_name, region, status, created, expires, last_used FROM access_keys";

fn key_record(r: &Row) -> Result<AccessKeyRecord, MetaError> {
    let status = match r.get::<_, &str>(5) {
        "Active" => KeyStatus::Active,
        "Inactive" => KeyStatus::Inactive,
        other => return Err(corrupt("access key status", other)),
    };
    Ok(AccessKeyRecord {
        access_key: r.get(0),
        sealed_secret: r.get(1),
        project: r.get(2),
        user: r.get(3),
        region: r.get(4),
        status,
        created: r.get(6),
        expires: r.get(7),
        last_used: r.get(8),
    })
}

pub async fn get_access_key(c: &impl Db, access_key: &str) -> Try<Option<AccessKeyRecord>> {
    let sql = format!("{KEY_COLUMNS} WHERE access_key = $1");
    let row = c.query_typed_opt(&sql, &[(&access_key, Type::TEXT)]).await?;
    Ok(row.as_ref().map(key_record).transpose()?)
}

pub async fn list_access_keys(c: &impl Db, project: &str, user: Option<&str>) -> Try<Vec<AccessKeyRecord>> {
    let sql = format!(
        "{KEY_COLUMNS} WHERE project = $1 AND ($2::text IS NULL OR user_name = $2) ORDER BY user_name, created, access_key"
    );
    let rows = c.query_typed(&sql, &[(&project, Type::TEXT), (&user, Type::TEXT)]).await?;
    Ok(rows.iter().map(key_record).collect::<Result<_, _>>()?)
}

pub async fn set_access_key_status(c: &impl Db, access_key: &str, status: KeyStatus) -> Try<()> {
    let n = c
        .execute_typed(
            "UPDATE access_keys SET status = $2 WHERE access_key = $1",
            &[(&access_key, Type::TEXT), (&status.as_str(), Type::TEXT)],
        )
        .await?;
    found(n)
}

pub async fn set_access_key_secret(c: &impl Db, access_key: &str, sealed: &str) -> Try<()> {
    let n = c
        .execute_typed(
            "UPDATE access_keys SET sealed_secret = $2 WHERE access_key = $1",
            &[(&access_key, Type::TEXT), (&sealed, Type::TEXT)],
        )
        .await?;
    found(n)
}

/// Replaces the sealed secret only over `expected`; `false`: it differs or the key is gone.
pub async fn set_access_key_secret_if(c: &impl Db, access_key: &str, expected: &str, sealed: &str) -> Try<bool> {
    let n = c
        .execute_typed(
            "UPDATE access_keys SET sealed_secret = $3 WHERE access_key = $1 AND sealed_secret = $2",
            &[(&access_key, Type::TEXT), (&expected, Type::TEXT), (&sealed, Type::TEXT)],
        )
        .await?;
    Ok(n > 0)
}

pub async fn touch_access_key(c: &impl Db, access_key: &str, when: UnixMillis) -> Try<()> {
    c.execute_typed(
        "UPDATE access_keys SET last_used = $2 WHERE access_key = $1 AND (last_used IS NULL OR last_used < $2)",
        &[(&access_key, Type::TEXT), (&when, Type::INT8)],
    )
    .await?;
    Ok(())
}

pub async fn delete_access_key(c: &impl Db, access_key: &str) -> Try<bool> {
    let n = c.execute_typed("DELETE FROM access_keys WHERE access_key = $1", &[(&access_key, Type::TEXT)]).await?;
    Ok(n > 0)
}

/// One failure row per scope, then old rows forgotten, in one transaction.
pub async fn record_signin_failure(
    c: &impl Db,
    scopes: &[String],
    at: UnixMillis,
    forget_before: UnixMillis,
) -> Try<()> {
    if !scopes.is_empty() {
        c.execute_typed(
            "INSERT INTO signin_failures (scope, at) SELECT s, $2 FROM unnest($1::text[]) AS t(s)",
            &[(&scopes, Type::TEXT_ARRAY), (&at, Type::INT8)],
        )
        .await?;
    }
    c.execute_typed("DELETE FROM signin_failures WHERE at < $1", &[(&forget_before, Type::INT8)]).await?;
    Ok(())
}

/// Count and oldest time of a scope's failures since `since` (a range of
/// the `(scope, at)` index).
pub async fn signin_failures(c: &impl Db, scope: &str, since: UnixMillis) -> Try<SigninFailures> {
    let r = c
        .query_typed_one(
            "SELECT count(*), min(at) FROM signin_failures WHERE scope = $1 AND at >= $2",
            &[(&scope, Type::TEXT), (&since, Type::INT8)],
        )
        .await?;
    let count: i64 = r.get(0);
    Ok(SigninFailures { count: count.max(0) as u64, oldest: r.get(1) })
}

pub async fn session_generation(c: &impl Db, principal: &str) -> Try<u64> {
    let row = c
        .query_typed_opt("SELECT generation FROM console_sessions WHERE principal = $1", &[(&principal, Type::TEXT)])
        .await?;
    Ok(row.map_or(0, |r| r.get::<_, i64>(0)).max(0) as u64)
}

pub async fn end_sessions(c: &impl Db, principal: &str) -> Try<u64> {
    let r = c
        .query_typed_one(
            "INSERT INTO console_sessions (principal, generation) VALUES ($1, 1)
             ON CONFLICT (principal) DO UPDATE SET generation = console_sessions.generation + 1 RETURNING generation",
            &[(&principal, Type::TEXT)],
        )
        .await?;
    Ok(r.get::<_, i64>(0).max(0) as u64)
}
