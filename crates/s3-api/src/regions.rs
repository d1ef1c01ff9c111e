//! The regions a deployment serves and the endpoint hosts of each: which
//! region a request reached, and where a bucket of another region lives.

/// One region and the host names of its S3 endpoint (without port).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegionEndpoint {
    pub name: String,
    /// Requests whose Host is one of these, or a bucket under one of them
    /// (virtual-hosted style), act in this region.
    pub hosts: Vec<String>,
}

/// Every served region; the first is the default.
#[derive(Clone, Debug)]
pub(crate) struct Regions {
    list: Vec<RegionEndpoint>,
}

fn host_only(host: &str) -> String {
    match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.ends_with(']') => h,
        _ => host,
    }
    .trim_end_matches('.')
    .to_ascii_lowercase()
}

impl Regions {
    /// `list` may be empty only if `fallback` names the single region.
    pub fn new(list: Vec<RegionEndpoint>, fallback: &str) -> Self {
        let list =
            if list.is_empty() { vec![RegionEndpoint { name: fallback.to_owned(), hosts: vec![] }] } else { list };
        Regions { list }
    }

    /// The default region.
    pub fn default(&self) -> &str {
        self.list.first().map_or("us-east-1", |r| r.name.as_str())
    }

    /// Whether this deployment serves `name`.
    pub fn serves(&self, name: &str) -> bool {
        self.list.iter().any(|r| r.name == name)
    }

    /// The region a Host header belongs to, if it names one's endpoint.
    pub fn of_host(&self, host: &str) -> Option<&str> {
        let h = host_only(host);
        self.list
            .iter()
            .find(|r| {
                r.hosts.iter().any(|e| {
                    let e = e.trim_end_matches('.').to_ascii_lowercase();
                    h == e || h.strip_suffix(&e).is_some_and(|rest| rest.ends_with('.'))
                })
            })
            .map(|r| r.name.as_str())
    }

    /// The first endpoint host of a region, for redirects.
    pub fn endpoint_of(&self, region: &str) -> Option<&str> {
        self.list.iter().find(|r| r.name == region).and_then(|r| r.hosts.first()).map(String::as_str)
    }

    /// Every endpoint host (each also a virtual-hosted domain).
    pub fn hosts(&self) -> impl Iterator<Item = &String> {
        self.list.iter().flat_map(|r| r.hosts.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_pick_regions() {
        let r = Regions::new(
            vec![
                RegionEndpoint { name: "eu-1".into(), hosts: vec!["s3.eu1.example.com".into(), "127.0.0.1".into()] },
                RegionEndpoint { name: "us-2".into(), hosts: vec!["s3.us2.example.com".into()] },
            ],
            "ignored",
        );
        assert_eq!(r.default(), "eu-1");
        assert_eq!(r.of_host("s3.us2.example.com:9000"), Some("us-2"));
        assert_eq!(r.of_host("Bucket.S3.US2.example.com"), Some("us-2"));
        assert_eq!(r.of_host("127.0.0.1:9000"), Some("eu-1"));
        assert_eq!(r.of_host("evils3.us2.example.com"), None);
        assert_eq!(r.of_host("localhost:9000"), None);
        assert!(r.serves("us-2") && !r.serves("mars"));
        assert_eq!(r.endpoint_of("us-2"), Some("s3.us2.example.com"));
        assert_eq!(Regions::new(vec![], "us-east-1").default(), "us-east-1");
    }
}
