//! The SQL of [`coffer_meta::IdentityStore`]: projects, users, access keys.
//! Users keep their policies as JSON text (a map of inline documents, an array
//! of attached preset names); the store never reads a policy.

use crate::ops::R;
use crate::sql_err;
use coffer_meta::*;
use coffer_types::UnixMillis;
use rusqlite::{params, Connection, OptionalExtension, Row};

fn exists(c: &Connection, sql: &str, p: impl rusqlite::Params) -> R<bool> {
    c.prepare_cached(sql).map_err(sql_err)?.query_row(p, |r| r.get(0)).map_err(sql_err)
}

fn project_exists(c: &Connection, name: &str) -> R<bool> {
    exists(c, "SELECT EXISTS (SELECT 1 FROM projects WHERE name = ?1)", [name])
}

/// `NotFound` when a write changed no row.
fn found(changed: usize) -> R<()> {
    if changed == 0 {
        Err(MetaError::NotFound)
    } else {
        Ok(())
    }
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> MetaError {
    MetaError::Corrupt(format!("{what}: {e}"))
}

pub fn create_project(c: &Connection, p: &ProjectRecord) -> R<()> {
    // A name is taken for good, even once its project is deleted (v14).
    let n = c
        .prepare_cached("INSERT INTO project_names (name, created) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING")
        .map_err(sql_err)?
        .execute(params![p.name, p.created])
        .map_err(sql_err)?;
    if n == 0 {
        return Err(MetaError::AlreadyExists);
    }
    let n = c
        .prepare_cached("INSERT INTO projects (name, created) VALUES (?1, ?2) ON CONFLICT (name) DO NOTHING")
        .map_err(sql_err)?
        .execute(params![p.name, p.created])
        .map_err(sql_err)?;
    if n == 0 {
        return Err(MetaError::AlreadyExists);
    }
    Ok(())
}

fn project_row(r: &Row) -> rusqlite::Result<ProjectRecord> {
    Ok(ProjectRecord { name: r.get(0)?, created: r.get(1)? })
}

pub fn get_project(c: &Connection, name: &str) -> R<Option<ProjectRecord>> {
    c.prepare_cached("SELECT name, created FROM projects WHERE name = ?1")
        .map_err(sql_err)?
        .query_row([name], project_row)
        .optional()
        .map_err(sql_err)
}

pub fn list_projects(c: &Connection) -> R<Vec<ProjectRecord>> {
    let mut st = c.prepare_cached("SELECT name, created FROM projects ORDER BY name").map_err(sql_err)?;
    let rows = st.query_map([], project_row).map_err(sql_err)?;
    rows.collect::<Result<_, _>>().map_err(sql_err)
}

pub fn delete_project(c: &Connection, name: &str) -> R<()> {
    if !project_exists(c, name)? {
        return Err(MetaError::NotFound);
    }
    if exists(c, "SELECT EXISTS (SELECT 1 FROM buckets WHERE project = ?1)", [name])? {
        return Err(MetaError::NotEmpty);
    }
    for sql in [
        "DELETE FROM access_keys WHERE project = ?1",
        "DELETE FROM users WHERE project = ?1",
        "DELETE FROM quotas WHERE scope_kind = 'project' AND scope_name = ?1",
        "DELETE FROM project_configs WHERE project = ?1",
        "DELETE FROM projects WHERE name = ?1",
    ] {
        c.prepare_cached(sql).map_err(sql_err)?.execute([name]).map_err(sql_err)?;
    }
    Ok(())
}

fn policies_json(u: &UserRecord) -> R<(String, String)> {
    let inline = serde_json::to_string(&u.inline_policies).map_err(|e| corrupt("inline policies", e))?;
    let attached = serde_json::to_string(&u.attached).map_err(|e| corrupt("attached policies", e))?;
    Ok((inline, attached))
}

pub fn create_user(c: &Connection, u: &UserRecord) -> R<()> {
    if !project_exists(c, &u.project)? {
        return Err(MetaError::NotFound);
    }
    let (inline, attached) = policies_json(u)?;
    let n = c
        .prepare_cached(
            "INSERT INTO users (project, name, root, created, inline_policies, attached, path, id, password_hash)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (project, name) DO NOTHING",
        )
        .map_err(sql_err)?
        .execute(params![u.project, u.name, u.root, u.created, inline, attached, u.path, u.id, u.password_hash])
        .map_err(sql_err)?;
    if n == 0 {
        return Err(MetaError::AlreadyExists);
    }
    Ok(())
}

/// A user row with its policies still JSON text (parsed by [`user_record`]).
fn user_row(r: &Row) -> rusqlite::Result<(UserRecord, String, String)> {
    let user = UserRecord {
        project: r.get(0)?,
        name: r.get(1)?,
        root: r.get(2)?,
        created: r.get(3)?,
        path: r.get(6)?,
        id: r.get(7)?,
        inline_policies: Default::default(),
        attached: Default::default(),
        password_hash: r.get(8)?,
    };
    Ok((user, r.get(4)?, r.get(5)?))
}

fn user_record((mut user, inline, attached): (UserRecord, String, String)) -> R<UserRecord> {
    user.inline_policies = serde_json::from_str(&inline).map_err(|e| corrupt("inline policies", e))?;
    user.attached = serde_json::from_str(&attached).map_err(|e| corrupt("attached policies", e))?;
    Ok(user)
}

const USER_COLUMNS: &str =
    "SELECT project, name, root, created, inline_policies, attached, path, id, password_hash FROM users";

fn user_exists(c: &Connection, project: &str, name: &str) -> R<bool> {
    exists(c, "SELECT EXISTS (SELECT 1 FROM users WHERE project = ?1 AND name = ?2)", [project, name])
}

pub fn get_user(c: &Connection, project: &str, name: &str) -> R<Option<UserRecord>> {
    let sql = format!("{USER_COLUMNS} WHERE project = ?1 AND name = ?2");
    let row = c.prepare_cached(&sql).map_err(sql_err)?.query_row([project, name], user_row).optional();
    row.map_err(sql_err)?.map(user_record).transpose()
}

pub fn list_users(c: &Connection, project: &str) -> R<Vec<UserRecord>> {
    let sql = format!("{USER_COLUMNS} WHERE project = ?1 ORDER BY name");
    let mut st = c.prepare_cached(&sql).map_err(sql_err)?;
    let rows = st.query_map([project], user_row).map_err(sql_err)?;
    rows.map(|r| user_record(r.map_err(sql_err)?)).collect()
}

pub fn set_user_policies(c: &Connection, u: &UserRecord, before: Option<&UserRecord>) -> R<()> {
    if let Some(before) = before {
        // Read and compared in the writer's transaction: nothing commits in between.
        let stored = get_user(c, &u.project, &u.name)?.ok_or(MetaError::NotFound)?;
        if stored.inline_policies != before.inline_policies || stored.attached != before.attached {
            return Err(MetaError::PreconditionFailed);
        }
    }
    let (inline, attached) = policies_json(u)?;
    let n = c
        .prepare_cached("UPDATE users SET inline_policies = ?3, attached = ?4 WHERE project = ?1 AND name = ?2")
        .map_err(sql_err)?
        .execute(params![u.project, u.name, inline, attached])
        .map_err(sql_err)?;
    found(n)
}

/// Sets or clears (`None`) the console password hash; nothing else changes.
pub fn set_user_password(c: &Connection, project: &str, name: &str, hash: Option<&str>) -> R<()> {
    let n = c
        .prepare_cached("UPDATE users SET password_hash = ?3 WHERE project = ?1 AND name = ?2")
        .map_err(sql_err)?
        .execute(params![project, name, hash])
        .map_err(sql_err)?;
    found(n)
}

pub fn delete_user(c: &Connection, project: &str, name: &str) -> R<()> {
    let n = c
        .prepare_cached("DELETE FROM users WHERE project = ?1 AND name = ?2")
        .map_err(sql_err)?
        .execute([project, name])
        .map_err(sql_err)?;
    found(n)?;
    c.prepare_cached("DELETE FROM access_keys WHERE project = ?1 AND user = ?2")
        .map_err(sql_err)?
        .execute([project, name])
        .map_err(sql_err)?;
    Ok(())
}

/// Renames and/or moves a user; a new name is written to its keys too (the
/// writer runs the whole job in one transaction).
pub fn rename_user(c: &Connection, project: &str, name: &str, new_name: Option<&str>, new_path: Option<&str>) -> R<()> {
    if !user_exists(c, project, name)? {
        return Err(MetaError::NotFound);
    }
    let new_name = new_name.filter(|n| *n != name);
    if let Some(n) = new_name {
        if user_exists(c, project, n)? {
            return Err(MetaError::AlreadyExists);
        }
    }
    let n = c
        .prepare_cached(
            "UPDATE users SET name = coalesce(?3, name), path = coalesce(?4, path) WHERE project = ?1 AND name = ?2",
        )
        .map_err(sql_err)?
        .execute(params![project, name, new_name, new_path])
        .map_err(sql_err)?;
    found(n)?;
    if let Some(n) = new_name {
        c.prepare_cached("UPDATE access_keys SET user = ?3 WHERE project = ?1 AND user = ?2")
            .map_err(sql_err)?
            .execute([project, name, n])
            .map_err(sql_err)?;
    }
    Ok(())
}

pub fn create_access_key(c: &Connection, k: &AccessKeyRecord) -> R<()> {
    if k.project != OPERATOR_PROJECT && !user_exists(c, &k.project, &k.user)? {
        return Err(MetaError::NotFound);
    }
    let n = c
        .prepare_cached(
            "INSERT INTO access_keys (access_key, sealed_secret, project, user, region, status, created, expires, last_used)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (access_key) DO NOTHING",
        )
        .map_err(sql_err)?
        .execute(params![
            k.access_key,
            k.sealed_secret,
            k.project,
            k.user,
            k.region,
            k.status.as_str(),
            k.created,
            k.expires,
            k.last_used
        ])
        .map_err(sql_err)?;
    if n == 0 {
        return Err(MetaError::AlreadyExists);
    }
    Ok(())
}

const KEY_COLUMNS: &str =
    "SELECT access_key, sealed_secret, project, user, region, status, created, expires, last_used FROM access_keys";

/// A key row with its status still text (checked by [`key_record`]).
fn key_row(r: &Row) -> rusqlite::Result<(AccessKeyRecord, String)> {
    let key = AccessKeyRecord {
        access_key: r.get(0)?,
        sealed_secret: r.get(1)?,
        project: r.get(2)?,
        user: r.get(3)?,
        region: r.get(4)?,
        status: KeyStatus::Inactive,
        created: r.get(6)?,
        expires: r.get(7)?,
        last_used: r.get(8)?,
    };
    Ok((key, r.get(5)?))
}

fn key_record((mut key, status): (AccessKeyRecord, String)) -> R<AccessKeyRecord> {
    key.status = match status.as_str() {
        "Active" => KeyStatus::Active,
        "Inactive" => KeyStatus::Inactive,
        other => return Err(corrupt("access key status", other)),
    };
    Ok(key)
}

pub fn get_access_key(c: &Connection, access_key: &str) -> R<Option<AccessKeyRecord>> {
    let sql = format!("{KEY_COLUMNS} WHERE access_key = ?1");
    let row = c.prepare_cached(&sql).map_err(sql_err)?.query_row([access_key], key_row).optional();
    row.map_err(sql_err)?.map(key_record).transpose()
}

pub fn list_access_keys(c: &Connection, project: &str, user: Option<&str>) -> R<Vec<AccessKeyRecord>> {
    let sql =
        format!("{KEY_COLUMNS} WHERE project = ?1 AND (?2 IS NULL OR user = ?2) ORDER BY user, created, access_key");
    let mut st = c.prepare_cached(&sql).map_err(sql_err)?;
    let rows = st.query_map(params![project, user], key_row).map_err(sql_err)?;
    rows.map(|r| key_record(r.map_err(sql_err)?)).collect()
}

pub fn set_access_key_status(c: &Connection, access_key: &str, status: KeyStatus) -> R<()> {
    let n = c
        .prepare_cached("UPDATE access_keys SET status = ?2 WHERE access_key = ?1")
        .map_err(sql_err)?
        .execute([access_key, status.as_str()])
        .map_err(sql_err)?;
    found(n)
}

pub fn set_access_key_secret(c: &Connection, access_key: &str, sealed_secret: &str) -> R<()> {
    let n = c
        .prepare_cached("UPDATE access_keys SET sealed_secret = ?2 WHERE access_key = ?1")
        .map_err(sql_err)?
        .execute([access_key, sealed_secret])
        .map_err(sql_err)?;
    found(n)
}

/// Replaces the sealed secret only over `expected`; `false`: it differs or the key is gone.
pub fn set_access_key_secret_if(c: &Connection, access_key: &str, expected: &str, sealed_secret: &str) -> R<bool> {
    let n = c
        .prepare_cached("UPDATE access_keys SET sealed_secret = ?3 WHERE access_key = ?1 AND sealed_secret = ?2")
        .map_err(sql_err)?
        .execute([access_key, expected, sealed_secret])
        .map_err(sql_err)?;
    Ok(n > 0)
}

pub fn touch_access_key(c: &Connection, access_key: &str, when: UnixMillis) -> R<()> {
    c.prepare_cached(
        "UPDATE access_keys SET last_used = ?2 WHERE access_key = ?1 AND (last_used IS NULL OR last_used < ?2)",
    )
    .map_err(sql_err)?
    .execute(params![access_key, when])
    .map_err(sql_err)?;
    Ok(())
}

pub fn delete_access_key(c: &Connection, access_key: &str) -> R<bool> {
    let n = c
        .prepare_cached("DELETE FROM access_keys WHERE access_key = ?1")
        .map_err(sql_err)?
        .execute([access_key])
        .map_err(sql_err)?;
    Ok(n > 0)
}

/// One failure row per scope, then old rows forgotten (one writer job, so
/// one transaction).
pub fn record_signin_failure(c: &Connection, scopes: &[String], at: UnixMillis, forget_before: UnixMillis) -> R<()> {
    let mut insert = c.prepare_cached("INSERT INTO signin_failures (scope, at) VALUES (?1, ?2)").map_err(sql_err)?;
    for scope in scopes {
        insert.execute(params![scope, at]).map_err(sql_err)?;
    }
    c.prepare_cached("DELETE FROM signin_failures WHERE at < ?1")
        .map_err(sql_err)?
        .execute([forget_before])
        .map_err(sql_err)?;
    Ok(())
}

/// Count and oldest time of a scope's failures since `since` (a range of
/// the `(scope, at)` index).
pub fn signin_failures(c: &Connection, scope: &str, since: UnixMillis) -> R<SigninFailures> {
    let (count, oldest): (i64, Option<i64>) = c
        .prepare_cached("SELECT count(*), min(at) FROM signin_failures WHERE scope = ?1 AND at >= ?2")
        .map_err(sql_err)?
        .query_row(params![scope, since], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(sql_err)?;
    Ok(SigninFailures { count: count.max(0) as u64, oldest })
}

pub fn session_generation(c: &Connection, principal: &str) -> R<u64> {
    let g: Option<i64> = c
        .prepare_cached("SELECT generation FROM console_sessions WHERE principal = ?1")
        .map_err(sql_err)?
        .query_row([principal], |r| r.get(0))
        .optional()
        .map_err(sql_err)?;
    Ok(g.unwrap_or(0).max(0) as u64)
}

pub fn end_sessions(c: &Connection, principal: &str) -> R<u64> {
    let g: i64 = c
        .prepare_cached(
            "INSERT INTO console_sessions (principal, generation) VALUES (?1, 1)
             ON CONFLICT (principal) DO UPDATE SET generation = generation + 1 RETURNING generation",
        )
        .map_err(sql_err)?
        .query_row([principal], |r| r.get(0))
        .map_err(sql_err)?;
    Ok(g.max(0) as u64)
}
