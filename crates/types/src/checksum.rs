//! The additional checksums of S3 (`x-amz-checksum-*`): CRC-32, CRC-32C,
//! CRC-64/NVME, SHA-1 and SHA-256, computed incrementally, rendered in S3's
//! base64 form, and combined over the parts of a multipart upload.
//!
//! S3 encodes every checksum as base64 of its big-endian bytes: a CRC-32 is 4
//! bytes (`AAAAAA==` for the empty input), a CRC-64 8, SHA-1 20 and SHA-256 32.
//!
//! A multipart object has one of two kinds of whole-object checksum:
//! - *composite*: the checksum of the concatenated binary part checksums,
//!   written `base64-N` for N parts ([`composite`]);
//! - *full object* (CRCs only): the CRC of the whole object, derived from the
//!   part CRCs and part lengths without reading the data ([`combine_crc`]).

use std::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use crc_fast::CrcAlgorithm;
use sha1::Digest as _;

/// A checksum algorithm S3 supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChecksumAlgorithm {
    /// CRC-32/ISO-HDLC (the CRC of zlib and Ethernet), S3's `CRC32`.
    Crc32,
    /// CRC-32/ISCSI (Castagnoli), S3's `CRC32C`.
    Crc32c,
    /// CRC-64/NVME, S3's `CRC64NVME`.
    Crc64Nvme,
    /// SHA-1, S3's `SHA1`.
    Sha1,
    /// SHA-256, S3's `SHA256`.
    Sha256,
}

impl ChecksumAlgorithm {
    /// Every algorithm, CRCs first.
    pub const ALL: [ChecksumAlgorithm; 5] = [
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Sha1,
        ChecksumAlgorithm::Sha256,
    ];

    /// The algorithm of an S3 API name (`CRC32`, `CRC32C`, `CRC64NVME`,
    /// `SHA1`, `SHA256`), in any case; `None` for anything else.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str().eq_ignore_ascii_case(name))
    }

    /// The algorithm of a checksum header name (`x-amz-checksum-crc32` …), in
    /// any case; `None` for any other header, `x-amz-checksum-algorithm` and
    /// `x-amz-checksum-type` included.
    pub fn from_header(header_name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.header_name().eq_ignore_ascii_case(header_name))
    }

    /// The header (and trailer) carrying this checksum, lower case.
    pub fn header_name(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
            ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
        }
    }

    /// The S3 API spelling (`x-amz-checksum-algorithm`, `<ChecksumAlgorithm>`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Sha256 => "SHA256",
        }
    }

    /// Whether this is a CRC (which, unlike a hash, combines across parts).
    pub fn is_crc(self) -> bool {
        self.crc().is_some()
    }

    /// The length of the binary checksum in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Crc32 | ChecksumAlgorithm::Crc32c => 4,
            ChecksumAlgorithm::Crc64Nvme => 8,
            ChecksumAlgorithm::Sha1 => 20,
            ChecksumAlgorithm::Sha256 => 32,
        }
    }

    /// The crc-fast variant of a CRC.
    fn crc(self) -> Option<CrcAlgorithm> {
        match self {
            ChecksumAlgorithm::Crc32 => Some(CrcAlgorithm::Crc32IsoHdlc),
            ChecksumAlgorithm::Crc32c => Some(CrcAlgorithm::Crc32Iscsi),
            ChecksumAlgorithm::Crc64Nvme => Some(CrcAlgorithm::Crc64Nvme),
            ChecksumAlgorithm::Sha1 | ChecksumAlgorithm::Sha256 => None,
        }
    }

    /// A CRC value as its `digest_len` big-endian bytes.
    fn crc_bytes(self, value: u64) -> Vec<u8> {
        let bytes = value.to_be_bytes();
        bytes[8 - self.digest_len()..].to_vec()
    }

    /// The CRC value of `digest_len` big-endian bytes; `None` if the length is wrong.
    fn crc_value(self, bytes: &[u8]) -> Option<u64> {
        if bytes.len() != self.digest_len() {
            return None;
        }
        Some(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The running state of one algorithm.
#[derive(Clone)]
enum State {
    Crc(crc_fast::Digest),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

/// A checksum computed incrementally over data fed in pieces.
#[derive(Clone)]
pub struct Checksummer {
    algorithm: ChecksumAlgorithm,
    state: State,
}

impl fmt::Debug for Checksummer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Checksummer").field("algorithm", &self.algorithm).finish_non_exhaustive()
    }
}

impl Checksummer {
    /// A checksum of nothing yet.
    pub fn new(algorithm: ChecksumAlgorithm) -> Self {
        let state = match (algorithm, algorithm.crc()) {
            (_, Some(crc)) => State::Crc(crc_fast::Digest::new(crc)),
            (ChecksumAlgorithm::Sha1, None) => State::Sha1(sha1::Sha1::new()),
            (_, None) => State::Sha256(sha2::Sha256::new()),
        };
        Checksummer { algorithm, state }
    }

    /// The algorithm computed.
    pub fn algorithm(&self) -> ChecksumAlgorithm {
        self.algorithm
    }

    /// Feeds the next piece of data.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.state {
            State::Crc(d) => d.update(data),
            State::Sha1(h) => h.update(data),
            State::Sha256(h) => h.update(data),
        }
    }

    /// The checksum of everything fed, `digest_len` bytes (big-endian for CRCs).
    pub fn finalize(self) -> Vec<u8> {
        match self.state {
            State::Crc(d) => self.algorithm.crc_bytes(d.finalize()),
            State::Sha1(h) => h.finalize().to_vec(),
            State::Sha256(h) => h.finalize().to_vec(),
        }
    }

    /// The checksum of everything fed, in S3's base64 form.
    pub fn finalize_base64(self) -> String {
        to_base64(&self.finalize())
    }
}

