//! The console phase: the object browser's pages over the listing phase's
//! bucket, signed in as the operator. Each walk follows the page's own "Next
//! page" links from the first page to the last, so a 100k-key bucket is a
//! thousand page loads and the deep pages are timed like the first.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What the walks measured.
pub struct Walked {
    pub pages: u64,
    pub rows: u64,
    pub bytes: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub latencies_us: Vec<u64>,
}

/// One HTTP/1.1 request on a fresh connection; status, headers, body.
async fn request(addr: SocketAddr, head: &str, body: &str) -> Result<(u16, String, String), String> {
    let mut s = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    s.write_all(format!("{head}{body}").as_bytes()).await.map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), s.read_to_end(&mut buf))
        .await
        .map_err(|_| "timed out".to_owned())?
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&buf).into_owned();
    let (h, b) = text.split_once("\r\n\r\n").ok_or("no response head")?;
    let status = h.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or("no status")?;
    Ok((status, h.to_owned(), b.to_owned()))
}

/// Signs in as the operator; the session cookie.
async fn sign_in(addr: SocketAddr, access: &str, secret: &str) -> Result<String, String> {
    let form = format!("kind=operator&access_key={access}&secret_key={secret}");
    let head = format!(
        "POST /signin HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n",
        form.len()
    );
    let (status, h, _) = request(addr, &head, &form).await?;
    if status != 303 {
        return Err(format!("sign-in answered {status}"));
    }
    h.lines()
        .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
        .and_then(|c| c.split(';').next())
        .map(str::to_owned)
        .ok_or_else(|| "no session cookie".to_owned())
}

/// The page's "Next page" link, if any.
fn next_link(html: &str) -> Option<String> {
    let at = html.find("id=\"next-page\"")?;
    let start = html[..at].rfind("href=\"")? + 6;
    let end = start + html[start..].find('"')?;
    Some(html[start..end].replace("&#38;", "&").replace("&amp;", "&"))
}

/// `reps` walks through every page of the folder `folder` (query-encoded)
/// of `bucket`, `per` rows a page.
pub async fn walk(
    addr: SocketAddr,
    access: &str,
    secret: &str,
    bucket: &str,
    folder: &str,
    per: u32,
    reps: u32,
) -> Walked {
    let mut w = Walked { pages: 0, rows: 0, bytes: 0, errors: 0, first_error: None, latencies_us: Vec::new() };
    let cookie = match sign_in(addr, access, secret).await {
        Ok(c) => c,
        Err(e) => {
            w.errors = 1;
            w.first_error = Some(format!("console sign-in: {e}"));
            return w;
        }
    };
    for _ in 0..reps {
        let mut path = Some(format!("/buckets/{bucket}?prefix={folder}&per={per}"));
        while let Some(p) = path.take() {
            let head = format!("GET {p} HTTP/1.1\r\nhost: {addr}\r\ncookie: {cookie}\r\nconnection: close\r\n\r\n");
            let t0 = Instant::now();
            match request(addr, &head, "").await {
                Ok((200, _, body)) => {
                    w.latencies_us.push(t0.elapsed().as_micros() as u64);
                    w.pages += 1;
                    w.rows += body.matches("name=\"key\"").count() as u64;
                    w.bytes += body.len() as u64;
                    path = next_link(&body);
                }
                Ok((status, _, _)) => {
                    w.errors += 1;
                    w.first_error.get_or_insert_with(|| format!("GET {p}: {status}"));
                }
                Err(e) => {
                    w.errors += 1;
                    w.first_error.get_or_insert_with(|| format!("GET {p}: {e}"));
                }
            }
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_next_link() {
        let html = r#"<a class="button secondary" href="/buckets/b?after=k1&#38;page=2" id="next-page">Next page</a>"#;
        assert_eq!(next_link(html).as_deref(), Some("/buckets/b?after=k1&page=2"));
        assert_eq!(next_link("<p>no more</p>"), None);
    }
}
