#![no_main]
//! Fuzzes the value types of `coffer_types`: `ByteRange::parse` then
//! `resolve` against arbitrary object sizes, `BucketName::parse` and
//! `ObjectKey::parse`, all with arbitrary strings.
//!
//! Checked: no panic (fuzz builds check arithmetic overflow); a resolved range
//! is non-empty and never reaches past the object's size, and its
//! `Content-Range` is well formed; an accepted bucket name obeys the rules
//! `BucketName` documents; `ObjectKey::parse` accepts exactly the strings of
//! 1 to `MAX_KEY_LEN` bytes and keeps them unchanged.

use coffer_types::{BucketName, ByteRange, ObjectKey, MAX_KEY_LEN};
use libfuzzer_sys::arbitrary::{Result as ArbResult, Unstructured};
use libfuzzer_sys::fuzz_target;

fn check_range(header: &str, size: u64) {
    let Ok(range) = ByteRange::parse(header) else { return };
    let Ok(r) = range.resolve(size) else { return };
    assert!(r.len >= 1, "{header:?} on {size} bytes resolved to an empty range");
    let end = r.start.checked_add(r.len).expect("start + len overflows");
    assert!(end <= size, "{header:?} on {size} bytes resolved to {r:?}, past the end");
    let cr = r.content_range(size);
    assert_eq!(cr, format!("bytes {}-{}/{size}", r.start, end - 1));
}

fn check_bucket(s: &str) {
    let Ok(b) = BucketName::parse(s) else { return };
    assert_eq!(b.as_str(), s);
    assert!((3..=63).contains(&s.len()));
    assert!(s.bytes().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'.' || c == b'-'));
    assert!(s.as_bytes()[0].is_ascii_alphanumeric() && s.as_bytes()[s.len() - 1].is_ascii_alphanumeric());
    assert!(!s.contains("..") && !s.contains(".-") && !s.contains("-."));
}

fn check_key(s: &str) {
    let ok = !s.is_empty() && s.len() <= MAX_KEY_LEN;
    match ObjectKey::parse(s) {
        Ok(k) => {
            assert!(ok, "accepted a key of {} bytes", s.len());
            assert_eq!(k.as_str(), s);
        }
        Err(_) => assert!(!ok, "refused a key of {} bytes", s.len()),
    }
}

fn one(u: &mut Unstructured) -> ArbResult<()> {
    let sizes: [u64; 3] = [u.arbitrary::<u64>()?, u64::from(u.arbitrary::<u16>()?), u64::MAX];
    let header: String = u.arbitrary()?;
    for size in sizes.into_iter().chain([0, 1]) {
        check_range(&header, size);
        check_range(&format!("bytes={header}"), size);
    }
    let name: String = u.arbitrary()?;
    check_bucket(&name);
    check_bucket(&header);
    let key: String = u.arbitrary()?;
    check_key(&key);
    check_key(&header);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = one(&mut Unstructured::new(data));
});