/// The checksum of `data` in one go.
pub fn checksum(algorithm: ChecksumAlgorithm, data: &[u8]) -> Vec<u8> {
    let mut c = Checksummer::new(algorithm);
    c.update(data);
    c.finalize()
}

/// Standard base64 with padding, as S3 writes checksums.
pub fn to_base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard padded base64; `None` if it is not exactly that.
pub fn from_base64(s: &str) -> Option<Vec<u8>> {
    STANDARD.decode(s).ok()
}

/// The composite checksum of a multipart object: `algorithm` over the
/// concatenated binary part checksums (in part order), rendered `base64-N`
/// with N the number of parts.
pub fn composite(algorithm: ChecksumAlgorithm, part_checksums: &[Vec<u8>]) -> String {
    let mut c = Checksummer::new(algorithm);
    for part in part_checksums {
        c.update(part);
    }
    format!("{}-{}", c.finalize_base64(), part_checksums.len())
}

/// The full-object CRC of consecutive parts, from each part's binary CRC and
/// length: equal to the CRC of the concatenated data. `None` if `algorithm`
/// is not a CRC or a part checksum has the wrong length. No parts give the
/// CRC of the empty input.
pub fn combine_crc(algorithm: ChecksumAlgorithm, parts: &[(Vec<u8>, u64)]) -> Option<Vec<u8>> {
    let crc = algorithm.crc()?;
    let mut acc: Option<u64> = None;
    for (bytes, len) in parts {
        let value = algorithm.crc_value(bytes)?;
        acc = Some(match acc {
            None => value,
            Some(prev) => crc_fast::checksum_combine(crc, prev, value, *len),
        });
    }
    match acc {
        Some(v) => Some(algorithm.crc_bytes(v)),
        None => Some(checksum(algorithm, &[])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ChecksumAlgorithm::*;

    fn hex_of(algorithm: ChecksumAlgorithm, data: &[u8]) -> String {
        hex::encode(checksum(algorithm, data))
    }

    #[test]
    fn names_round_trip() {
        for a in ChecksumAlgorithm::ALL {
            assert_eq!(ChecksumAlgorithm::parse(a.as_str()), Some(a));
            assert_eq!(ChecksumAlgorithm::parse(&a.as_str().to_lowercase()), Some(a));
            assert_eq!(ChecksumAlgorithm::from_header(a.header_name()), Some(a));
            assert_eq!(ChecksumAlgorithm::from_header(&a.header_name().to_uppercase()), Some(a));
            assert_eq!(a.header_name(), format!("x-amz-checksum-{}", a.as_str().to_lowercase()));
            assert_eq!(a.to_string(), a.as_str());
            assert_eq!(checksum(a, b"x").len(), a.digest_len());
        }
        assert_eq!(ChecksumAlgorithm::parse("crc32c"), Some(Crc32c));
        assert_eq!(ChecksumAlgorithm::parse("Crc64Nvme"), Some(Crc64Nvme));
        for bad in ["", "CRC", "CRC64", "MD5", "SHA-256", " SHA256", "CRC32 "] {
            assert_eq!(ChecksumAlgorithm::parse(bad), None, "{bad:?}");
        }
        for bad in ["x-amz-checksum-algorithm", "x-amz-checksum-type", "x-amz-checksum-", "checksum-crc32", "crc32"] {
            assert_eq!(ChecksumAlgorithm::from_header(bad), None, "{bad:?}");
        }
        let crcs: Vec<_> = ChecksumAlgorithm::ALL.into_iter().filter(|a| a.is_crc()).collect();
        assert_eq!(crcs, [Crc32, Crc32c, Crc64Nvme]);
    }

    #[test]
    fn standard_check_values() {
        // The "check" values of the CRC catalogue, over "123456789".
        assert_eq!(hex_of(Crc32, b"123456789"), "cbf43926");
        assert_eq!(hex_of(Crc32c, b"123456789"), "e3069283");
        assert_eq!(hex_of(Crc64Nvme, b"123456789"), "ae8b14860a799888");
        // FIPS 180 examples.
        assert_eq!(hex_of(Sha1, b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
        assert_eq!(hex_of(Sha256, b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn s3_base64_forms() {
        let b64 = |a, d: &[u8]| to_base64(&checksum(a, d));
        assert_eq!(b64(Crc32, b""), "AAAAAA==");
        assert_eq!(b64(Crc32c, b""), "AAAAAA==");
        assert_eq!(b64(Crc64Nvme, b""), "AAAAAAAAAAA=");
        assert_eq!(b64(Sha1, b""), "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
        assert_eq!(b64(Sha256, b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        assert_eq!(b64(Crc32, b"123456789"), "y/Q5Jg==");
        // The trailing CRC-32C of the AWS SigV4 trailer example (66560 bytes of `a`).
        assert_eq!(b64(Crc32c, &[b'a'; 66560]), "sOO8/Q==");
        assert_eq!(from_base64("y/Q5Jg=="), Some(vec![0xcb, 0xf4, 0x39, 0x26]));
        for bad in ["y/Q5Jg=", "y/Q5Jg", "y/Q5Jg===", "y_Q5Jg==", "!!!!"] {
            assert_eq!(from_base64(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn incremental_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        for a in ChecksumAlgorithm::ALL {
            let whole = checksum(a, &data);
            for piece in [1, 7, 64, 1000, 4096] {
                let mut c = Checksummer::new(a);
                for p in data.chunks(piece) {
                    c.update(p);
                }
                assert_eq!(c.algorithm(), a);
                let clone = c.clone();
                assert_eq!(c.finalize(), whole, "{a} in pieces of {piece}");
                assert_eq!(clone.finalize_base64(), to_base64(&whole));
            }
        }
    }

    #[test]
    fn composite_is_the_checksum_of_the_part_checksums() {
        for a in ChecksumAlgorithm::ALL {
            let parts: Vec<Vec<u8>> = [&b"first part"[..], b"second", b""].iter().map(|p| checksum(a, p)).collect();
            let concat: Vec<u8> = parts.concat();
            assert_eq!(composite(a, &parts), format!("{}-3", to_base64(&checksum(a, &concat))));
        }
        // A fixed value: a single part's composite is the checksum of its checksum.
        let one = vec![checksum(Crc32, b"a")];
        assert_eq!(hex::encode(&one[0]), "e8b7be43");
        assert_eq!(composite(Crc32, &one), format!("{}-1", to_base64(&checksum(Crc32, &[0xe8, 0xb7, 0xbe, 0x43]))));
        assert_eq!(composite(Sha256, &[]), format!("{}-0", to_base64(&checksum(Sha256, b""))));
    }

    #[test]
    fn combined_part_crcs_equal_the_whole_crc() {
        let data: Vec<u8> = (0..5000u32).map(|i| (i * 31 % 256) as u8).collect();
        let splits: [&[usize]; 7] =
            [&[], &[0], &[1], &[2500], &[1, 2, 3], &[0, 0, 4999, 5000], &[17, 1000, 1024, 4096, 4097]];
        for a in [Crc32, Crc32c, Crc64Nvme] {
            let whole = checksum(a, &data);
            for cuts in splits {
                let mut parts = Vec::new();
                let mut start = 0;
                for &c in cuts.iter().chain(std::iter::once(&data.len())) {
                    let piece = &data[start..c];
                    parts.push((checksum(a, piece), piece.len() as u64));
                    start = c;
                }
                assert_eq!(combine_crc(a, &parts), Some(whole.clone()), "{a} cut at {cuts:?}");
            }
            assert_eq!(combine_crc(a, &[]), Some(checksum(a, b"")));
            assert_eq!(combine_crc(a, &[(vec![0; a.digest_len() + 1], 1)]), None);
        }
        assert_eq!(combine_crc(Sha256, &[(checksum(Sha256, b"x"), 1)]), None);
        assert_eq!(combine_crc(Sha1, &[]), None);
    }
}
