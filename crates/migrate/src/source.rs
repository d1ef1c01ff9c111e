//! The SQLite side: opened read-only, read inside one read transaction (one
//! snapshot for every table and every check), paged by primary key.

use crate::tables::{Column, Kind, Table, SQLITE_VERSION, TABLES};
use crate::value::Value;
use crate::MigrateError;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::collections::BTreeSet;
use std::path::Path;

/// A read-only connection holding a read transaction open.
pub struct Source {
    conn: Connection,
}

/// One page of rows and the key of its last row (`None`: the table is done).
pub struct Page {
    pub rows: Vec<Vec<Value>>,
    pub last_key: Option<Vec<Value>>,
}

/// How big a page may grow: whichever limit comes first.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub rows: usize,
    pub bytes: usize,
}

impl Source {
    /// Opens `path` read-only (it must exist), checks its schema version and
    /// columns, and begins the read transaction every later read shares.
    pub fn open(path: &Path) -> Result<Source, MigrateError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let open_err = |source| MigrateError::OpenSource { path: path.to_owned(), source };
        let conn = Connection::open_with_flags(path, flags).map_err(open_err)?;
        conn.busy_timeout(std::time::Duration::from_secs(30)).map_err(open_err)?;
        let version: u32 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(open_err)?;
        if version != SQLITE_VERSION {
            return Err(MigrateError::SourceVersion { found: version, expected: SQLITE_VERSION });
        }
        // Deferred: the snapshot is taken at the first read, right below.
        conn.execute_batch("BEGIN").map_err(open_err)?;
        let source = Source { conn };
        source.check_schema()?;
        Ok(source)
    }

    /// Every table of the database is one this copier knows, with exactly
    /// the columns it knows.
    fn check_schema(&self) -> Result<(), MigrateError> {
        let mut st = self.conn.prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )?;
        let found: BTreeSet<String> = st.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
        let known: BTreeSet<String> = TABLES.iter().map(|t| t.name.to_owned()).collect();
        if found != known {
            return Err(MigrateError::Schema(format!("SQLite has the tables {found:?}, this coffer knows {known:?}")));
        }
        for t in TABLES {
            let mut st = self.conn.prepare("SELECT name FROM pragma_table_info(?1)")?;
            let cols: BTreeSet<String> = st.query_map([t.name], |r| r.get(0))?.collect::<Result<_, _>>()?;
            let want: BTreeSet<String> = t.columns.iter().map(|c| c.sqlite.to_owned()).collect();
            if cols != want {
                return Err(MigrateError::Schema(format!(
                    "SQLite table {} has columns {cols:?}, expected {want:?}",
                    t.name
                )));
            }
        }
        Ok(())
    }

    /// Reads the rows of `table` after `after` (its primary key; `None`:
    /// from the start) in key order, until the budget is spent.
    pub fn page(&self, table: &Table, after: Option<&[Value]>, budget: Budget) -> Result<Page, MigrateError> {
        let cols: Vec<String> = table.columns.iter().map(|c| quote(c.sqlite)).collect();
        let key: Vec<String> = table.key().iter().map(|c| quote(c.sqlite)).collect();
        let mut sql = format!("SELECT {} FROM {}", cols.join(", "), table.name);
        if after.is_some() {
            let marks: Vec<String> = (1..=key.len()).map(|i| format!("?{i}")).collect();
            sql.push_str(&format!(" WHERE ({}) > ({})", key.join(", "), marks.join(", ")));
        }
        sql.push_str(&format!(" ORDER BY {}", key.join(", ")));
        let mut st = self.conn.prepare_cached(&sql)?;
        let params: Vec<rusqlite::types::Value> = after.unwrap_or(&[]).iter().map(Value::to_sqlite).collect();
        let mut rows = st.query(rusqlite::params_from_iter(params))?;
        let (mut out, mut bytes) = (Vec::new(), 0usize);
        while out.len() < budget.rows.max(1) && bytes < budget.bytes {
            let Some(row) = rows.next()? else {
                return Ok(Page { rows: out, last_key: None });
            };
            let mut values = Vec::with_capacity(table.columns.len());
            for (i, c) in table.columns.iter().enumerate() {
                let v = convert(table, c, row.get_ref(i)?, &values)?;
                bytes += v.weight();
                values.push(v);
            }
            out.push(values);
        }
        let last_key = out.last().map(|r| r[..table.key_len].to_vec());
        Ok(Page { rows: out, last_key })
    }

    /// Runs a read returning rows of (text, integers...), for the checks.
    pub fn aggregate(&self, sql: &str) -> Result<Vec<(String, Vec<i64>)>, MigrateError> {
        let mut st = self.conn.prepare(sql)?;
        let n = st.column_count();
        let rows = st.query_map([], |r| {
            let label: String = r.get(0)?;
            let nums = (1..n).map(|i| r.get::<_, i64>(i)).collect::<Result<Vec<_>, _>>()?;
            Ok((label, nums))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The number of rows in `table`.
    pub fn count(&self, table: &Table) -> Result<u64, MigrateError> {
        let n: i64 = self.conn.query_row(&format!("SELECT count(*) FROM {}", table.name), [], |r| r.get(0))?;
        Ok(n as u64)
    }
}

/// `"name"`: column names like `user` and `key` are keywords somewhere.
pub fn quote(name: &str) -> String {
    format!("\"{name}\"")
}

/// One SQLite value as the column's kind, or why it cannot be.
fn convert(table: &Table, col: &Column, v: ValueRef<'_>, so_far: &[Value]) -> Result<Value, MigrateError> {
    let bad = |problem: String| MigrateError::BadValue {
        table: table.name,
        column: col.sqlite,
        row: format!("{:?}", &so_far[..so_far.len().min(table.key_len)]),
        problem,
    };
    let text = |b: &[u8]| -> Result<String, MigrateError> {
        let s = std::str::from_utf8(b).map_err(|_| bad("text that is not UTF-8".into()))?;
        if s.contains('\0') {
            return Err(bad("text with a NUL character (PostgreSQL refuses it)".into()));
        }
        Ok(s.to_owned())
    };
    Ok(match (col.kind, v) {
        (_, ValueRef::Null) if col.nullable => Value::Null,
        (_, ValueRef::Null) => return Err(bad("NULL in a NOT NULL column".into())),
        (Kind::Int8, ValueRef::Integer(i)) => Value::Int8(i),
        (Kind::Int4, ValueRef::Integer(i)) => {
            Value::Int4(i32::try_from(i).map_err(|_| bad(format!("{i} does not fit in 32 bits")))?)
        }
        (Kind::Bool, ValueRef::Integer(i @ (0 | 1))) => Value::Bool(i == 1),
        (Kind::Text, ValueRef::Text(b)) => Value::Text(text(b)?),
        (Kind::Bytes, ValueRef::Blob(b) | ValueRef::Text(b)) => Value::Bytes(b.to_vec()),
        (Kind::Float8, ValueRef::Real(f)) => Value::Float8(f),
        (Kind::Float8, ValueRef::Integer(i)) => Value::Float8(i as f64),
        (kind, other) => return Err(bad(format!("{:?} where {kind:?} was expected", other.data_type()))),
    })
}
