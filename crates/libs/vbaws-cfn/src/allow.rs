//! Which ResponseURLs the function may answer to.
//!
//! Anyone in the organization who may invoke the function can hand-craft an event, and the PUT
//! goes wherever its ResponseURL points: without a check, the function would send requests to
//! anything its VPC reaches. CloudFormation's ResponseURLs are pre-signed S3 URLs
//! (`https://cloudformation-custom-resource-response-<region>.s3.<region>.amazonaws.com/…`, or
//! path-style), so by default only `https` URLs on the default port whose host is one of S3's own
//! endpoint names in an AWS partition are accepted ([`is_s3_endpoint`] says which). The rule
//! must never refuse a genuine answer: a refused answer leaves the stack waiting for an hour. `RESPONSE_URL_ALLOWED_HOSTS` adds hosts (and permits plain `http` for exactly
//! those), for local runs and tests.

use url::Url;

/// The DNS suffixes of the AWS partitions (as the SDKs' partition data names them): commercial,
/// China, European Sovereign Cloud, and the isolated regions (ISO, ISO-B, ISO-E, ISO-F).
pub(crate) const PARTITION_SUFFIXES: &[&str] = &[
    ".amazonaws.com",
    ".amazonaws.com.cn",
    ".amazonaws.eu",
    ".c2s.ic.gov",
    ".sc2s.sgov.gov",
    ".cloud.adc-e.uk",
    ".csp.hci.ic.gov",
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

/// True for S3's own endpoint names, read from the right: the partition's domain; then only the
/// labels S3's endpoint formats put there (`vpce`, a Region, `dualstack`, `fips`); then S3's
/// service label (`s3`, `s3-fips`, `s3-<region>`, `s3-fips-<region>`, `s3-external-1`). Whatever
/// stands left of that is a bucket or a VPC endpoint's ID, in S3's own namespace.
///
/// Why so strict: other services put a name their users choose first (a load balancer `s3-x` at
/// `s3-x-<id>.<region>.elb.amazonaws.com`, a database `s3` at `s3.<id>.<region>.rds.amazonaws.com`),
/// and a forged event must not turn the function into a client of those.
fn is_s3_endpoint(host: &str) -> bool {
    let Some(suffix) = PARTITION_SUFFIXES.iter().find(|suffix| host.ends_with(*suffix)) else {
        return false;
    };
    let mut labels: Vec<&str> = host[..host.len() - suffix.len()].split('.').collect();
    let mut take = |wanted: fn(&str) -> bool| {
        let found = labels.last().is_some_and(|label| wanted(label));
        if found {
            labels.pop();
        }
        found
    };
    let vpce = take(|l| l == "vpce");
    let region = take(is_region);
    let dualstack = take(|l| l == "dualstack");
    let fips = take(|l| l == "fips");
    if (vpce || dualstack || fips) && !region {
        return false;
    }
    match labels.last().copied() {
        Some("s3") => true,
        Some("s3-fips") => region,
        Some("s3-external-1") => !region,
        Some(label) => {
            let embedded = label
                .strip_prefix("s3-fips-")
                .or_else(|| label.strip_prefix("s3-"));
            !region && embedded.is_some_and(is_region)
        }
        None => false,
    }
}

/// `us-east-1`, `us-gov-west-1`, `cn-northwest-1`, `eusc-de-east-1`, `us-isob-east-1`: a short
/// area code, words, and a number.
fn is_region(label: &str) -> bool {
    let parts: Vec<&str> = label.split('-').collect();
    let [area, words @ .., number] = parts.as_slice() else {
        return false;
    };
    let letters = |part: &&str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase());
    (2..=4).contains(&area.len())
        && letters(area)
        && !words.is_empty()
        && words.iter().all(letters)
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(policy: &ResponseUrlPolicy, url: &str) -> Option<&'static str> {
        policy.refusal(&Url::parse(url).expect("url"))
    }

    /// Every Region, by partition suffix, as the SDKs' partition data of late 2026 lists them.
    const REGIONS: &[(&str, &[&str])] = &[
        (
            "amazonaws.com",
            &[
                "us-east-1",
                "us-east-2",
                "us-west-1",
                "us-west-2",
                "af-south-1",
                "ap-east-1",
                "ap-east-2",
                "ap-south-1",
                "ap-south-2",
                "ap-southeast-1",
                "ap-southeast-2",
                "ap-southeast-3",
                "ap-southeast-4",
                "ap-southeast-5",
                "ap-southeast-6",
                "ap-southeast-7",
                "ap-northeast-1",
                "ap-northeast-2",
                "ap-northeast-3",
                "ca-central-1",
                "ca-west-1",
                "eu-central-1",
                "eu-central-2",
                "eu-west-1",
                "eu-west-2",
                "eu-west-3",
                "eu-south-1",
                "eu-south-2",
                "eu-north-1",
                "il-central-1",
                "me-south-1",
                "me-central-1",
                "mx-central-1",
                "sa-east-1",
                "us-gov-west-1",
                "us-gov-east-1",
            ],
        ),
        ("amazonaws.com.cn", &["cn-north-1", "cn-northwest-1"]),
        ("amazonaws.eu", &["eusc-de-east-1"]),
        ("c2s.ic.gov", &["us-iso-east-1", "us-iso-west-1"]),
        ("sc2s.sgov.gov", &["us-isob-east-1"]),
        ("cloud.adc-e.uk", &["eu-isoe-west-1"]),
        ("csp.hci.ic.gov", &["us-isof-south-1", "us-isof-east-1"]),
    ];

    #[test]
    fn cloudformation_response_urls_of_every_region_and_style_are_accepted() {
        let policy = ResponseUrlPolicy::s3_only();
        let query = "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=s";
        let key = "arn%3Aaws%3Acloudformation%3Ar%3A1%3Astack/s/id%7CRes%7Creq";
        for (suffix, regions) in REGIONS {
            for region in *regions {
                let bucket = format!(
                    "cloudformation-custom-resource-response-{}",
                    region.replace('-', "")
                );
                for host in [
                    format!("{bucket}.s3.{region}.{suffix}"),
                    format!("{bucket}.s3-{region}.{suffix}"),
                    format!("{bucket}.s3.dualstack.{region}.{suffix}"),
                    format!("{bucket}.s3-fips.{region}.{suffix}"),
                    format!("{bucket}.s3-fips.dualstack.{region}.{suffix}"),
                    format!("{bucket}.vpce-0a1b2c3d4e5f-6a7b8c9d.s3.{region}.vpce.{suffix}"),
                ] {
                    let url = format!("https://{host}/{key}{query}");
                    assert_eq!(refusal(&policy, &url), None, "virtual-hosted {url}");
                }
                for host in [
                    format!("s3.{region}.{suffix}"),
                    format!("s3-{region}.{suffix}"),
                    format!("s3.dualstack.{region}.{suffix}"),
                    format!("bucket.vpce-0a1b2c3d4e5f-6a7b8c9d.s3.{region}.vpce.{suffix}"),
                ] {
                    let url = format!("https://{host}/{bucket}/{key}{query}");
                    assert_eq!(refusal(&policy, &url), None, "path-style {url}");
                }
            }
        }
        for url in [
            "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/k",
            "https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1/k",
            "https://s3-external-1.amazonaws.com/cloudformation-custom-resource-response-useast1/k",
            "https://cloudformation-custom-resource-response-useast1.s3-external-1.amazonaws.com/k",
            "https://s3-fips-us-gov-west-1.amazonaws.com/b/k",
            "https://CloudFormation-Custom-Resource-Response-UsEast2.S3.US-EAST-2.AMAZONAWS.COM/k",
        ] {
            assert_eq!(refusal(&policy, url), None, "{url}");
        }
    }

    #[test]
    fn other_services_names_that_start_with_s3_are_refused() {
        let policy = ResponseUrlPolicy::s3_only();
        for url in [
            // Names users choose, before another service's labels.
            "https://s3-x-1234567890.us-east-1.elb.amazonaws.com/k",
            "https://internal-s3-x-1234567890.us-east-1.elb.amazonaws.com/k",
            "https://s3.c9akciq32.us-east-1.rds.amazonaws.com/k",
            "https://s3.abc123.cfg.use1.cache.amazonaws.com/k",
            "https://search-s3-abc.us-east-1.es.amazonaws.com/k",
            "https://s3.evil.us-east-1.amazonaws.com/k",
            // S3's own endpoints that are not for objects, or are not whole.
            "https://b.s3-website-us-east-1.amazonaws.com/k",
            "https://b.s3-website.us-east-1.amazonaws.com/k",
            "https://ap-123456789012.s3-accesspoint.us-east-1.amazonaws.com/k",
            "https://123456789012.s3-control.us-east-1.amazonaws.com/k",
            "https://s3.dualstack.amazonaws.com/b/k",
            "https://s3-fips.amazonaws.com/b/k",
            "https://s3-us-east-1.us-east-1.amazonaws.com/b/k",
            // Not a partition, or not https, or a port.
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
