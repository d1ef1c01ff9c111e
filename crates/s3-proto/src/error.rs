//! S3 errors: a code (with its HTTP status), a message, and the XML body.

use std::fmt;

macro_rules! codes {
    ($($name:ident = $status:literal, $msg:literal;)*) => {
        /// The S3 error codes Coffer produces, each with its HTTP status.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum S3ErrorCode { $($name),* }

        impl S3ErrorCode {
            /// The HTTP status S3 answers with.
            pub fn status(self) -> u16 { match self { $(S3ErrorCode::$name => $status),* } }
            /// The `<Code>` text.
            pub fn as_str(self) -> &'static str { match self { $(S3ErrorCode::$name => stringify!($name)),* } }
            /// The default human message.
            pub fn default_message(self) -> &'static str { match self { $(S3ErrorCode::$name => $msg),* } }
        }
    };
}

codes! {
    AccessDenied = 403, "Access Denied";
    AuthorizationHeaderMalformed = 400, "The authorization header is malformed.";
    AuthorizationQueryParametersError = 400, "The authorization query parameters are malformed.";
    BadDigest = 400, "The Content-MD5 or checksum you specified did not match what we received.";
    BucketAlreadyExists = 409, "The requested bucket name is not available.";
    BucketAlreadyOwnedByYou = 409, "Your previous request to create the named bucket succeeded and you already own it.";
    BucketNotEmpty = 409, "The bucket you tried to delete is not empty.";
    EntityTooLarge = 400, "Your proposed upload exceeds the maximum allowed object size.";
    EntityTooSmall = 400, "Your proposed upload is smaller than the minimum allowed object size.";
    IncorrectNumberOfFilesInPostRequest = 400, "POST requires exactly one file upload per request.";
    IncompleteBody = 400, "You did not provide the number of bytes specified by the Content-Length HTTP header.";
    InsufficientStorage = 507, "The server has no storage space left for this request; retry later.";
    InternalError = 500, "We encountered an internal error. Please try again.";
    InvalidAccessKeyId = 403, "The AWS access key Id you provided does not exist in our records.";
    InvalidArgument = 400, "Invalid Argument";
    InvalidBucketName = 400, "The specified bucket is not valid.";
    InvalidDigest = 400, "The Content-MD5 you specified is not valid.";
    AccessControlListNotSupported = 400, "The bucket does not allow ACLs";
    InvalidBucketAclWithObjectOwnership = 400, "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting";
    OwnershipControlsNotFoundError = 404, "The bucket ownership controls were not found";
    InvalidTag = 400, "The tag provided was not a valid tag.";
    InvalidLocationConstraint = 400, "The specified location constraint is not valid.";
    InvalidPolicyDocument = 400, "The content of the form does not meet the conditions specified in the policy document.";
    InvalidPart = 400, "One or more of the specified parts could not be found.";
    InvalidPartOrder = 400, "The list of parts was not in ascending order.";
    InvalidRange = 416, "The requested range is not satisfiable";
    InvalidRequest = 400, "Invalid Request";
    InvalidStorageClass = 400, "The storage class you specified is not valid";
    KeyTooLongError = 400, "Your key is too long.";
    MalformedPolicy = 400, "Policies must be valid JSON and the first byte must be '{'";
    MalformedACLError = 400, "The XML you provided was not well-formed or did not validate against our published schema.";
    MalformedPOSTRequest = 400, "The body of your POST request is not well-formed multipart/form-data.";
    MalformedXML = 400, "The XML you provided was not well-formed or did not validate against our published schema.";
    MaxPostPreDataLengthExceededError = 400, "Your POST request fields preceding the upload file were too large.";
    MetadataTooLarge = 400, "Your metadata headers exceed the maximum allowed metadata size.";
    MethodNotAllowed = 405, "The specified method is not allowed against this resource.";
    MissingContentLength = 411, "You must provide the Content-Length HTTP header.";
    MissingSecurityHeader = 400, "Your request is missing a required header.";
    NoSuchBucket = 404, "The specified bucket does not exist.";
    NoSuchBucketPolicy = 404, "The bucket policy does not exist";
    NoSuchCORSConfiguration = 404, "The CORS configuration does not exist";
    NoSuchLifecycleConfiguration = 404, "The lifecycle configuration does not exist";
    NoSuchPublicAccessBlockConfiguration = 404, "The public access block configuration was not found";
    NoSuchTagSet = 404, "The TagSet does not exist";
    NoSuchWebsiteConfiguration = 404, "The specified bucket does not have a website configuration";
    ObjectLockConfigurationNotFoundError = 404, "Object Lock configuration does not exist for this bucket";
    ReplicationConfigurationNotFoundError = 404, "The replication configuration was not found";
    ServerSideEncryptionConfigurationNotFoundError = 404, "The server side encryption configuration was not found";
    NoSuchKey = 404, "The specified key does not exist.";
    NoSuchUpload = 404, "The specified multipart upload does not exist.";
    NoSuchVersion = 404, "The specified version does not exist.";
    InvalidRetentionPeriod = 400, "The retention period must be a positive integer.";
    NoSuchObjectLockConfiguration = 404, "The specified object does not have a ObjectLock configuration";
    InvalidBucketState = 409, "The request is not valid with the current state of the bucket.";
    IllegalVersioningConfigurationException = 400, "The versioning configuration specified in the request is invalid.";
    NotImplemented = 501, "A header or operation you provided implies functionality that is not implemented.";
    NotModified = 304, "Not Modified";
    OperationAborted = 409, "A conflicting operation is in progress against this resource. Please try again.";
    PermanentRedirect = 301, "The bucket you are attempting to access must be addressed using the specified endpoint. Please send all future requests to this endpoint.";
    PreconditionFailed = 412, "At least one of the preconditions you specified did not hold.";
    QuotaExceeded = 403, "The request would exceed a storage quota.";
    RequestHeaderSectionTooLarge = 400, "Your request header section exceeds the maximum allowed size.";
    RequestTimeTooSkewed = 403, "The difference between the request time and the server's time is too large.";
    RequestTimeout = 400, "Your socket connection to the server was not read from or written to within the timeout period.";
    ServiceUnavailable = 503, "Service is unable to handle request.";
    SlowDown = 503, "Please reduce your request rate.";
    SignatureDoesNotMatch = 403, "The request signature we calculated does not match the signature you provided. Check your key and signing method.";
    UnexpectedContent = 400, "This request does not support content.";
    XAmzContentSHA256Mismatch = 400, "The provided 'x-amz-content-sha256' header does not match what was computed.";
}

