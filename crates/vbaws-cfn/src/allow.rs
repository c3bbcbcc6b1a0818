//! Which ResponseURLs the function may answer to.
//!
//! Anyone in the organization who may invoke the function can hand-craft an event, and the PUT
//! goes wherever its ResponseURL points: without a check, the function would send requests to
//! anything its VPC reaches. CloudFormation's ResponseURLs are pre-signed S3 URLs
//! (`https://cloudformation-custom-resource-response-<region>.s3.<region>.amazonaws.com/…`), so
//! by default only `https` URLs whose host is an S3 endpoint of an AWS partition are accepted, on
//! the default port. `RESPONSE_URL_ALLOWED_HOSTS` adds hosts (and permits plain `http` for exactly
//! those), for local runs and tests.

use url::Url;

/// The DNS suffixes of the AWS partitions: commercial, China, European Sovereign Cloud, and the
/// US isolated regions.
const PARTITION_SUFFIXES: &[&str] = &[
    ".amazonaws.com",
    ".amazonaws.com.cn",
    ".amazonaws.eu",
    ".c2s.ic.gov",
    ".sc2s.sgov.gov",
];

/// Hosts added to the S3 endpoints, each `host` or `host:port`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseUrlPolicy {
    extra_hosts: Vec<String>,
}

impl ResponseUrlPolicy {
    /// Only S3 endpoints of AWS partitions.
    pub fn s3_only() -> Self {
        Self::default()
    }

    /// S3 endpoints, and these hosts (`host` or `host:port`, comma-separated).
    pub fn with_hosts(list: &str) -> Self {
        let extra_hosts = list
            .split(',')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect();
        Self { extra_hosts }
    }

    /// Why `url` may not receive an answer; `None` when it may.
    pub fn refusal(&self, url: &Url) -> Option<&'static str> {
        let host = url.host_str()?.to_ascii_lowercase();
        let with_port = url.port().map(|port| format!("{host}:{port}"));
        let listed = self
            .extra_hosts
            .iter()
            .any(|h| *h == host && url.port().is_none() || Some(h) == with_port.as_ref());
        match url.scheme() {
            "http" | "https" if listed => None,
            "https" if url.port().is_some() => {
                Some("the ResponseURL names a port, which S3 endpoints do not")
            }
            "https" if is_s3_endpoint(&host) => None,
            "https" => Some("the ResponseURL's host is not an S3 endpoint of an AWS partition"),
            _ => Some("the ResponseURL is not https"),
        }
    }
}

/// `bucket.s3.us-east-1.amazonaws.com`, `s3-eu-west-1.amazonaws.com`, `bucket.s3-fips.…`,
/// `bucket.vpce-….s3.us-east-1.vpce.amazonaws.com`: a host in a partition's domain with an
/// `s3` label (or one starting `s3-`) before it.
fn is_s3_endpoint(host: &str) -> bool {
    let Some(suffix) = PARTITION_SUFFIXES.iter().find(|suffix| host.ends_with(*suffix)) else {
        return false;
    };
    let labels = &host[..host.len() - suffix.len()];
    labels
        .split('.')
        .any(|label| label == "s3" || label.starts_with("s3-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(policy: &ResponseUrlPolicy, url: &str) -> Option<&'static str> {
        policy.refusal(&Url::parse(url).expect("url"))
    }

    #[test]
    fn cloudformation_response_urls_of_every_partition_are_accepted() {
        let policy = ResponseUrlPolicy::s3_only();
        for url in [
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3A/x?X-Amz-Signature=s",
            "https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/k?sig=1",
            "https://cloudformation-custom-resource-response-useast2.s3.us-east-2.amazonaws.com/k",
            "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/k",
            "https://bucket.s3-fips.us-gov-west-1.amazonaws.com/k",
            "https://bucket.vpce-0abc.s3.us-east-1.vpce.amazonaws.com/k",
            "https://s3.dualstack.eu-central-1.amazonaws.com/bucket/k",
            "https://b.s3.eusc-de-east-1.amazonaws.eu/k",
        ] {
            assert_eq!(refusal(&policy, url), None, "{url}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        let policy = ResponseUrlPolicy::s3_only();
        for url in [
            "http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k",
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:8443/k",
            "https://lambda.us-east-1.amazonaws.com/2015-03-31/functions",
            "https://s3.amazonaws.com.evil.example/k",
            "https://s3.example.com/k",
            "https://10.0.1.20:11005/api/v1/accounts/amazon",
            "https://169.254.169.254/latest/meta-data",
            "https://amazonaws.com/k",
        ] {
            assert!(refusal(&policy, url).is_some(), "{url}");
        }
    }

    #[test]
    fn listed_hosts_may_use_http_and_only_on_the_listed_port() {
        let policy = ResponseUrlPolicy::with_hosts(" 127.0.0.1:9000 , localhost");
        assert_eq!(refusal(&policy, "http://127.0.0.1:9000/b/k?sig=1"), None);
        assert_eq!(refusal(&policy, "http://localhost/b/k"), None);
        assert!(refusal(&policy, "http://127.0.0.1:9001/b/k").is_some());
        assert!(refusal(&policy, "http://localhost:8080/b/k").is_some());
        assert!(refusal(&policy, "http://10.0.0.1/b/k").is_some());
    }
}
