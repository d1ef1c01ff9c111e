//! ACL documents: a canned ACL rendered as S3's `AccessControlPolicy`, and a
//! policy document read back into the canned ACL it expresses.
//!
//! Coffer stores canned ACLs only. A document whose grants match no canned
//! ACL (grants to other accounts, e-mail grantees, ...) is refused with
//! `NotImplemented` rather than stored approximately.

use crate::error::{S3Error, S3ErrorCode as C};
use coffer_types::CannedAcl;
use quick_xml::escape::escape;
use serde::Deserialize;

const NS: &str = "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"";
const XSI: &str = "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";
const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTHENTICATED_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";

/// Whom an ACL document names: the owner of the bucket or object, and for
/// an object another project owns, the bucket's owner (whom the
/// `bucket-owner-*` ACLs grant; when they are one, the grants are implied).
#[derive(Clone, Copy, Debug)]
pub struct Owners<'a> {
    pub owner: &'a str,
    pub bucket_owner: Option<&'a str>,
}

impl<'a> Owners<'a> {
    /// A bucket, or an object its bucket's owner owns.
    pub fn one(owner: &'a str) -> Self {
        Owners { owner, bucket_owner: None }
    }

    fn other_bucket_owner(&self) -> Option<&'a str> {
        self.bucket_owner.filter(|b| *b != self.owner)
    }
}

/// The `AccessControlPolicy` of a bucket or object with `acl`.
pub fn render(owners: Owners<'_>, acl: CannedAcl) -> String {
    let o = escape(owners.owner);
    let grant = |grantee: String, permission: &str| {
        format!("<Grant><Grantee {XSI} {grantee}</Grantee><Permission>{permission}</Permission></Grant>")
    };
    let user = |id: &str| format!("xsi:type=\"CanonicalUser\"><ID>{id}</ID><DisplayName>{id}</DisplayName>");
    let group = |uri: &str| format!("xsi:type=\"Group\"><URI>{uri}</URI>");
    let bucket_owner = owners.other_bucket_owner().map(|b| user(&escape(b)));
    // Group grants first, then the owner's (the order S3-compatible servers use).
    let mut grants = match (acl, bucket_owner) {
        (CannedAcl::PublicRead, _) => grant(group(ALL_USERS), "READ"),
        (CannedAcl::PublicReadWrite, _) => grant(group(ALL_USERS), "READ") + &grant(group(ALL_USERS), "WRITE"),
        (CannedAcl::AuthenticatedRead, _) => grant(group(AUTHENTICATED_USERS), "READ"),
        (CannedAcl::BucketOwnerRead, Some(b)) => grant(b, "READ"),
        (CannedAcl::BucketOwnerFullControl, Some(b)) => grant(b, "FULL_CONTROL"),
        (CannedAcl::Private | CannedAcl::BucketOwnerRead | CannedAcl::BucketOwnerFullControl, _) => String::new(),
    };
    grants += &grant(user(&o), "FULL_CONTROL");
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AccessControlPolicy {NS}><Owner><ID>{o}</ID><DisplayName>{o}</DisplayName></Owner>\
<AccessControlList>{grants}</AccessControlList></AccessControlPolicy>"
    )
}

#[derive(Deserialize)]
struct Policy {
    #[serde(rename = "AccessControlList", default)]
    list: Option<GrantList>,
}

#[derive(Deserialize)]
struct GrantList {
    #[serde(rename = "Grant", default)]
    grants: Vec<Grant>,
}

#[derive(Deserialize)]
struct Grant {
    #[serde(rename = "Grantee")]
    grantee: Grantee,
    #[serde(rename = "Permission")]
    permission: String,
}

#[derive(Deserialize)]
struct Grantee {
    #[serde(rename = "ID", default)]
    id: Option<String>,
    #[serde(rename = "URI", default)]
    uri: Option<String>,
}

/// Stands for the bucket's owner among a document's grantees.
const BUCKET_OWNER: &str = "bucket-owner";

/// The canned ACL a PutBucketAcl/PutObjectAcl document expresses. Grants to
/// the owner are implied; anything beyond the canned shapes is NotImplemented.
pub fn parse(body: &[u8], owners: Owners<'_>) -> Result<CannedAcl, S3Error> {
    let text = std::str::from_utf8(body).map_err(|_| S3Error::new(C::MalformedACLError))?;
    let policy: Policy = quick_xml::de::from_str(text).map_err(|_| S3Error::new(C::MalformedACLError))?;
    let mut others: Vec<(&str, &str)> = Vec::new();
    let bucket_owner = owners.other_bucket_owner();
    for g in policy.list.iter().flat_map(|l| l.grants.iter()) {
        match (g.grantee.id.as_deref(), g.grantee.uri.as_deref()) {
            (Some(id), None) if id == owners.owner => {}
            (Some(id), None) if Some(id) == bucket_owner => others.push((BUCKET_OWNER, g.permission.as_str())),
            (None, Some(uri)) if uri == ALL_USERS || uri == AUTHENTICATED_USERS => {
                others.push((uri, g.permission.as_str()));
            }
            _ => return Err(unsupported()),
        }
    }
    others.sort_unstable();
    others.dedup();
    match others.as_slice() {
        [] => Ok(CannedAcl::Private),
        [(ALL_USERS, "READ")] => Ok(CannedAcl::PublicRead),
        [(ALL_USERS, "READ"), (ALL_USERS, "WRITE")] => Ok(CannedAcl::PublicReadWrite),
        [(AUTHENTICATED_USERS, "READ")] => Ok(CannedAcl::AuthenticatedRead),
        [(BUCKET_OWNER, "READ")] => Ok(CannedAcl::BucketOwnerRead),
        [(BUCKET_OWNER, "FULL_CONTROL")] => Ok(CannedAcl::BucketOwnerFullControl),
        _ => Err(unsupported()),
    }
}

