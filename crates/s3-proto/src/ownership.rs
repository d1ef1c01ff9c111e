//! The `OwnershipControls` document of Put/GetBucketOwnershipControls, and
//! `x-amz-object-ownership` on CreateBucket.

use crate::error::{S3Error, S3ErrorCode as C};
use crate::xml::NS;
use coffer_types::ObjectOwnership;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug)]
#[serde(rename = "OwnershipControls")]
struct Doc {
    #[serde(rename = "@xmlns", default, skip_deserializing)]
    xmlns: &'static str,
    #[serde(rename = "Rule", default)]
    rules: Vec<Rule>,
}

#[derive(Serialize, Deserialize, Debug)]
struct Rule {
    #[serde(rename = "ObjectOwnership")]
    object_ownership: String,
}

/// A setting by its S3 name: an unknown one is `400 InvalidArgument`.
pub fn setting(name: &str) -> Result<ObjectOwnership, S3Error> {
    match ObjectOwnership::parse(name.trim()) {
        Some(o) => Ok(o),
        None => Err(S3Error::with_message(C::InvalidArgument, format!("Invalid ObjectOwnership: {name}"))
            .with_extra("ArgumentName", "ObjectOwnership")),
    }
}

/// Parses the document: exactly one rule.
pub fn parse(body: &[u8]) -> Result<ObjectOwnership, S3Error> {
    let d: Doc = crate::xml::parse(body)?;
    match d.rules.as_slice() {
        [rule] => setting(&rule.object_ownership),
        _ => Err(S3Error::new(C::MalformedXML)),
    }
}

/// Renders the setting as the document.
pub fn render(o: ObjectOwnership) -> Result<String, S3Error> {
    crate::xml::render(&Doc { xmlns: NS, rules: vec![Rule { object_ownership: o.as_str().to_owned() }] })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_refusals() {
        let doc = render(ObjectOwnership::BucketOwnerEnforced).unwrap();
        assert!(doc.contains("<OwnershipControls xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Rule><ObjectOwnership>BucketOwnerEnforced</ObjectOwnership></Rule></OwnershipControls>"), "{doc}");
        assert_eq!(parse(doc.as_bytes()).unwrap(), ObjectOwnership::BucketOwnerEnforced);
        let w = b"<OwnershipControls><Rule><ObjectOwnership>ObjectWriter</ObjectOwnership></Rule></OwnershipControls>";
        assert_eq!(parse(w).unwrap(), ObjectOwnership::ObjectWriter);
        let bad = b"<OwnershipControls><Rule><ObjectOwnership>Mine</ObjectOwnership></Rule></OwnershipControls>";
        assert_eq!(parse(bad).unwrap_err().code, C::InvalidArgument);
        assert_eq!(parse(b"<OwnershipControls></OwnershipControls>").unwrap_err().code, C::MalformedXML);
    }
}
