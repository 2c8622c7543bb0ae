//! Socket addresses as Winsock sees them: `SOCKADDR_IN` / `SOCKADDR_IN6` from a `SocketAddr`.

use std::cell::UnsafeCell;
use std::net::SocketAddr;

use windows_sys::Win32::Networking::WinSock::{
    AF_INET, AF_INET6, IN6_ADDR, IN6_ADDR_0, IN_ADDR, IN_ADDR_0, SOCKADDR, SOCKADDR_IN,
    SOCKADDR_IN6, SOCKADDR_IN6_0,
};

/// Storage for either address family, large and aligned enough for both.
#[repr(C)]
union Storage {
    v4: SOCKADDR_IN,
    v6: SOCKADDR_IN6,
}

/// A Winsock socket address at a fixed place (it lives inside the request state), which the
/// module may read (and, being C++, might even write) through the `PSOCKADDR` it is given.
pub(crate) struct SockAddr(UnsafeCell<Storage>);

impl SockAddr {
    /// The Winsock form of `addr`: port and address in network byte order.
    pub(crate) fn new(addr: SocketAddr) -> Self {
        let storage = match addr {
            SocketAddr::V4(a) => Storage {
                v4: SOCKADDR_IN {
                    sin_family: AF_INET,
                    sin_port: a.port().to_be(),
                    sin_addr: IN_ADDR {
                        S_un: IN_ADDR_0 {
                            S_addr: u32::from_ne_bytes(a.ip().octets()),
                        },
                    },
                    sin_zero: [0; 8],
                },
            },
            SocketAddr::V6(a) => Storage {
                v6: SOCKADDR_IN6 {
                    sin6_family: AF_INET6,
                    sin6_port: a.port().to_be(),
                    sin6_flowinfo: a.flowinfo().to_be(),
                    sin6_addr: IN6_ADDR {
                        u: IN6_ADDR_0 {
                            Byte: a.ip().octets(),
                        },
                    },
                    Anonymous: SOCKADDR_IN6_0 {
                        sin6_scope_id: a.scope_id(),
                    },
                },
            },
        };
        SockAddr(UnsafeCell::new(storage))
    }

    /// The `PSOCKADDR` handed to modules.
    pub(crate) fn as_ptr(&self) -> *mut SOCKADDR {
        self.0.get().cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_is_in_network_order() {
        let addr = SockAddr::new("192.168.1.20:8080".parse().unwrap());
        // SAFETY: `SockAddr::new` wrote a SOCKADDR_IN for a V4 address.
        let sin = unsafe { &*(addr.as_ptr() as *const SOCKADDR_IN) };
        assert_eq!(sin.sin_family, AF_INET);
        assert_eq!(u16::from_be(sin.sin_port), 8080);
        // SAFETY: every field of the IN_ADDR union is plain bytes.
        let octets = unsafe { sin.sin_addr.S_un.S_addr }.to_ne_bytes();
        assert_eq!(octets, [192, 168, 1, 20]);
    }

    #[test]
    fn ipv6_is_in_network_order() {
        let addr = SockAddr::new("[2001:db8::1]:443".parse().unwrap());
        // SAFETY: `SockAddr::new` wrote a SOCKADDR_IN6 for a V6 address.
        let sin6 = unsafe { &*(addr.as_ptr() as *const SOCKADDR_IN6) };
        assert_eq!(sin6.sin6_family, AF_INET6);
        assert_eq!(u16::from_be(sin6.sin6_port), 443);
        // SAFETY: every field of the IN6_ADDR union is plain bytes.
        let bytes = unsafe { sin6.sin6_addr.u.Byte };
        assert_eq!(&bytes[..4], &[0x20, 0x01, 0x0d, 0xb8]);
        assert_eq!(bytes[15], 1);
    }
}
