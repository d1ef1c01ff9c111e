//! The `multipart/form-data` body of a POST upload: the fields before the
//! file are read into memory (bounded), the file itself stays a stream.
//!
//! S3 reads the form in order: every field that matters comes before the
//! part named `file`, and anything after the file is ignored.

use crate::{S3Error, S3ErrorCode as C};
use bytes::Bytes;
use futures::stream::{BoxStream, Stream};
use futures::{StreamExt, TryStreamExt};

/// The most bytes of field names and values accepted before the file.
pub const MAX_FIELDS_BYTES: usize = 64 * 1024;

/// The most raw bytes (preamble, boundaries, part headers, field values)
/// pulled from the body before the file part is found. The parser buffers
/// everything until it sees a boundary or the end of a part's headers, so
/// without this a body that never gets there would be held in memory whole.
pub const MAX_PRE_FILE_BYTES: u64 = 2 * MAX_FIELDS_BYTES as u64;

/// The form fields that preceded the file, in order. Names keep their case
/// as sent; lookups ignore it (S3 treats field names case-insensitively).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FormFields(Vec<(String, String)>);

impl FormFields {
    /// Fields from `(name, value)` pairs (for tests and callers that build forms).
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        FormFields(pairs.into_iter().collect())
    }

    /// The first field of that name, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Replaces the value of the first field of that name (case-insensitive).
    pub fn set(&mut self, name: &str, value: String) {
        if let Some(f) = self.0.iter_mut().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            f.1 = value;
        }
    }

    /// Every field as `(name, value)`, in form order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

/// The uploaded file: its name and type as the browser sent them, and its bytes.
pub struct FileField {
    pub filename: Option<String>,
    pub content_type: Option<String>,
    /// The file's bytes; ends with an error if the form is cut short.
    pub body: BoxStream<'static, Result<Bytes, S3Error>>,
}

impl std::fmt::Debug for FileField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileField").field("filename", &self.filename).field("content_type", &self.content_type).finish()
    }
}

/// The boundary of a `multipart/form-data` content type.
///
/// Anything else is refused as S3 does: 412 with the reason.
pub fn boundary(content_type: Option<&str>) -> Result<String, S3Error> {
    let not_form = || {
        S3Error::with_message(C::PreconditionFailed, "Bucket POST must be of the enclosure-type multipart/form-data")
            .with_extra("Condition", "Bucket POST must be of the enclosure-type multipart/form-data")
    };
    let ct = content_type.ok_or_else(not_form)?;
    let mime = ct.split(';').next().unwrap_or("").trim();
    if !mime.eq_ignore_ascii_case("multipart/form-data") {
        return Err(not_form());
    }
    multer::parse_boundary(ct)
        .map_err(|_| S3Error::with_message(C::MalformedPOSTRequest, "The multipart boundary is missing."))
}

fn malformed(e: multer::Error) -> S3Error {
    match e {
        multer::Error::IncompleteFieldData { .. }
        | multer::Error::IncompleteStream
        | multer::Error::StreamReadFailed(_) => {
            S3Error::with_message(C::IncompleteBody, "The POST body ended before the form was complete.")
        }
        other => S3Error::with_message(
            C::MalformedPOSTRequest,
            format!("{}: {other}", C::MalformedPOSTRequest.default_message()),
        ),
    }
}

/// Reads the fields up to the part named `file` and returns them with the
/// file's byte stream. Field values must be UTF-8.
pub async fn read<S, E>(boundary: String, body: S) -> Result<(FormFields, FileField), S3Error>
where
    S: Stream<Item = Result<Bytes, E>> + Send + 'static,
    E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
{
    let guard = PreFile::default();
    let body = guard.clone().wrap(body);
    let mut form = multer::Multipart::new(body, boundary);
    let mut fields = Vec::new();
    let mut budget = MAX_FIELDS_BYTES;
    let too_large = || S3Error::new(C::MaxPostPreDataLengthExceededError);
    let failed = |e: multer::Error| if guard.tripped() { too_large() } else { malformed(e) };
    loop {
        let Some(mut field) = form.next_field().await.map_err(failed)? else {
            return Err(S3Error::new(C::IncorrectNumberOfFilesInPostRequest));
        };
        let name = field.name().unwrap_or("").to_owned();
        if name.eq_ignore_ascii_case("file") {
            guard.open();
            let filename = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(|m| m.to_string());
            let body = field.map_err(malformed).boxed();
            return Ok((FormFields(fields), FileField { filename, content_type, body }));
        }
        budget = budget.checked_sub(name.len()).ok_or_else(too_large)?;
        let mut value = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(failed)? {
            budget = budget.checked_sub(chunk.len()).ok_or_else(too_large)?;
            value.extend_from_slice(&chunk);
        }
        let value = String::from_utf8(value).map_err(|_| {
            S3Error::with_message(C::InvalidArgument, format!("The form field {name} is not valid UTF-8."))
        })?;
        fields.push((name, value));
    }
}

/// The most bytes handed to the multipart parser in one go. The parser
/// (multer) drains its input until the input has nothing ready, so a client
/// sending faster than the file is consumed would otherwise have its whole
/// body buffered; after this many bytes the input says "not ready" once
/// (and wakes itself), which hands control back to the parser.
const BURST: u64 = 64 * 1024;

/// The body as the multipart parser sees it: in bursts of at most [`BURST`]
/// bytes, and failing once more than [`MAX_PRE_FILE_BYTES`] have passed
/// before the file part, so memory before the file is bounded by that plus
/// one burst.
#[derive(Clone, Default)]
struct PreFile(std::sync::Arc<PreFileState>);

#[derive(Default)]
struct PreFileState {
    seen: std::sync::atomic::AtomicU64,
    open: std::sync::atomic::AtomicBool,
    tripped: std::sync::atomic::AtomicBool,
}

impl PreFile {
    fn open(&self) {
        self.0.open.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    fn tripped(&self) -> bool {
        self.0.tripped.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn wrap<S, E>(self, body: S) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static
    where
        S: Stream<Item = Result<Bytes, E>> + Send + 'static,
        E: Into<Box<dyn std::error::Error + Send + Sync>> + 'static,
    {
        use std::sync::atomic::Ordering::Relaxed;
        use std::task::Poll;
        let mut inner = Box::pin(body);
        let mut burst = 0u64;
        futures::stream::poll_fn(move |cx| {
            if burst >= BURST {
                burst = 0;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let chunk = match inner.as_mut().poll_next(cx) {
                Poll::Pending => {
                    burst = 0;
                    return Poll::Pending;
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(std::io::Error::other(e)))),
                Poll::Ready(Some(Ok(chunk))) => chunk,
            };
            burst += chunk.len() as u64;
            let st = &self.0;
            if !st.open.load(Relaxed) && st.seen.fetch_add(chunk.len() as u64, Relaxed) > MAX_PRE_FILE_BYTES {
                st.tripped.store(true, Relaxed);
                return Poll::Ready(Some(Err(std::io::Error::other("form fields before the file too large"))));
            }
            Poll::Ready(Some(Ok(chunk)))
        })
    }
}
