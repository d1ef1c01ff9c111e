//! Policy variables in `Resource` and condition values: `${key}` is replaced by the request's value of
//! condition key `key`, `${key, 'default'}` falls back to `default` (a quote inside it is written `''`),
//! and `${*}`, `${?}`, `${$}` stand for a literal `*`, `?`, `$`.
//!
//! Only documents with `"Version": "2012-10-17"` have variables; in others `${...}` is plain text. A
//! variable whose key is absent (or multi-valued) and has no default cannot be replaced: the resource
//! or condition value holding it then matches nothing. Substituted text is always literal, so a value
//! containing `*` does not become a wildcard.

use crate::matching::{self, Tok};
use crate::Context;
use std::borrow::Cow;

/// One part of a template.
#[derive(Clone, Debug)]
enum Piece {
    /// Text as written; `*` and `?` are wildcards where the template is used as a pattern.
    Text(String),
    /// A character from an escape: literal even in patterns.
    Escaped(char),
    /// A policy variable.
    Var {
        /// The condition key, lowercased.
        key: String,
        /// The text used when the key cannot be replaced.
        default: Option<String>,
    },
}

/// A string from a policy that may hold policy variables.
#[derive(Clone, Debug)]
pub(crate) struct Template {
    /// The string as written in the policy.
    raw: String,
    pieces: Vec<Piece>,
    /// Precomputed when there are no variables: the pattern and the plain text.
    fixed: Option<(Vec<Tok>, String)>,
}

impl Template {
    /// Parses `raw`; with `variables` false (no 2012-10-17 version) `${...}` is plain text.
    pub(crate) fn parse(raw: &str, variables: bool) -> Result<Template, String> {
        let mut pieces = Vec::new();
        let mut rest = raw;
        if variables {
            while let Some(start) = rest.find("${") {
                if start > 0 {
                    pieces.push(Piece::Text(rest[..start].to_owned()));
                }
                let (piece, len) = parse_variable(&rest[start + 2..])?;
                pieces.push(piece);
                rest = &rest[start + 2 + len..];
            }
        }
        if !rest.is_empty() {
            pieces.push(Piece::Text(rest.to_owned()));
        }
        let mut template = Template { raw: raw.to_owned(), pieces, fixed: None };
        if !template.pieces.iter().any(|p| matches!(p, Piece::Var { .. })) {
            let ctx = Context::new();
            let pattern = template.build_pattern(&ctx);
            let text = template.build_text(&ctx);
            template.fixed = pattern.zip(text);
        }
        Ok(template)
    }

    /// The string as written in the policy.
    pub(crate) fn raw(&self) -> &str {
        &self.raw
    }

    /// The template as a wildcard pattern for this request; `None` if a variable cannot be replaced.
    pub(crate) fn pattern(&self, ctx: &Context) -> Option<Cow<'_, [Tok]>> {
        match &self.fixed {
            Some((pattern, _)) => Some(Cow::Borrowed(pattern)),
            None => self.build_pattern(ctx).map(Cow::Owned),
        }
    }

    /// The template as plain text for this request (`*` and `?` are ordinary characters); `None` if a
    /// variable cannot be replaced.
    pub(crate) fn text(&self, ctx: &Context) -> Option<Cow<'_, str>> {
        match &self.fixed {
            Some((_, text)) => Some(Cow::Borrowed(text)),
            None => self.build_text(ctx).map(Cow::Owned),
        }
    }

    fn build_pattern(&self, ctx: &Context) -> Option<Vec<Tok>> {
        let mut out = Vec::with_capacity(self.raw.len());
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => matching::push_pattern(&mut out, t),
                Piece::Escaped(c) => out.push(Tok::Lit(*c)),
                Piece::Var { key, default } => matching::push_literal(&mut out, resolve(key, default, ctx)?),
            }
        }
        Some(out)
    }

    fn build_text(&self, ctx: &Context) -> Option<String> {
        let mut out = String::with_capacity(self.raw.len());
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Escaped(c) => out.push(*c),
                Piece::Var { key, default } => out.push_str(resolve(key, default, ctx)?),
            }
        }
        Some(out)
    }
}

/// The replacement for variable `key`: its single value, else the default.
fn resolve<'a>(key: &str, default: &'a Option<String>, ctx: &'a Context) -> Option<&'a str> {
    ctx.single(key).or(default.as_deref())
}

