//! The `VersioningConfiguration` document of Put/GetBucketVersioning.

use crate::error::{S3Error, S3ErrorCode as C};
use crate::xml::{self, NS};
use coffer_types::Versioning;
use serde::Deserialize;

#[derive(Deserialize, Debug)]
struct Doc {
    #[serde(rename = "Status", default)]
    status: Option<String>,
    #[serde(rename = "MfaDelete", default)]
    mfa_delete: Option<String>,
}

/// The state a PutBucketVersioning document asks for. `MfaDelete` can only
/// be `Disabled` (MFA is not built: `NotImplemented` rather than a setting
/// that would silently do nothing); a missing or other `Status` is S3's
/// `IllegalVersioningConfigurationException`.
pub fn parse(body: &[u8]) -> Result<Versioning, S3Error> {
    let d: Doc = xml::parse(body)?;
    match d.mfa_delete.as_deref().map(str::trim) {
        None | Some("Disabled") => {}
        Some("Enabled") => {
            return Err(S3Error::with_message(C::NotImplemented, "MFA Delete is not implemented by this server."))
        }
        Some(_) => return Err(S3Error::new(C::MalformedXML)),
    }
    match d.status.as_deref().map(str::trim) {
        Some("Enabled") => Ok(Versioning::Enabled),
        Some("Suspended") => Ok(Versioning::Suspended),
        _ => Err(S3Error::new(C::IllegalVersioningConfigurationException)),
    }
}

/// The GetBucketVersioning document (empty while the bucket is unversioned).
pub fn render(v: Versioning) -> String {
    let body = match v.status() {
        None => format!("<VersioningConfiguration xmlns=\"{NS}\"/>"),
        Some(s) => format!("<VersioningConfiguration xmlns=\"{NS}\"><Status>{s}</Status></VersioningConfiguration>"),
    };
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents() {
        let ok = |d: &str| parse(d.as_bytes());
        assert_eq!(
            ok("<VersioningConfiguration><Status>Enabled</Status></VersioningConfiguration>").unwrap(),
            Versioning::Enabled
        );
        let suspended = r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Suspended</Status><MfaDelete>Disabled</MfaDelete></VersioningConfiguration>"#;
        assert_eq!(ok(suspended).unwrap(), Versioning::Suspended);
        let code = |d: &str| ok(d).unwrap_err().code;
        assert_eq!(code("<VersioningConfiguration/>"), C::IllegalVersioningConfigurationException);
        assert_eq!(
            code("<VersioningConfiguration><Status>On</Status></VersioningConfiguration>"),
            C::IllegalVersioningConfigurationException
        );
        let mfa =
            "<VersioningConfiguration><Status>Enabled</Status><MfaDelete>Enabled</MfaDelete></VersioningConfiguration>";
        assert_eq!(code(mfa), C::NotImplemented);
        assert_eq!(code("<Versioning"), C::MalformedXML);
        assert!(render(Versioning::Unversioned).ends_with("/>"));
        assert!(render(Versioning::Suspended).contains("<Status>Suspended</Status>"));
        assert_eq!(
            parse(render(Versioning::Enabled).as_bytes()).unwrap(),
            Versioning::Enabled,
            "what is rendered parses"
        );
    }
}
