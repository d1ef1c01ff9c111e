//! The `PublicAccessBlockConfiguration` document of Put/GetPublicAccessBlock.

use crate::error::{S3Error, S3ErrorCode as C};
use crate::xml::NS;
use coffer_types::PublicAccessBlock;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug, Default)]
#[serde(rename = "PublicAccessBlockConfiguration")]
struct Doc {
    #[serde(rename = "@xmlns", default, skip_deserializing)]
    xmlns: &'static str,
    #[serde(rename = "BlockPublicAcls", default)]
    block_public_acls: Option<String>,
    #[serde(rename = "IgnorePublicAcls", default)]
    ignore_public_acls: Option<String>,
    #[serde(rename = "BlockPublicPolicy", default)]
    block_public_policy: Option<String>,
    #[serde(rename = "RestrictPublicBuckets", default)]
    restrict_public_buckets: Option<String>,
}

fn flag(v: Option<String>) -> Result<bool, S3Error> {
    match v.as_deref().map(str::trim) {
        None => Ok(false),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(S3Error::new(C::MalformedXML)),
    }
}

/// Parses the document; a switch left out is off.
pub fn parse(body: &[u8]) -> Result<PublicAccessBlock, S3Error> {
    let d: Doc = crate::xml::parse(body)?;
    Ok(PublicAccessBlock {
        block_public_acls: flag(d.block_public_acls)?,
        ignore_public_acls: flag(d.ignore_public_acls)?,
        block_public_policy: flag(d.block_public_policy)?,
        restrict_public_buckets: flag(d.restrict_public_buckets)?,
    })
}

/// Renders the switches as the document.
pub fn render(p: &PublicAccessBlock) -> Result<String, S3Error> {
    let s = |b: bool| Some(b.to_string());
    crate::xml::render(&Doc {
        xmlns: NS,
        block_public_acls: s(p.block_public_acls),
        ignore_public_acls: s(p.ignore_public_acls),
        block_public_policy: s(p.block_public_policy),
        restrict_public_buckets: s(p.restrict_public_buckets),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let body = br#"<PublicAccessBlockConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
            <BlockPublicAcls>TRUE</BlockPublicAcls><RestrictPublicBuckets>true</RestrictPublicBuckets>
            </PublicAccessBlockConfiguration>"#;
        let p = parse(body).unwrap();
        assert_eq!(
            p,
            PublicAccessBlock { block_public_acls: true, restrict_public_buckets: true, ..Default::default() }
        );
        let doc = render(&p).unwrap();
        assert!(
            doc.contains("<BlockPublicAcls>true</BlockPublicAcls><IgnorePublicAcls>false</IgnorePublicAcls>"),
            "{doc}"
        );
        assert_eq!(parse(doc.as_bytes()).unwrap(), p);
        let bad =
            b"<PublicAccessBlockConfiguration><BlockPublicAcls>yes</BlockPublicAcls></PublicAccessBlockConfiguration>";
        assert_eq!(parse(bad).unwrap_err().code, C::MalformedXML);
        assert_eq!(parse(b"<x").unwrap_err().code, C::MalformedXML);
    }
}
