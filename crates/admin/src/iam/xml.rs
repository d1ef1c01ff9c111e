//! IAM's XML documents, written by hand: a small element writer with
//! escaping, the `{Action}Response` envelope and the `ErrorResponse`.

use super::errors::ApiError;

/// The namespace of every IAM document.
pub(crate) const NS: &str = "https://iam.amazonaws.com/doc/2010-05-08/";

/// Builds XML text element by element.
#[derive(Default)]
pub(crate) struct Xml {
    out: String,
}

impl Xml {
    pub fn new() -> Self {
        Xml::default()
    }

    /// `<tag>`.
    pub fn open(&mut self, tag: &str) -> &mut Self {
        self.out.push('<');
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// `</tag>`.
    pub fn close(&mut self, tag: &str) -> &mut Self {
        self.out.push_str("</");
        self.out.push_str(tag);
        self.out.push('>');
        self
    }

    /// `<tag>text</tag>`, the text escaped.
    pub fn elem(&mut self, tag: &str, text: &str) -> &mut Self {
        self.open(tag);
        escape_into(&mut self.out, text);
        self.close(tag)
    }

    /// `<IsTruncated>` and, when truncated, `<Marker>`.
    pub fn paging(&mut self, next: Option<&str>) -> &mut Self {
        self.elem("IsTruncated", if next.is_some() { "true" } else { "false" });
        if let Some(m) = next {
            self.elem("Marker", m);
        }
        self
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// Appends `s` with `& < > " '` escaped.
fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// `<{Action}Response>` with `<{Action}Result>` (when the action has one)
/// and the request id.
pub(crate) fn response(action: &str, result: Option<&str>, request_id: &str) -> String {
    let mut x = Xml::new();
    x.out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.out.push_str(&format!("<{action}Response xmlns=\"{NS}\">"));
    if let Some(r) = result {
        let tag = format!("{action}Result");
        x.open(&tag);
        x.out.push_str(r);
        x.close(&tag);
    }
    x.open("ResponseMetadata").elem("RequestId", request_id).close("ResponseMetadata");
    x.close(&format!("{action}Response"));
    x.finish()
}

/// The `ErrorResponse` document of `e`.
pub(crate) fn error(e: &ApiError, request_id: &str) -> String {
    let mut x = Xml::new();
    x.out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.out.push_str(&format!("<ErrorResponse xmlns=\"{NS}\">"));
    x.open("Error").elem("Type", e.kind()).elem("Code", e.code.as_str()).elem("Message", &e.message).close("Error");
    x.elem("RequestId", request_id).close("ErrorResponse");
    x.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iam::errors::Code;

    #[test]
    fn documents_are_escaped_and_enveloped() {
        let mut x = Xml::new();
        x.open("User").elem("UserName", "a<b>&\"c'").close("User");
        let inner = x.finish();
        assert_eq!(inner, "<User><UserName>a&lt;b&gt;&amp;&quot;c&apos;</UserName></User>");
        let doc = response("GetUser", Some(&inner), "RID");
        assert!(doc.contains(&format!("<GetUserResponse xmlns=\"{NS}\"><GetUserResult><User>")));
        assert!(doc.ends_with(
            "</GetUserResult><ResponseMetadata><RequestId>RID</RequestId></ResponseMetadata></GetUserResponse>"
        ));
        let doc = response("DeleteUser", None, "RID");
        assert!(doc.contains("<DeleteUserResponse") && !doc.contains("DeleteUserResult"));
        let doc = error(&ApiError::new(Code::NoSuchEntity, "no <one>"), "RID");
        assert!(doc.contains("<Error><Type>Sender</Type><Code>NoSuchEntity</Code><Message>no &lt;one&gt;</Message></Error><RequestId>RID</RequestId></ErrorResponse>"));
        let doc = error(&ApiError::new(Code::ServiceFailure, "x"), "RID");
        assert!(doc.contains("<Type>Receiver</Type>"));
    }
}
