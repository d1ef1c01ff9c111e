//! The randomness of `security_malformed.rs`: a seeded generator (splitmix64)
//! and the mutations applied to well-formed documents, plus HMAC-SHA256 for
//! signing IAM calls by hand.

use sha2::{Digest, Sha256};

/// splitmix64: small, seedable, good enough to pick test cases.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    /// One of `items`.
    pub fn word(&mut self, items: &[&'static str]) -> &'static str {
        items[self.below(items.len())]
    }
    /// `min..min + spread` random bytes.
    pub fn some_bytes(&mut self, min: usize, spread: usize) -> Vec<u8> {
        let n = min + self.below(spread);
        self.bytes(n)
    }
    /// A token of `min..min + spread` characters.
    pub fn some_token(&mut self, min: usize, spread: usize) -> String {
        let n = min + self.below(spread);
        self.token(n)
    }
    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// Printable ASCII without spaces.
    pub fn token(&mut self, n: usize) -> String {
        (0..n).map(|_| (b'!' + self.below(94) as u8) as char).collect()
    }
}

/// A few random edits of `doc`: byte flips, insertions, deletions, cuts, and
/// XML/JSON fragments spliced in.
pub fn mutate(r: &mut Rng, doc: &[u8]) -> Vec<u8> {
    const SPLICE: &[&str] = &[
        "<",
        ">",
        "</",
        "<a>",
        "</a>",
        "<![CDATA[",
        "]]>",
        "&",
        "&amp;",
        "&#0;",
        "&#xFFFFFF;",
        "&bogus;",
        "<?xml",
        "<!DOCTYPE a [<!ENTITY e \"x\">]>",
        "\"",
        "{",
        "}",
        "[",
        "]",
        ":",
        ",",
        "null",
        "1e999",
        "-0",
        "\\u0000",
        "\\ud800",
        "%",
        "%zz",
        "&=",
        "=&",
        "\u{0}",
        "é",
        "<Key></Key>",
        "<Grant>",
        "xmlns=\"x\"",
    ];
    let mut d = doc.to_vec();
    for _ in 0..1 + r.below(4) {
        let at = r.below(d.len() + 1);
        match r.below(7) {
            0 if !d.is_empty() => {
                let i = at.min(d.len() - 1);
                d[i] ^= 1 << r.below(8);
            }
            1 => {
                let b = r.some_bytes(1, 8);
                d.splice(at..at, b);
            }
            2 => {
                let end = (at + 1 + r.below(16)).min(d.len());
                d.drain(at.min(end)..end);
            }
            3 => d.truncate(at),
            4 => {
                let piece = r.pick(SPLICE).as_bytes().to_vec();
                d.splice(at..at, piece);
            }
            5 if r.one_in(4) => {
                // Deep nesting.
                let depth = 1 + r.below(2000);
                let mut nest = "<a>".repeat(depth).into_bytes();
                nest.extend("</a>".repeat(depth).into_bytes());
                d.splice(at..at, nest);
            }
            _ => {
                let end = (at + 1 + r.below(32)).min(d.len());
                let copy = d[at.min(end)..end].to_vec();
                d.splice(at..at, copy);
            }
        }
    }
    d
}

pub fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).chain(data.iter().copied()).collect();
    let inner = Sha256::digest(&inner);
    let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).chain(inner.iter().copied()).collect();
    Sha256::digest(&outer).into()
}
