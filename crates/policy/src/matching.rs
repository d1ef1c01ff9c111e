//! Wildcard matching as the policy language defines it: `*` matches any run of characters (empty, and
//! across `/` and `:`), `?` matches exactly one character, everything else matches itself.
//!
//! A pattern is compiled to [`Tok`]ens first, so that text substituted for a policy variable (or an
//! escape such as `${*}`) can stay literal even when it contains `*` or `?`. Matching is greedy with
//! backtracking to the last `*` only, which is correct for these patterns and takes at most
//! O(pattern × subject) steps: no exponential blow-up on star-heavy patterns.

/// One element of a compiled pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tok {
    /// Exactly this character.
    Lit(char),
    /// Any one character (`?`).
    One,
    /// Any run of characters, possibly empty (`*`).
    Any,
}

/// Appends `pattern` to `out`, with `*` and `?` as wildcards.
pub(crate) fn push_pattern(out: &mut Vec<Tok>, pattern: &str) {
    out.extend(pattern.chars().map(|c| match c {
        '*' => Tok::Any,
        '?' => Tok::One,
        c => Tok::Lit(c),
    }));
}

/// Appends `text` to `out` literally: `*` and `?` match only themselves.
pub(crate) fn push_literal(out: &mut Vec<Tok>, text: &str) {
    out.extend(text.chars().map(Tok::Lit));
}

/// Compiles `pattern`, with `*` and `?` as wildcards.
pub(crate) fn compile(pattern: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(pattern.len());
    push_pattern(&mut out, pattern);
    out
}

/// Whether the compiled `pattern` matches all of `subject` (case-sensitively).
pub(crate) fn matches(pattern: &[Tok], subject: &str) -> bool {
    let (mut p, mut s) = (0, 0);
    // After the last `*` seen: the pattern position following it, and the subject position where the
    // text it swallows ends. Backtracking lets that star swallow one more character.
    let mut resume: Option<(usize, usize)> = None;
    while let Some(c) = subject[s..].chars().next() {
        match pattern.get(p) {
            Some(Tok::Any) => {
                p += 1;
                resume = Some((p, s));
                continue;
            }
            Some(Tok::One) => {
                p += 1;
                s += c.len_utf8();
                continue;
            }
            Some(Tok::Lit(l)) if *l == c => {
                p += 1;
                s += c.len_utf8();
                continue;
            }
            _ => {}
        }
        let Some((star_p, star_s)) = resume else { return false };
        // star_s < s <= subject.len(), so there is a character to swallow.
        let swallowed = subject[star_s..].chars().next().map_or(1, char::len_utf8);
        resume = Some((star_p, star_s + swallowed));
        p = star_p;
        s = star_s + swallowed;
    }
    pattern[p..].iter().all(|t| *t == Tok::Any)
}

/// Whether `pattern` (with `*` and `?` as wildcards) matches all of `subject`, case-sensitively.
pub fn wildcard_match(pattern: &str, subject: &str) -> bool {
    matches(&compile(pattern), subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let cases: &[(&str, &str, bool)] = &[
            ("", "", true),
            ("", "a", false),
            ("*", "", true),
            ("*", "anything/at:all", true),
            ("a", "a", true),
            ("a", "A", false),
            ("a", "ab", false),
            ("ab", "a", false),
            ("?", "", false),
            ("?", "x", true),
            ("?", "é", true),
            ("?", "xy", false),
            ("??", "xy", true),
            ("a*", "a", true),
            ("a*", "abc/def", true),
            ("*c", "abc", true),
            ("*c", "abd", false),
            ("a*c", "ac", true),
            ("a*c", "abbbc", true),
            ("a*c", "abbbcd", false),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "aXcYb", false),
            ("*a*a*a", "aaa", true),
            ("*a*a*a", "aa", false),
            ("a?c*", "abc", true),
            ("a?c*", "ac", false),
            ("b/home/*", "b/home/alice/x/y", true),
            ("b/home/*", "b/home", false),
            ("**", "", true),
            ("*?", "", false),
            ("*?", "x", true),
            ("*x*", "aaxaa", true),
            ("ä*ö", "äbcö", true),
            ("mississippi*", "mississippi", true),
            ("*sip*", "mississippi", true),
            ("*sip?", "mississippi", false),
            ("m*iss*ppi", "mississippi", true),
        ];
        for (pattern, subject, want) in cases {
            assert_eq!(wildcard_match(pattern, subject), *want, "{pattern:?} against {subject:?}");
        }
    }

    #[test]
    fn literal_tokens_do_not_act_as_wildcards() {
        let mut pattern = Vec::new();
        push_literal(&mut pattern, "a*?");
        assert!(matches(&pattern, "a*?"));
        assert!(!matches(&pattern, "abc"));
        assert!(!matches(&pattern, "a*x"));
    }

    #[test]
    fn star_heavy_patterns_finish_quickly() {
        let subject = "a".repeat(10_000);
        let failing = format!("{}b", "a*".repeat(50));
        let succeeding = format!("{}a", "*a".repeat(50));
        let started = std::time::Instant::now();
        assert!(!wildcard_match(&failing, &subject));
        assert!(wildcard_match(&succeeding, &subject));
        assert!(!wildcard_match(&"*?".repeat(50), &"a".repeat(49)));
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "took {:?}", started.elapsed());
    }
}
