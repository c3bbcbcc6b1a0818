//! The appliance's certificate. The configurator trusts the appliance by the pin it is deployed
//! with (`CERT_SHA256`); a pin that is not the certificate the API port presents fails every
//! registration of every member account, and only once the roles roll out.

use std::{
    net::{Ipv4Addr, SocketAddr},
    time::Duration,
};

use vbaws_client::{Error, Fingerprint, presents_pinned_certificate};

use crate::{Check, Plan};

const NAME: &str = "appliance-tls";
/// An appliance that has not answered by then is taken as one this machine does not reach.
const PATIENCE: Duration = Duration::from_secs(5);

pub(crate) async fn check(plan: &Plan) -> Check {
    let (address, pin) = match (&plan.appliance_address, &plan.cert_sha256) {
        (Some(address), Some(pin)) => (address, pin),
        (None, None) => return Check::skip(NAME, "no --appliance-ip and --cert-sha256 given"),
        // A deployment that trusts a CA (ApplianceCaCert) instead of a pin has none to check.
        (Some(_), None) => return Check::skip(NAME, "no --cert-sha256 given (CERT_SHA256)"),
        (None, Some(_)) => return Check::skip(NAME, "no --appliance-ip given (APPLIANCE_IP)"),
    };
    let pin: Fingerprint = match pin.parse() {
        Ok(pin) => pin,
        Err(error) => {
            let at = format!("{address}:{}", plan.api_port);
            return Check::fail(
                NAME,
                format!("CERT_SHA256: {error}"),
                format!(
                    "read the appliance's fingerprint from a host that reaches it: {}",
                    openssl(&at)
                ),
            );
        }
    };
    let Ok(ip) = address.parse::<Ipv4Addr>() else {
        return Check::fail(
            NAME,
            format!("{address:?} is not an IPv4 address"),
            "give the appliance's private IPv4 address, such as 10.0.1.20 (APPLIANCE_IP, the Lambdas stack's ApplianceAddress)",
        );
    };
    let Ok(port) = u16::try_from(plan.api_port) else {
        return Check::fail(
            NAME,
            format!("{} is not a port", plan.api_port),
            "give the appliance's REST API port (--api-port, 11005 by default)",
        );
    };
    let at = SocketAddr::from((ip, port));
    match presents_pinned_certificate(&format!("https://{at}"), pin, PATIENCE).await {
        Ok(()) => Check::pass(NAME, format!("{at} presents the pinned certificate")),
        Err(Error::CertificateMismatch { presented, .. }) => Check::fail(
            NAME,
            format!("{at} presents a certificate with SHA-256 {presented}, not the pinned {pin}"),
            format!(
                "compare {presented} with the fingerprint the appliance's web UI shows (Configuration > \
                 Security certificates): if they agree, deploy with CERT_SHA256={presented}; if not, \
                 something other than the appliance answers at {at}"
            ),
        ),
        Err(error @ Error::Transport { .. }) => Check::skip(
            NAME,
            format!("not reachable from this machine within {PATIENCE:?}: {error}"),
        )
        .with_fix(format!(
            "the configurator reaches the appliance from its subnets, not from here: run the \
             preflight where {at} answers, or compare the pin there with {}",
            openssl(&at)
        )),
        Err(error) => Check::fail(
            NAME,
            error.to_string(),
            format!("check that {port} is the appliance's REST API port (--api-port, 11005 by default)"),
        ),
    }
}

fn openssl(at: &dyn std::fmt::Display) -> String {
    format!(
        "openssl s_client -connect {at} </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256"
    )
}
