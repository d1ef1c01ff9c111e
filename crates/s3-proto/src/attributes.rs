//! GetObjectAttributes: which attributes a request asks for
//! (`x-amz-object-attributes`) and the `GetObjectAttributesResponse`
//! document.

use crate::error::{S3Error, S3ErrorCode as C};
use serde::Serialize;

/// The attributes a request may name.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    pub etag: bool,
    pub checksum: bool,
    pub object_parts: bool,
    pub storage_class: bool,
    pub object_size: bool,
}

impl Wanted {
    /// Parses `x-amz-object-attributes` (comma-separated names; the header
    /// may also come more than once, given joined). None named, or an
    /// unknown name, is `400 InvalidArgument`.
    pub fn parse(header: Option<&str>) -> Result<Wanted, S3Error> {
        let mut w = Wanted::default();
        let mut any = false;
        for name in header.unwrap_or("").split(',').map(str::trim).filter(|n| !n.is_empty()) {
            any = true;
            match name {
                "ETag" => w.etag = true,
                "Checksum" => w.checksum = true,
                "ObjectParts" => w.object_parts = true,
                "StorageClass" => w.storage_class = true,
                "ObjectSize" => w.object_size = true,
                other => {
                    return Err(S3Error::with_message(
                        C::InvalidArgument,
                        format!("Invalid attribute name specified: {other}"),
                    )
                    .with_extra("ArgumentName", "x-amz-object-attributes"))
                }
            }
        }
        if !any {
            return Err(S3Error::with_message(
                C::InvalidArgument,
                "x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty",
            )
            .with_extra("ArgumentName", "x-amz-object-attributes"));
        }
        Ok(w)
    }
}

/// A checksum as the document shows it: the algorithm's element and the type.
#[derive(Serialize, Debug, Default)]
pub struct Checksum {
    #[serde(flatten)]
    pub value: crate::xml::ChecksumFields,
    #[serde(rename = "ChecksumType")]
    pub kind: String,
}

impl Checksum {
    /// The element of `algorithm` (S3 spelling) set to `value`; `None` for an unknown algorithm.
    pub fn of(algorithm: &str, value: &str, kind: &str) -> Option<Checksum> {
        coffer_types::ChecksumAlgorithm::parse(algorithm)?;
        Some(Checksum { value: crate::xml::ChecksumFields::one(algorithm, value), kind: kind.to_owned() })
    }
}

/// One part of a multipart object.
#[derive(Serialize, Debug)]
pub struct Part {
    /// The part's checksum, in the object checksum's algorithm (none set: unknown).
    #[serde(flatten)]
    pub checksum: crate::xml::ChecksumFields,
    #[serde(rename = "PartNumber")]
    pub part_number: u32,
    #[serde(rename = "Size")]
    pub size: u64,
}

/// The parts of a multipart object, one page of them.
#[derive(Serialize, Debug)]
pub struct ObjectParts {
    #[serde(rename = "IsTruncated")]
    pub is_truncated: bool,
    #[serde(rename = "MaxParts")]
    pub max_parts: u32,
    #[serde(rename = "NextPartNumberMarker", skip_serializing_if = "Option::is_none")]
    pub next_part_number_marker: Option<u32>,
    #[serde(rename = "PartNumberMarker")]
    pub part_number_marker: u32,
    #[serde(rename = "Part")]
    pub parts: Vec<Part>,
    #[serde(rename = "PartsCount")]
    pub parts_count: u32,
}

/// The answer; what was not asked for is left out.
#[derive(Serialize, Debug)]
#[serde(rename = "GetObjectAttributesResponse")]
pub struct Response {
    #[serde(rename = "@xmlns")]
    pub xmlns: &'static str,
    #[serde(rename = "ETag", skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(rename = "Checksum", skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
    #[serde(rename = "ObjectParts", skip_serializing_if = "Option::is_none")]
    pub object_parts: Option<ObjectParts>,
    #[serde(rename = "StorageClass", skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<&'static str>,
    #[serde(rename = "ObjectSize", skip_serializing_if = "Option::is_none")]
    pub object_size: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_document() {
        let w = Wanted::parse(Some("ETag, ObjectSize,Checksum")).unwrap();
        assert!(w.etag && w.object_size && w.checksum && !w.object_parts && !w.storage_class);
        assert_eq!(Wanted::parse(None).unwrap_err().code, C::InvalidArgument);
        assert_eq!(Wanted::parse(Some(" , ")).unwrap_err().code, C::InvalidArgument);
        assert_eq!(Wanted::parse(Some("ETag,Owner")).unwrap_err().code, C::InvalidArgument);
        let doc = crate::xml::render(&Response {
            xmlns: crate::xml::NS,
            etag: Some("abc".into()),
            checksum: Checksum::of("SHA256", "s==", "FULL_OBJECT"),
            object_parts: Some(ObjectParts {
                is_truncated: true,
                max_parts: 1,
                next_part_number_marker: Some(4),
                part_number_marker: 3,
                parts: vec![
                    Part { checksum: Default::default(), part_number: 4, size: 5 },
                    Part { checksum: crate::xml::ChecksumFields::one("SHA256", "c2hh"), part_number: 5, size: 1 },
                ],
                parts_count: 6,
            }),
            storage_class: Some("STANDARD"),
            object_size: None,
        })
        .unwrap();
        assert!(doc.contains("<ETag>abc</ETag><Checksum><ChecksumSHA256>s==</ChecksumSHA256><ChecksumType>FULL_OBJECT</ChecksumType></Checksum>"), "{doc}");
        assert!(
            doc.contains("<Part><PartNumber>4</PartNumber><Size>5</Size></Part><Part><ChecksumSHA256>c2hh</ChecksumSHA256><PartNumber>5</PartNumber><Size>1</Size></Part><PartsCount>6</PartsCount>"),
            "{doc}"
        );
        assert!(!doc.contains("ObjectSize"), "{doc}");
    }
}
