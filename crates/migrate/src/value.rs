//! A value on its way from SQLite to PostgreSQL.

use tokio_postgres::types::{to_sql_checked, IsNull, ToSql, Type};

/// One column's value, typed by the column's [`crate::tables::Kind`].
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int8(i64),
    Int4(i32),
    Bool(bool),
    Text(String),
    Bytes(Vec<u8>),
    Float8(f64),
}

impl Value {
    /// The value as a SQLite parameter (for the next page's key).
    pub fn to_sqlite(&self) -> rusqlite::types::Value {
        use rusqlite::types::Value as V;
        match self {
            Value::Null => V::Null,
            Value::Int8(i) => V::Integer(*i),
            Value::Int4(i) => V::Integer(i64::from(*i)),
            Value::Bool(b) => V::Integer(i64::from(*b)),
            Value::Text(s) => V::Text(s.clone()),
            Value::Bytes(b) => V::Blob(b.clone()),
            Value::Float8(f) => V::Real(*f),
        }
    }

    /// About how much memory the value holds (for a page's byte budget).
    pub fn weight(&self) -> usize {
        match self {
            Value::Text(s) => s.len() + 24,
            Value::Bytes(b) => b.len() + 24,
            _ => 8,
        }
    }
}

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        // Each arm checks that the column's type is the one it writes.
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int8(v) => v.to_sql_checked(ty, out),
            Value::Int4(v) => v.to_sql_checked(ty, out),
            Value::Bool(v) => v.to_sql_checked(ty, out),
            Value::Text(v) => v.to_sql_checked(ty, out),
            Value::Bytes(v) => v.to_sql_checked(ty, out),
            Value::Float8(v) => v.to_sql_checked(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}