fn unsupported() -> S3Error {
    S3Error::with_message(
        C::NotImplemented,
        "Only the canned ACLs private, public-read, public-read-write, authenticated-read, bucket-owner-read and bucket-owner-full-control are supported.",
    )
}

/// The canned ACL of an `x-amz-acl` header value; explicit `x-amz-grant-*`
/// headers are not supported.
pub fn from_header(value: &str) -> Result<CannedAcl, S3Error> {
    CannedAcl::parse(value.trim())
        .ok_or_else(|| S3Error::with_message(C::InvalidArgument, format!("Invalid canned ACL: {}", value.trim())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_documents_parse_back() {
        for acl in [CannedAcl::Private, CannedAcl::PublicRead, CannedAcl::PublicReadWrite, CannedAcl::AuthenticatedRead]
        {
            let doc = render(Owners::one("own<er"), acl);
            assert!(doc.contains("<ID>own&lt;er</ID>") && doc.contains("FULL_CONTROL"), "{doc}");
            assert_eq!(parse(doc.as_bytes(), Owners::one("own<er")).unwrap(), acl, "{doc}");
        }
        assert!(render(Owners::one("o"), CannedAcl::PublicRead)
            .contains("<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>"));
    }

    #[test]
    fn an_object_another_project_owns_names_the_bucket_owner() {
        let owners = Owners { owner: "writer", bucket_owner: Some("bkt-owner") };
        for acl in CannedAcl::ALL {
            let doc = render(owners, acl);
            assert!(doc.contains("<Owner><ID>writer</ID>"), "{doc}");
            let names_bucket_owner = doc.contains("<ID>bkt-owner</ID>");
            let expected = matches!(acl, CannedAcl::BucketOwnerRead | CannedAcl::BucketOwnerFullControl);
            assert_eq!(names_bucket_owner, expected, "{doc}");
            // Private and the bucket-owner ACLs are one document when the owners are one.
            assert_eq!(parse(doc.as_bytes(), owners).unwrap(), acl, "{doc}");
        }
        let read = render(owners, CannedAcl::BucketOwnerRead);
        assert!(read.contains("<ID>bkt-owner</ID><DisplayName>bkt-owner</DisplayName></Grantee><Permission>READ"));
        // The bucket owner's grants are the owner's own on its own objects.
        assert_eq!(
            render(Owners::one("o"), CannedAcl::BucketOwnerFullControl),
            render(Owners::one("o"), CannedAcl::Private)
        );
    }

    #[test]
    fn other_grants_are_refused() {
        let grant = |grantee: &str, p: &str| {
            format!(
                "<AccessControlPolicy><Owner><ID>o</ID></Owner><AccessControlList><Grant><Grantee {XSI} {grantee}</Grantee>\
                 <Permission>{p}</Permission></Grant></AccessControlList></AccessControlPolicy>"
            )
        };
        let other_user = grant("xsi:type=\"CanonicalUser\"><ID>someone</ID>", "READ");
        assert_eq!(parse(other_user.as_bytes(), Owners::one("o")).unwrap_err().code, C::NotImplemented);
        let all_write_only = grant(&format!("xsi:type=\"Group\"><URI>{ALL_USERS}</URI>"), "WRITE");
        assert_eq!(parse(all_write_only.as_bytes(), Owners::one("o")).unwrap_err().code, C::NotImplemented);
        assert_eq!(parse(b"<nope", Owners::one("o")).unwrap_err().code, C::MalformedACLError);
        // The bucket owner is another account only on an object another project owns.
        let to_bucket_owner = grant("xsi:type=\"CanonicalUser\"><ID>b</ID>", "WRITE_ACP");
        let owners = Owners { owner: "o", bucket_owner: Some("b") };
        assert_eq!(parse(to_bucket_owner.as_bytes(), owners).unwrap_err().code, C::NotImplemented);
        assert_eq!(from_header(" public-read ").unwrap(), CannedAcl::PublicRead);
        assert_eq!(from_header("everyone").unwrap_err().code, C::InvalidArgument);
    }
}
