//! What a command prints, in the three formats of the `openstack` client:
//! an ASCII table, pretty JSON, or bare values.

use serde_json::Value;

use crate::units::human_bytes;

/// How results are printed (`-f`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Format {
    /// An ASCII table: `Field | Value` for one object, one column per field for a list.
    #[default]
    Table,
    /// The API's JSON, pretty-printed.
    Json,
    /// Values only, no headers: one value per line for one object, one
    /// space-separated line per item for a list.
    Value,
}

/// One table cell: what people read (table) and what scripts read (value format).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Cell {
    /// For `-f table`; may span several lines.
    pub human: String,
    /// For `-f value`; one line, never empty.
    pub raw: String,
}

impl Cell {
    /// The same text in both formats.
    pub fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        Cell { human: s.clone(), raw: s }
    }
}

/// What a command prints apart from its JSON.
#[derive(Debug)]
pub(crate) enum View {
    /// Nothing at all (deletes).
    Nothing,
    /// One object: `(field, value)` rows.
    Object(Vec<(String, Cell)>),
    /// A list: a header and rows, and a last row apart (totals) shown in the table only.
    List { columns: Vec<String>, rows: Vec<Vec<Cell>>, footer: Option<Vec<Cell>> },
}

/// A command's result, ready to print in any format.
#[derive(Debug)]
pub(crate) struct Output {
    /// For `-f json`; `None` prints nothing.
    pub json: Option<Value>,
    pub view: View,
    /// A line after the table (table format only).
    pub note: Option<String>,
}

impl Output {
    pub fn nothing() -> Output {
        Output { json: None, view: View::Nothing, note: None }
    }
}

/// The whole text to print, ending in a newline unless empty.
pub(crate) fn render(out: &Output, format: Format) -> String {
    match format {
        Format::Json => match &out.json {
            Some(v) => {
                let mut s = serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string());
                s.push('\n');
                s
            }
            None => String::new(),
        },
        Format::Value => match &out.view {
            View::Nothing => String::new(),
            View::Object(rows) => rows.iter().map(|(_, c)| format!("{}\n", c.raw)).collect(),
            View::List { rows, .. } => rows
                .iter()
                .map(|row| {
                    let mut line = row.iter().map(|c| c.raw.as_str()).collect::<Vec<_>>().join(" ");
                    line.push('\n');
                    line
                })
                .collect(),
        },
        Format::Table => {
            let mut s = match &out.view {
                View::Nothing => return String::new(),
                View::Object(rows) => {
                    let body: Vec<Vec<&str>> = rows.iter().map(|(f, c)| vec![f.as_str(), c.human.as_str()]).collect();
                    table(&["Field", "Value"], &body, None)
                }
                View::List { columns, rows, footer } => {
                    let header: Vec<&str> = columns.iter().map(String::as_str).collect();
                    let body: Vec<Vec<&str>> =
                        rows.iter().map(|r| r.iter().map(|c| c.human.as_str()).collect()).collect();
                    let footer: Option<Vec<&str>> =
                        footer.as_ref().map(|r| r.iter().map(|c| c.human.as_str()).collect());
                    table(&header, &body, footer.as_deref())
                }
            };
            if let Some(note) = &out.note {
                s.push_str(note);
                s.push('\n');
            }
            s
        }
    }
}

