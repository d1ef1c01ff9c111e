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

/// The `AccessControlPolicy` of a bucket or object owned by `owner` with `acl`.
pub fn render(owner: &str, acl: CannedAcl) -> String {
    let o = escape(owner);
    let grant = |grantee: String, permission: &str| {
        format!("<Grant><Grantee {XSI} {grantee}</Grantee><Permission>{permission}</Permission></Grant>")
    };
    let user = format!("xsi:type=\"CanonicalUser\"><ID>{o}</ID><DisplayName>{o}</DisplayName>");
    let group = |uri: &str| format!("xsi:type=\"Group\"><URI>{uri}</URI>");
    // Group grants first, then the owner's (the order S3-compatible servers use).
    let mut grants = match acl {
        CannedAcl::PublicRead => grant(group(ALL_USERS), "READ"),
        CannedAcl::PublicReadWrite => grant(group(ALL_USERS), "READ") + &grant(group(ALL_USERS), "WRITE"),
        CannedAcl::AuthenticatedRead => grant(group(AUTHENTICATED_USERS), "READ"),
        CannedAcl::Private | CannedAcl::BucketOwnerRead | CannedAcl::BucketOwnerFullControl => String::new(),
    };
    grants += &grant(user, "FULL_CONTROL");
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

/// The canned ACL a PutBucketAcl/PutObjectAcl document expresses. Grants to
/// `owner` are implied; anything beyond the canned shapes is NotImplemented.
pub fn parse(body: &[u8], owner: &str) -> Result<CannedAcl, S3Error> {
    let text = std::str::from_utf8(body).map_err(|_| S3Error::new(C::MalformedACLError))?;
    let policy: Policy = quick_xml::de::from_str(text).map_err(|_| S3Error::new(C::MalformedACLError))?;
    let mut others: Vec<(&str, &str)> = Vec::new();
    for g in policy.list.iter().flat_map(|l| l.grants.iter()) {
        match (g.grantee.id.as_deref(), g.grantee.uri.as_deref()) {
            (Some(id), None) if id == owner => {}
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
        _ => Err(unsupported()),
    }
}

fn unsupported() -> S3Error {
    S3Error::with_message(
        C::NotImplemented,
        "Only the canned ACLs private, public-read, public-read-write and authenticated-read are supported.",
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
            let doc = render("own<er", acl);
            assert!(doc.contains("<ID>own&lt;er</ID>") && doc.contains("FULL_CONTROL"), "{doc}");
            assert_eq!(parse(doc.as_bytes(), "own<er").unwrap(), acl, "{doc}");
        }
        assert!(
            render("o", CannedAcl::PublicRead).contains("<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>")
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
        assert_eq!(parse(other_user.as_bytes(), "o").unwrap_err().code, C::NotImplemented);
        let all_write_only = grant(&format!("xsi:type=\"Group\"><URI>{ALL_USERS}</URI>"), "WRITE");
        assert_eq!(parse(all_write_only.as_bytes(), "o").unwrap_err().code, C::NotImplemented);
        assert_eq!(parse(b"<nope", "o").unwrap_err().code, C::MalformedACLError);
        assert_eq!(from_header(" public-read ").unwrap(), CannedAcl::PublicRead);
        assert_eq!(from_header("everyone").unwrap_err().code, C::InvalidArgument);
    }
}