/// An S3 error ready to render. The request id and resource are filled in by
/// the HTTP layer when it renders the response.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Error {
    pub code: S3ErrorCode,
    pub message: String,
    /// Extra elements after `<Message>` (e.g. `StringToSign`, `ServerTime`).
    pub extra: Vec<(&'static str, String)>,
    /// Response headers the error carries (e.g. `x-amz-bucket-region`).
    pub headers: Vec<(&'static str, String)>,
}

impl S3Error {
    /// An error with the code's default message.
    pub fn new(code: S3ErrorCode) -> Self {
        S3Error { code, message: code.default_message().to_owned(), extra: Vec::new(), headers: Vec::new() }
    }

    /// An error with a specific message.
    pub fn with_message(code: S3ErrorCode, message: impl Into<String>) -> Self {
        S3Error { code, message: message.into(), extra: Vec::new(), headers: Vec::new() }
    }

    /// Adds an extra element to the XML body.
    pub fn with_extra(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.extra.push((name, value.into()));
        self
    }

    /// Adds a response header.
    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// The XML error document.
    pub fn to_xml(&self, resource: &str, request_id: &str) -> String {
        use quick_xml::escape::escape;
        let mut s = String::with_capacity(256);
        s.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
        s.push_str(self.code.as_str());
        s.push_str("</Code><Message>");
        s.push_str(&escape(self.message.as_str()));
        s.push_str("</Message>");
        for (name, value) in &self.extra {
            s.push_str(&format!("<{name}>{}</{name}>", escape(value.as_str())));
        }
        s.push_str("<Resource>");
        s.push_str(&escape(resource));
        s.push_str("</Resource><RequestId>");
        s.push_str(&escape(request_id));
        s.push_str("</RequestId></Error>");
        s
    }
}

impl From<S3ErrorCode> for S3Error {
    fn from(code: S3ErrorCode) -> Self {
        S3Error::new(code)
    }
}

impl fmt::Display for S3Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for S3Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_escaped_xml() {
        let e = S3Error::with_message(S3ErrorCode::NoSuchKey, "no <key>").with_extra("Key", "a&b");
        let x = e.to_xml("/b/a&b", "req-1");
        assert!(x.contains("<Code>NoSuchKey</Code>"));
        assert!(x.contains("<Message>no &lt;key&gt;</Message>"));
        assert!(x.contains("<Key>a&amp;b</Key>"));
        assert!(x.contains("<Resource>/b/a&amp;b</Resource><RequestId>req-1</RequestId>"));
        assert_eq!(e.status(), 404);
        assert_eq!(S3ErrorCode::InvalidRange.status(), 416);
    }
}
