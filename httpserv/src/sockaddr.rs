//! `SOCKADDR` (as IIS returns it) to `std::net::SocketAddr`.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use windows_sys::Win32::Networking::WinSock::{AF_INET, AF_INET6, SOCKADDR, SOCKADDR_IN, SOCKADDR_IN6};

/// # Safety
/// `addr` is null or points to a `SOCKADDR_IN` or `SOCKADDR_IN6` as its family says.
pub(crate) unsafe fn to_socket_addr(addr: *const SOCKADDR) -> Option<SocketAddr> {
    // SAFETY: the caller's contract; the family field is common to both layouts.
    let family = unsafe { addr.as_ref()?.sa_family };
    if family == AF_INET {
        // SAFETY: the family says it is a SOCKADDR_IN.
        let v4 = unsafe { &*addr.cast::<SOCKADDR_IN>() };
        // SAFETY: every variant of the address union is a plain 4-byte value.
        let ip = Ipv4Addr::from(unsafe { v4.sin_addr.S_un.S_addr }.to_ne_bytes());
        Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(v4.sin_port))))
    } else if family == AF_INET6 {
        // SAFETY: the family says it is a SOCKADDR_IN6.
        let v6 = unsafe { &*addr.cast::<SOCKADDR_IN6>() };
        // SAFETY: every variant of the address union is a plain 16-byte value.
        let ip = Ipv6Addr::from(unsafe { v6.sin6_addr.u.Byte });
        // SAFETY: both variants of the scope union are a plain u32.
        let scope = unsafe { v6.Anonymous.sin6_scope_id };
        // Port and flow information are in network byte order (RFC 2553, section 3.3); the
        // scope id is in host order.
        Some(SocketAddr::V6(SocketAddrV6::new(ip, u16::from_be(v6.sin6_port), u32::from_be(v6.sin6_flowinfo), scope)))
    } else {
        None
    }
}
