//! Who the client is when the server stands behind reverse proxies: read from the one header the
//! operator's trusted proxies write, and only from them.

use std::net::{IpAddr, SocketAddr};

use axum::http::{HeaderMap, header};
use ipnet::IpNet;

use crate::config::ClientAddressHeader;

/// The client's address: the TCP peer, unless the peer is a trusted proxy; then, walking the
/// forwarding header (the one header the proxies write) from the nearest hop back, the first
/// address that is not a trusted proxy itself. Only the hops that trusted proxies appended are
/// believed: whatever a client wrote into the header itself sits further back and is never
/// reached, and a header the proxies do not write is never read at all.
pub(super) fn client_address(
    peer: IpAddr,
    headers: &HeaderMap,
    header: ClientAddressHeader,
    trusted_proxies: &[IpNet],
) -> IpAddr {
    let trusted = |address: &IpAddr| {
        let address = address.to_canonical();
        trusted_proxies.iter().any(|network| network.contains(&address))
    };
    let mut client = peer;
    if trusted(&client) {
        for hop in forwarded_chain(headers, header).into_iter().rev() {
            client = hop;
            if !trusted(&hop) {
                break;
            }
        }
    }
    client
}

/// The addresses a request came through, the client first, as `header` lists them. Hops that
/// name no address (`unknown`, obfuscated names) are left out.
fn forwarded_chain(headers: &HeaderMap, header: ClientAddressHeader) -> Vec<IpAddr> {
    let values = |name| headers.get_all(name).into_iter().filter_map(|value| value.to_str().ok());
    match header {
        ClientAddressHeader::Forwarded => values(header::FORWARDED)
            .flat_map(|value| value.split(','))
            .filter_map(|element| {
                element.split(';').find_map(|pair| {
                    let (key, node) = pair.trim().split_once('=')?;
                    key.trim().eq_ignore_ascii_case("for").then(|| forwarded_node(node)).flatten()
                })
            })
            .collect(),
        ClientAddressHeader::XForwardedFor => values(header::HeaderName::from_static("x-forwarded-for"))
            .flat_map(|value| value.split(','))
            .filter_map(forwarded_node)
            .collect(),
    }
}

/// One hop: `192.0.2.1`, `192.0.2.1:4711`, `"[2001:db8::1]:4711"` or `2001:db8::1`.
fn forwarded_node(node: &str) -> Option<IpAddr> {
    let node = node.trim().trim_matches('"');
    if let Some(bracketed) = node.strip_prefix('[') {
        return bracketed.split(']').next()?.parse().ok();
    }
    node.parse::<IpAddr>().ok().or_else(|| node.parse::<SocketAddr>().ok().map(|socket| socket.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn forwarding_headers_are_believed_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().expect("a network")];
        let with = |name: &'static str, value: &'static str| {
            let mut headers = HeaderMap::new();
            headers.insert(name, HeaderValue::from_static(value));
            headers
        };
        let proxy: IpAddr = "10.1.2.3".parse().expect("an address");
        let stranger: IpAddr = "203.0.113.9".parse().expect("an address");
        let (xff, rfc7239) = (ClientAddressHeader::XForwardedFor, ClientAddressHeader::Forwarded);
        let spoofed = with("x-forwarded-for", "198.51.100.1, 198.51.100.2");
        assert_eq!(client_address(stranger, &spoofed, xff, &trusted), stranger, "an untrusted peer is the client");
        assert_eq!(
            client_address(proxy, &spoofed, xff, &trusted).to_string(),
            "198.51.100.2",
            "the nearest untrusted hop"
        );
        let chained = with("x-forwarded-for", "198.51.100.1, 10.9.9.9");
        assert_eq!(
            client_address(proxy, &chained, xff, &trusted).to_string(),
            "198.51.100.1",
            "trusted hops are walked past"
        );
        let forwarded = with("forwarded", "for=192.0.2.60;proto=http, for=\"[2001:db8:cafe::17]:4711\"");
        assert_eq!(client_address(proxy, &forwarded, rfc7239, &trusted).to_string(), "2001:db8:cafe::17");
        assert_eq!(client_address(proxy, &forwarded, xff, &trusted), proxy, "the header the proxy does not write");
        let unknown = with("forwarded", "for=unknown");
        assert_eq!(client_address(proxy, &unknown, rfc7239, &trusted), proxy, "nothing to believe");
    }
}
