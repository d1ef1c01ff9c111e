//! Named leases (one gateway at a time runs a background job).

use crate::retry::Try;
use crate::stmt::Db;
use coffer_types::UnixMillis;
use tokio_postgres::types::Type;

/// Takes or renews a lease in one statement; whether `holder` holds it.
pub async fn acquire_lease(c: &impl Db, name: &str, holder: &str, now: UnixMillis, until: UnixMillis) -> Try<bool> {
    let n = c
        .execute_typed(
            "INSERT INTO leases (name, holder, until) VALUES ($1, $2, $4)
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
             WHERE leases.holder = excluded.holder OR leases.until <= $3",
            &[(&name, Type::TEXT), (&holder, Type::TEXT), (&now, Type::INT8), (&until, Type::INT8)],
        )
        .await?;
    Ok(n == 1)
}

pub async fn release_lease(c: &impl Db, name: &str, holder: &str) -> Try<()> {
    c.execute_typed(
        "DELETE FROM leases WHERE name = $1 AND holder = $2",
        &[(&name, Type::TEXT), (&holder, Type::TEXT)],
    )
    .await?;
    Ok(())
}
