//! Who signed a POST form: SigV4 (`x-amz-credential`, `x-amz-date`,
//! `x-amz-signature`: hex HMAC-SHA256 of the base64 policy under the SigV4
//! signing key) or SigV2 (`AWSAccessKeyId`, `signature`: base64 HMAC-SHA1
//! of the base64 policy under the secret).

use super::form::FormFields;
use crate::sigv4::{self, crypto};
use crate::{S3Error, S3ErrorCode as C};
use base64::Engine as _;
use hmac::{Hmac, Mac};

/// The signature fields of a POST form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostSignature {
    V4 { access_key: String, date: String, region: String, service: String, signature: [u8; 32] },
    V2 { access_key: String, signature: Vec<u8> },
}

fn missing(field: &str) -> S3Error {
    S3Error::with_message(
        C::InvalidArgument,
        format!("Bucket POST must contain a field named '{field}'.  If it is specified, please check the order of the fields."),
    )
    .with_extra("ArgumentName", field)
}

impl PostSignature {
    /// The signature of a form that carries a `policy`; `None` for a form
    /// without one (an anonymous upload).
    pub fn parse(fields: &FormFields) -> Result<Option<Self>, S3Error> {
        if fields.get("policy").is_none() {
            return Ok(None);
        }
        if let Some(algorithm) = fields.get("x-amz-algorithm") {
            if algorithm != "AWS4-HMAC-SHA256" {
                return Err(S3Error::with_message(
                    C::InvalidArgument,
                    format!("Unsupported x-amz-algorithm {algorithm}; expecting AWS4-HMAC-SHA256."),
                ));
            }
            let credential = fields.get("x-amz-credential").ok_or_else(|| missing("x-amz-credential"))?;
            let cred = sigv4::parse::parse_credential(credential)
                .map_err(|m| S3Error::with_message(C::InvalidArgument, format!("Invalid x-amz-credential: {m}")))?;
            let amz_date = fields.get("x-amz-date").ok_or_else(|| missing("x-amz-date"))?;
            if sigv4::parse::parse_amz_date(amz_date).is_none() || !amz_date.starts_with(cred.date) {
                return Err(S3Error::with_message(
                    C::InvalidArgument,
                    "x-amz-date must be YYYYMMDDTHHMMSSZ on the day of the credential scope.",
                ));
            }
            let sig = fields.get("x-amz-signature").ok_or_else(|| missing("x-amz-signature"))?;
            let signature = crypto::parse_hex32(sig.trim()).ok_or_else(|| S3Error::new(C::SignatureDoesNotMatch))?;
            return Ok(Some(PostSignature::V4 {
                access_key: cred.access_key.to_owned(),
                date: cred.date.to_owned(),
                region: cred.region.to_owned(),
                service: cred.service.to_owned(),
                signature,
            }));
        }
        let access_key = fields.get("AWSAccessKeyId").ok_or_else(|| missing("AWSAccessKeyId"))?;
        let sig = fields.get("signature").ok_or_else(|| missing("signature"))?;
        let signature = base64::engine::general_purpose::STANDARD
            .decode(sig.trim())
            .map_err(|_| S3Error::new(C::SignatureDoesNotMatch))?;
        Ok(Some(PostSignature::V2 { access_key: access_key.to_owned(), signature }))
    }

    /// The access key that signed the form.
    pub fn access_key(&self) -> &str {
        match self {
            PostSignature::V4 { access_key, .. } | PostSignature::V2 { access_key, .. } => access_key,
        }
    }

    /// Checks the signature over `policy_b64` (the field exactly as sent).
    pub fn verify(&self, secret: &str, policy_b64: &str, region: &str) -> Result<(), S3Error> {
        match self {
            PostSignature::V4 { date, region: scope_region, service, signature, .. } => {
                if scope_region != region {
                    return Err(S3Error::with_message(
                        C::InvalidArgument,
                        format!("the region '{scope_region}' is wrong; expecting '{region}'"),
                    ));
                }
                if service != "s3" {
                    return Err(S3Error::with_message(
                        C::InvalidArgument,
                        format!("the service '{service}' is wrong; expecting 's3'"),
                    ));
                }
                let key = crypto::signing_key(secret, date, region, "s3");
                let want = crypto::hmac_sha256(&key, policy_b64.as_bytes());
                if crypto::ct_eq(&want, signature) {
                    Ok(())
                } else {
                    Err(S3Error::new(C::SignatureDoesNotMatch))
                }
            }
            PostSignature::V2 { signature, .. } => {
                // HMAC takes keys of any length, so this cannot fail.
                let mut mac =
                    <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
                mac.update(policy_b64.as_bytes());
                mac.verify_slice(signature).map_err(|_| S3Error::new(C::SignatureDoesNotMatch))
            }
        }
    }
}

/// Signs a policy as a browser form's issuer would (SigV4): the hex
/// signature for `x-amz-signature`. For tests and tools.
pub fn sign_v4(secret: &str, date: &str, region: &str, policy_b64: &str) -> String {
    hex::encode(crypto::hmac_sha256(&crypto::signing_key(secret, date, region, "s3"), policy_b64.as_bytes()))
}

/// Signs a policy the SigV2 way: the base64 value of the `signature` field.
pub fn sign_v2(secret: &str, policy_b64: &str) -> String {
    let mut mac = <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(policy_b64.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}
