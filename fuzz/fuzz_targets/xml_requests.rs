#![no_main]
//! Fuzzes the S3 request-document parser, `coffer_s3_proto::xml::parse`, with
//! arbitrary bytes as a `CompleteMultipartUpload`, a `Delete` and a
//! `CreateBucketConfiguration` body.
//!
//! Checked: no panic; every failure is `MalformedXML`, the only error the
//! parser is documented to return.

use coffer_s3_proto::xml::{parse, CompleteMultipartUpload, CreateBucketConfiguration, Delete};
use coffer_s3_proto::S3ErrorCode;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let check = |r: Option<coffer_s3_proto::S3Error>| {
        if let Some(e) = r {
            assert_eq!(e.code, S3ErrorCode::MalformedXML, "unexpected error code from xml::parse");
        }
    };
    check(parse::<CompleteMultipartUpload>(data).err());
    check(parse::<Delete>(data).err());
    check(parse::<CreateBucketConfiguration>(data).err());
});
