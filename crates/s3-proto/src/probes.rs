//! What S3 answers to configuration reads that SDKs and GUI clients (the aws
//! CLI, Cyberduck, S3 Browser, rclone, MinIO clients) send while discovering a
//! bucket, for buckets that have no such configuration: an empty or default
//! document, or the specific `NoSuch…` error. Never 405 or 501 for these.
//! The operations answered here have the `Probe` trait in [`crate::ops`].

use crate::error::{S3Error, S3ErrorCode as C};

fn doc(body: &str) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{body}")
}

const NS: &str = "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"";

/// The GetBucketPolicyStatus document.
pub fn policy_status(is_public: bool) -> String {
    doc(&format!("<PolicyStatus {NS}><IsPublic>{is_public}</IsPublic></PolicyStatus>"))
}

/// The answer to GET `?{sub}` on a bucket with no such configuration.
pub fn bucket_probe(sub: &str) -> Result<String, S3Error> {
    let missing = |code: C, what: &str| Err(S3Error::with_message(code, format!("The {what} does not exist")));
    match sub {
        "logging" => Ok(doc(&format!("<BucketLoggingStatus {NS}/>"))),
        "notification" => Ok(doc(&format!("<NotificationConfiguration {NS}/>"))),
        "accelerate" => Ok(doc(&format!("<AccelerateConfiguration {NS}/>"))),
        "requestPayment" => Ok(doc(&format!("<RequestPaymentConfiguration {NS}><Payer>BucketOwner</Payer></RequestPaymentConfiguration>"))),
        "policyStatus" => Ok(policy_status(false)),
        "analytics" => Ok(doc(&format!("<ListBucketAnalyticsConfigurationResult {NS}><IsTruncated>false</IsTruncated></ListBucketAnalyticsConfigurationResult>"))),
        "inventory" => Ok(doc(&format!("<ListInventoryConfigurationsResult {NS}><IsTruncated>false</IsTruncated></ListInventoryConfigurationsResult>"))),
        "metrics" => Ok(doc(&format!("<ListMetricsConfigurationsResult {NS}><IsTruncated>false</IsTruncated></ListMetricsConfigurationsResult>"))),
        "intelligent-tiering" => Ok(doc(&format!("<ListBucketIntelligentTieringConfigurationsOutput {NS}><IsTruncated>false</IsTruncated></ListBucketIntelligentTieringConfigurationsOutput>"))),
        "website" => missing(C::NoSuchWebsiteConfiguration, "website configuration"),
        "encryption" => missing(C::ServerSideEncryptionConfigurationNotFoundError, "server side encryption configuration"),
        "replication" => missing(C::ReplicationConfigurationNotFoundError, "replication configuration"),
        other => Err(S3Error::with_message(C::NotImplemented, format!("{other} is not implemented by this server."))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_probe_has_a_defined_answer() {
        let probes = crate::ops::OPERATIONS.iter().filter_map(|s| s.op.probed());
        for p in probes {
            match bucket_probe(p) {
                Ok(x) => assert!(x.starts_with("<?xml") && x.contains("xmlns="), "{p}: {x}"),
                Err(e) => assert_eq!(e.status(), 404, "{p}: {e}"),
            }
        }
        assert_eq!(bucket_probe("select").unwrap_err().code, C::NotImplemented);
    }

    #[test]
    fn missing_configurations_have_their_codes() {
        assert_eq!(bucket_probe("encryption").unwrap_err().code, C::ServerSideEncryptionConfigurationNotFoundError);
    }
}