/// Parses a variable after its `${`; returns it and the bytes it took, including the closing `}`.
fn parse_variable(s: &str) -> Result<(Piece, usize), String> {
    let unterminated = || format!("policy variable \"${{{s}\" has no closing '}}'");
    let end = s.find([',', '}']).ok_or_else(unterminated)?;
    let key = s[..end].trim();
    if key.is_empty() {
        return Err("a policy variable needs a key name, e.g. ${aws:username}".into());
    }
    let escape = match key {
        "*" => Some('*'),
        "?" => Some('?'),
        "$" => Some('$'),
        _ => None,
    };
    if escape.is_none() && key.chars().any(|c| c.is_whitespace() || matches!(c, '$' | '{' | '\'')) {
        return Err(format!("policy variable key {key:?} is not a condition key name"));
    }
    if s.as_bytes()[end] == b'}' {
        let piece = match escape {
            Some(c) => Piece::Escaped(c),
            None => Piece::Var { key: key.to_ascii_lowercase(), default: None },
        };
        return Ok((piece, end + 1));
    }
    if escape.is_some() {
        return Err(format!("the escape ${{{key}}} takes no default value"));
    }
    // `, 'default'}` with `''` for a quote inside the default.
    let after_comma = &s[end + 1..];
    let quoted = after_comma.trim_start();
    let bad_default =
        || format!("policy variable ${{{key}, ...}}: the default must be written as '...' before the '}}'");
    let body = quoted.strip_prefix('\'').ok_or_else(bad_default)?;
    let mut default = String::new();
    let mut chars = body.char_indices();
    let close = loop {
        match chars.next() {
            None => return Err(unterminated()),
            Some((i, '\'')) => {
                if body[i + 1..].starts_with('\'') {
                    default.push('\'');
                    chars.next();
                } else {
                    break i;
                }
            }
            Some((_, c)) => default.push(c),
        }
    };
    let tail = &body[close + 1..];
    let brace = tail.trim_start();
    if !brace.starts_with('}') {
        return Err(bad_default());
    }
    let consumed = s.len() - brace.len() + 1;
    Ok((Piece::Var { key: key.to_ascii_lowercase(), default: Some(default) }, consumed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::matches;

    fn text(raw: &str, ctx: &Context) -> Option<String> {
        Template::parse(raw, true).unwrap().text(ctx).map(Cow::into_owned)
    }

    #[test]
    fn substitutes_variables_and_escapes() {
        let ctx = Context::new().with("aws:username", "alice").with("s3:prefix", "p'q");
        let cases: &[(&str, Option<&str>)] = &[
            ("plain", Some("plain")),
            ("home/${aws:username}/*", Some("home/alice/*")),
            ("home/${AWS:UserName}", Some("home/alice")),
            ("${ aws:username }", Some("alice")),
            ("${aws:username}${s3:prefix}", Some("alicep'q")),
            ("${*}${?}${$}", Some("*?$")),
            ("${aws:userid}", None),
            ("${aws:userid, 'nobody'}", Some("nobody")),
            ("${aws:userid,'it''s'}x", Some("it'sx")),
            ("${aws:username, 'unused'}", Some("alice")),
            ("${aws:userid, '${aws:username}'}", Some("${aws:username}")),
            ("a$b{c}", Some("a$b{c}")),
        ];
        for (raw, want) in cases {
            assert_eq!(text(raw, &ctx).as_deref(), *want, "{raw:?}");
        }
    }

    #[test]
    fn multi_valued_keys_do_not_substitute() {
        let ctx = Context::new().with("aws:TagKeys", "a").with("aws:TagKeys", "b");
        assert_eq!(text("${aws:TagKeys}", &ctx), None);
    }

    #[test]
    fn escapes_and_substituted_text_are_literal_in_patterns() {
        let ctx = Context::new().with("aws:username", "a*");
        let t = Template::parse("x/${*}/${aws:username}/*", true).unwrap();
        let pattern = t.pattern(&ctx).unwrap();
        assert!(matches(&pattern, "x/*/a*/anything"));
        assert!(!matches(&pattern, "x/y/a*/anything"));
        assert!(!matches(&pattern, "x/*/abc/anything"));
    }

    #[test]
    fn without_variables_the_syntax_is_plain_text() {
        let t = Template::parse("home/${aws:username}", false).unwrap();
        assert_eq!(t.text(&Context::new()).unwrap(), "home/${aws:username}");
        assert!(Template::parse("${unterminated", false).is_ok());
    }

    #[test]
    fn malformed_variables_are_errors() {
        for raw in ["${aws:username", "${}", "${ }", "${a b}", "${a, default}", "${a, 'x}", "${a, 'x' y}", "${*, 'x'}"]
        {
            assert!(Template::parse(raw, true).is_err(), "{raw:?}");
        }
    }
}
