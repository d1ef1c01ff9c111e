//! Condition operator names: a base operator, optionally preceded by a set qualifier
//! (`ForAnyValue:` or `ForAllValues:`) and followed by `IfExists`. Names are matched
//! case-insensitively.

/// How a comparison orders the request's value against the policy's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    /// Whether `request <cmp> policy` holds.
    pub(crate) fn holds<T: PartialOrd>(self, request: T, policy: T) -> bool {
        match self {
            Cmp::Eq => request == policy,
            Cmp::Lt => request < policy,
            Cmp::Le => request <= policy,
            Cmp::Gt => request > policy,
            Cmp::Ge => request >= policy,
        }
    }
}

/// The positive test an operator performs on one request value against one policy value. Negated
/// operators (`StringNotEquals`, `NotIpAddress`...) are the same test with `negated` set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Test {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    IpAddress,
    /// `ArnEquals` and `ArnLike` (they are the same: both take wildcards).
    ArnLike,
    Null,
}

/// How the request's values of a multi-valued key are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SetQualifier {
    /// No qualifier: true if any request value matches (negated: if none does).
    Plain,
    /// `ForAnyValue:`: true if at least one request value passes.
    AnyValue,
    /// `ForAllValues:`: true if every request value passes (and if there are none).
    AllValues,
}

/// A parsed condition operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Operator {
    pub(crate) test: Test,
    /// A `...Not...` operator: passes when the positive test fails.
    pub(crate) negated: bool,
    /// The `IfExists` suffix: a missing key passes.
    pub(crate) if_exists: bool,
    pub(crate) set: SetQualifier,
}

/// Base operator names (lowercase) and what they do.
const OPERATORS: &[(&str, Test, bool)] = &[
    ("stringequals", Test::StringEquals, false),
    ("stringnotequals", Test::StringEquals, true),
    ("stringequalsignorecase", Test::StringEqualsIgnoreCase, false),
    ("stringnotequalsignorecase", Test::StringEqualsIgnoreCase, true),
    ("stringlike", Test::StringLike, false),
    ("stringnotlike", Test::StringLike, true),
    ("numericequals", Test::Numeric(Cmp::Eq), false),
    ("numericnotequals", Test::Numeric(Cmp::Eq), true),
    ("numericlessthan", Test::Numeric(Cmp::Lt), false),
    ("numericlessthanequals", Test::Numeric(Cmp::Le), false),
    ("numericgreaterthan", Test::Numeric(Cmp::Gt), false),
    ("numericgreaterthanequals", Test::Numeric(Cmp::Ge), false),
    ("dateequals", Test::Date(Cmp::Eq), false),
    ("datenotequals", Test::Date(Cmp::Eq), true),
    ("datelessthan", Test::Date(Cmp::Lt), false),
    ("datelessthanequals", Test::Date(Cmp::Le), false),
    ("dategreaterthan", Test::Date(Cmp::Gt), false),
    ("dategreaterthanequals", Test::Date(Cmp::Ge), false),
    ("bool", Test::Bool, false),
    ("ipaddress", Test::IpAddress, false),
    ("notipaddress", Test::IpAddress, true),
    ("arnequals", Test::ArnLike, false),
    ("arnnotequals", Test::ArnLike, true),
    ("arnlike", Test::ArnLike, false),
    ("arnnotlike", Test::ArnLike, true),
    ("null", Test::Null, false),
];

impl Operator {
    /// Parses an operator name such as `ForAllValues:StringLikeIfExists`.
    pub(crate) fn parse(name: &str) -> Result<Operator, String> {
        let lower = name.to_ascii_lowercase();
        let (set, rest) = if let Some(rest) = lower.strip_prefix("foranyvalue:") {
            (SetQualifier::AnyValue, rest)
        } else if let Some(rest) = lower.strip_prefix("forallvalues:") {
            (SetQualifier::AllValues, rest)
        } else {
            (SetQualifier::Plain, lower.as_str())
        };
        let (base, if_exists) = match rest.strip_suffix("ifexists") {
            Some(base) => (base, true),
            None => (rest, false),
        };
        let Some(&(_, test, negated)) = OPERATORS.iter().find(|(n, _, _)| *n == base) else {
            return Err(format!("unknown condition operator {name:?}"));
        };
        if test == Test::Null && (if_exists || set != SetQualifier::Plain) {
            return Err(format!(
                "condition operator {name:?}: Null takes neither IfExists nor ForAnyValue:/ForAllValues:"
            ));
        }
        Ok(Operator { test, negated, if_exists, set })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names() {
        let op = |test, negated, if_exists, set| Operator { test, negated, if_exists, set };
        let cases = [
            ("StringEquals", op(Test::StringEquals, false, false, SetQualifier::Plain)),
            ("stringnotequals", op(Test::StringEquals, true, false, SetQualifier::Plain)),
            ("StringLikeIfExists", op(Test::StringLike, false, true, SetQualifier::Plain)),
            ("ForAnyValue:StringLike", op(Test::StringLike, false, false, SetQualifier::AnyValue)),
            ("ForAllValues:StringNotEqualsIfExists", op(Test::StringEquals, true, true, SetQualifier::AllValues)),
            ("NumericLessThanEquals", op(Test::Numeric(Cmp::Le), false, false, SetQualifier::Plain)),
            ("DateNotEquals", op(Test::Date(Cmp::Eq), true, false, SetQualifier::Plain)),
            ("NotIpAddressIfExists", op(Test::IpAddress, true, true, SetQualifier::Plain)),
            ("ArnEquals", op(Test::ArnLike, false, false, SetQualifier::Plain)),
            ("ArnNotLike", op(Test::ArnLike, true, false, SetQualifier::Plain)),
            ("Bool", op(Test::Bool, false, false, SetQualifier::Plain)),
            ("Null", op(Test::Null, false, false, SetQualifier::Plain)),
        ];
        for (name, want) in cases {
            assert_eq!(Operator::parse(name), Ok(want), "{name}");
        }
    }

    #[test]
    fn refuses_unknown_names() {
        for name in [
            "StringEqual",
            "",
            "IfExists",
            "ForSomeValues:StringLike",
            "NullIfExists",
            "ForAnyValue:Null",
            "BinaryEquals",
        ] {
            assert!(Operator::parse(name).is_err(), "{name}");
        }
    }
}