/// An ASCII table in the style of `openstack` (prettytable), cells left-aligned;
/// a cell with newlines spans several lines. `footer` comes after a rule.
/// Without rows, only the header is drawn.
pub(crate) fn table(header: &[&str], rows: &[Vec<&str>], footer: Option<&[&str]>) -> String {
    let ncols = header.len();
    let width = |s: &str| s.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for row in rows.iter().map(Vec::as_slice).chain(footer) {
        for (i, cell) in row.iter().enumerate().take(ncols) {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let rule: String = {
        let mut r = String::from("+");
        for w in &widths {
            r.push_str(&"-".repeat(w + 2));
            r.push('+');
        }
        r.push('\n');
        r
    };
    let line = |out: &mut String, row: &[&str]| {
        let cells: Vec<Vec<&str>> =
            (0..ncols).map(|i| row.get(i).map(|c| c.lines().collect()).unwrap_or_default()).collect();
        let height = cells.iter().map(Vec::len).max().unwrap_or(0).max(1);
        for l in 0..height {
            out.push('|');
            for (i, cell) in cells.iter().enumerate() {
                let text = cell.get(l).copied().unwrap_or("");
                out.push(' ');
                out.push_str(text);
                out.push_str(&" ".repeat(widths[i] - text.chars().count() + 1));
                out.push('|');
            }
            out.push('\n');
        }
    };
    let mut out = rule.clone();
    line(&mut out, header);
    out.push_str(&rule);
    for row in rows {
        line(&mut out, row);
    }
    if let Some(footer) = footer {
        if !rows.is_empty() {
            out.push_str(&rule);
        }
        line(&mut out, footer);
    }
    if !rows.is_empty() || footer.is_some() {
        out.push_str(&rule);
    }
    out
}

/// How a JSON field is shown.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Kind {
    /// Strings as they are, numbers and booleans as JSON, lists joined with `,`, `-` for null or empty.
    Text,
    /// A byte count: human (`1.5 GiB`) in the table, the number in value format.
    Bytes,
    /// A byte-hour count: `1.5 GiB-h` in the table, the number in value format.
    ByteHours,
    /// A byte limit: `none` for null, else as [`Kind::Bytes`].
    LimitBytes,
    /// A count limit: `none` for null, else the number.
    LimitCount,
    /// A JSON document: pretty in the table, compact in value format.
    Doc,
}

/// The cell for `v` (missing is as null).
pub(crate) fn cell(v: Option<&Value>, kind: Kind) -> Cell {
    let v = v.unwrap_or(&Value::Null);
    match (kind, v) {
        (Kind::LimitBytes | Kind::LimitCount, Value::Null) => Cell::text("none"),
        (Kind::Bytes | Kind::LimitBytes, Value::Number(n)) => match n.as_u64() {
            Some(b) => Cell { human: human_bytes(b), raw: b.to_string() },
            None => Cell::text(n.to_string()),
        },
        (Kind::ByteHours, Value::Number(n)) => match n.as_u64().or_else(|| n.as_f64().map(|f| f.max(0.0) as u64)) {
            Some(b) => Cell { human: format!("{}-h", human_bytes(b)), raw: n.to_string() },
            None => Cell::text(n.to_string()),
        },
        (Kind::Doc, Value::Object(_) | Value::Array(_)) => {
            Cell { human: serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()), raw: v.to_string() }
        }
        (_, Value::Null) => Cell::text("-"),
        (_, Value::String(s)) if s.is_empty() => Cell::text("-"),
        (_, Value::String(s)) => Cell::text(s.clone()),
        (_, Value::Array(items)) if items.is_empty() => Cell::text("-"),
        (_, Value::Array(items)) => Cell::text(
            items
                .iter()
                .map(|i| match i {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<_>>()
                .join(","),
        ),
        (_, other) => Cell::text(other.to_string()),
    }
}

/// A field of an API object: its label, its JSON pointer, how it is shown.
pub(crate) type Field = (&'static str, &'static str, Kind);

/// `Field | Value` rows for `fields` of `v`, then any other top-level key of
/// `v` (in name order), so that fields the API adds later still show.
pub(crate) fn object_rows(v: &Value, fields: &[Field]) -> Vec<(String, Cell)> {
    let mut rows: Vec<(String, Cell)> =
        fields.iter().map(|(label, ptr, kind)| (label.to_string(), cell(v.pointer(ptr), *kind))).collect();
    if let Value::Object(map) = v {
        let known = |k: &str| fields.iter().any(|(_, ptr, _)| ptr[1..].split('/').next() == Some(k));
        for (k, val) in map.iter().filter(|(k, _)| !known(k)) {
            let kind = if val.is_object() { Kind::Doc } else { Kind::Text };
            rows.push((k.clone(), cell(Some(val), kind)));
        }
    }
    rows
}

/// One column per field, one row per element of the array `v`.
pub(crate) fn list_view(v: &Value, fields: &[Field]) -> anyhow::Result<View> {
    let items = v.as_array().ok_or_else(|| anyhow::anyhow!("unexpected answer from the server: expected a list"))?;
    Ok(View::List {
        columns: fields.iter().map(|(label, _, _)| label.to_string()).collect(),
        rows: items
            .iter()
            .map(|item| fields.iter().map(|(_, ptr, kind)| cell(item.pointer(ptr), *kind)).collect())
            .collect(),
        footer: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(rows: &[(&str, &str)]) -> Output {
        Output {
            json: Some(json!({"name": "acme"})),
            view: View::Object(rows.iter().map(|(f, v)| (f.to_string(), Cell::text(*v))).collect()),
            note: None,
        }
    }

    #[test]
    fn object_table() {
        let out = obj(&[("name", "acme"), ("created", "2024-05-01T12:00:00Z")]);
        assert_eq!(
            render(&out, Format::Table),
            "\
+---------+----------------------+
| Field   | Value                |
+---------+----------------------+
| name    | acme                 |
| created | 2024-05-01T12:00:00Z |
+---------+----------------------+
"
        );
        assert_eq!(render(&out, Format::Value), "acme\n2024-05-01T12:00:00Z\n");
        assert_eq!(render(&out, Format::Json), "{\n  \"name\": \"acme\"\n}\n");
    }

    #[test]
    fn list_table_value_and_footer() {
        let out = Output {
            json: Some(json!([])),
            view: View::List {
                columns: vec!["name".into(), "size".into()],
                rows: vec![
                    vec![Cell::text("a"), Cell { human: "1 KiB".into(), raw: "1024".into() }],
                    vec![Cell::text("bbbbbb"), Cell { human: "2 B".into(), raw: "2".into() }],
                ],
                footer: Some(vec![Cell::text("total"), Cell { human: "1.0 KiB".into(), raw: "1026".into() }]),
            },
            note: Some("a note".into()),
        };
        assert_eq!(
            render(&out, Format::Table),
            "\
+--------+---------+
| name   | size    |
+--------+---------+
| a      | 1 KiB   |
| bbbbbb | 2 B     |
+--------+---------+
| total  | 1.0 KiB |
+--------+---------+
a note
"
        );
        assert_eq!(render(&out, Format::Value), "a 1024\nbbbbbb 2\n");
        assert_eq!(render(&out, Format::Json), "[]\n");
    }

    #[test]
    fn empty_list_and_nothing() {
        let out = Output {
            json: Some(json!([])),
            view: View::List { columns: vec!["name".into(), "created".into()], rows: vec![], footer: None },
            note: None,
        };
        assert_eq!(render(&out, Format::Table), "+------+---------+\n| name | created |\n+------+---------+\n");
        assert_eq!(render(&out, Format::Value), "");
        for f in [Format::Table, Format::Json, Format::Value] {
            assert_eq!(render(&Output::nothing(), f), "");
        }
    }

    #[test]
    fn multi_line_cells() {
        let t = table(&["Field", "Value"], &[vec!["doc", "{\n  \"a\": 1\n}"], vec!["x", "y"]], None);
        assert_eq!(
            t,
            "\
+-------+----------+
| Field | Value    |
+-------+----------+
| doc   | {        |
|       |   \"a\": 1 |
|       | }        |
| x     | y        |
+-------+----------+
"
        );
    }

    #[test]
    fn cells() {
        let c = |v: Value, k| cell(Some(&v), k);
        assert_eq!(c(json!("x"), Kind::Text), Cell::text("x"));
        assert_eq!(c(json!(""), Kind::Text), Cell::text("-"));
        assert_eq!(c(json!(null), Kind::Text), Cell::text("-"));
        assert_eq!(cell(None, Kind::Text), Cell::text("-"));
        assert_eq!(c(json!(true), Kind::Text), Cell::text("true"));
        assert_eq!(c(json!(42), Kind::Text), Cell::text("42"));
        assert_eq!(c(json!(["a", "b"]), Kind::Text), Cell::text("a,b"));
        assert_eq!(c(json!([]), Kind::Text), Cell::text("-"));
        assert_eq!(c(json!(1536), Kind::Bytes), Cell { human: "1.5 KiB".into(), raw: "1536".into() });
        assert_eq!(c(json!(null), Kind::LimitBytes), Cell::text("none"));
        assert_eq!(
            c(json!(10737418240u64), Kind::LimitBytes),
            Cell { human: "10 GiB".into(), raw: "10737418240".into() }
        );
        assert_eq!(c(json!(null), Kind::LimitCount), Cell::text("none"));
        assert_eq!(c(json!(7), Kind::LimitCount), Cell::text("7"));
        assert_eq!(c(json!(2048), Kind::ByteHours), Cell { human: "2 KiB-h".into(), raw: "2048".into() });
        assert_eq!(c(json!(1536.5), Kind::ByteHours), Cell { human: "1.5 KiB-h".into(), raw: "1536.5".into() });
        assert_eq!(c(json!(0.0), Kind::ByteHours), Cell { human: "0 B-h".into(), raw: "0.0".into() });
        assert_eq!(
            c(json!({"a": [1]}), Kind::Doc),
            Cell { human: "{\n  \"a\": [\n    1\n  ]\n}".into(), raw: "{\"a\":[1]}".into() }
        );
    }

    #[test]
    fn extra_fields_are_shown() {
        let v = json!({"name": "p", "quota": {"max_bytes": null}, "zeta": 1, "alpha": "x"});
        let rows =
            object_rows(&v, &[("name", "/name", Kind::Text), ("max_bytes", "/quota/max_bytes", Kind::LimitBytes)]);
        let labels: Vec<&str> = rows.iter().map(|(l, _)| l.as_str()).collect();
        assert_eq!(labels, ["name", "max_bytes", "alpha", "zeta"]);
    }
}
