//! The `Tagging` document of Put/GetObjectTagging, Put/GetBucketTagging and
//! POST forms' `tagging` field, to and from a [`TagSet`] with S3's limits.

use crate::error::{S3Error, S3ErrorCode as C};
use crate::xml::NS;
use coffer_types::{TagError, TagSet};
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize, Debug)]
#[serde(rename = "Tagging")]
struct Tagging {
    #[serde(rename = "@xmlns", default, skip_deserializing)]
    xmlns: &'static str,
    #[serde(rename = "TagSet")]
    tag_set: Tags,
}

#[derive(Serialize, Deserialize, Debug, Default)]
struct Tags {
    #[serde(rename = "Tag", default)]
    tags: Vec<Tag>,
}

#[derive(Serialize, Deserialize, Debug)]
struct Tag {
    #[serde(rename = "Key")]
    key: String,
    #[serde(rename = "Value", default)]
    value: String,
}

/// A refused tag set: `400 InvalidTag` with S3's message.
pub fn invalid(e: TagError) -> S3Error {
    S3Error::with_message(C::InvalidTag, e.to_string())
}

/// Parses a `Tagging` document of at most `max` tags (10 on objects, 50 on buckets).
pub fn parse(body: &[u8], max: usize) -> Result<TagSet, S3Error> {
    let doc: Tagging = crate::xml::parse(body)?;
    TagSet::from_pairs(doc.tag_set.tags.into_iter().map(|t| (t.key, t.value)), max).map_err(invalid)
}

/// Renders the set as a `Tagging` document.
pub fn render(tags: &TagSet) -> Result<String, S3Error> {
    let tags = tags.iter().map(|(k, v)| Tag { key: k.to_owned(), value: v.to_owned() }).collect();
    crate::xml::render(&Tagging { xmlns: NS, tag_set: Tags { tags } })
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_types::tags::{MAX_BUCKET_TAGS, MAX_OBJECT_TAGS};

    #[test]
    fn round_trip_and_limits() {
        let body = br#"<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>
            <Tag><Key>Project</Key><Value>Blue &amp; Sky</Value></Tag><Tag><Key>empty</Key><Value></Value></Tag>
            </TagSet></Tagging>"#;
        let t = parse(body, MAX_OBJECT_TAGS).unwrap_err();
        assert_eq!(t.code, C::InvalidTag, "& is not a tag character");
        let body = br#"<Tagging><TagSet><Tag><Key>Project</Key><Value>Blue Sky</Value></Tag><Tag><Key>empty</Key><Value/></Tag></TagSet></Tagging>"#;
        let t = parse(body, MAX_OBJECT_TAGS).unwrap();
        assert_eq!((t.get("Project"), t.get("empty")), (Some("Blue Sky"), Some("")));
        let doc = render(&t).unwrap();
        assert!(
            doc.contains("<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet><Tag><Key>Project</Key>")
        );
        assert_eq!(parse(doc.as_bytes(), MAX_OBJECT_TAGS).unwrap(), t);
        assert!(parse(b"<Tagging><TagSet/></Tagging>", MAX_OBJECT_TAGS).unwrap().is_empty());
        let many: String = (0..11).map(|i| format!("<Tag><Key>k{i}</Key><Value>v</Value></Tag>")).collect();
        let doc = format!("<Tagging><TagSet>{many}</TagSet></Tagging>");
        assert_eq!(parse(doc.as_bytes(), MAX_OBJECT_TAGS).unwrap_err().code, C::InvalidTag);
        assert_eq!(parse(doc.as_bytes(), MAX_BUCKET_TAGS).unwrap().len(), 11);
        assert_eq!(parse(b"<Tagging><TagSet><Tag>", 10).unwrap_err().code, C::MalformedXML);
        assert_eq!(parse(b"<Tagging/>", 10).unwrap_err().code, C::MalformedXML);
    }
}
