//! `RegisterModule`'s work: hand IIS the factory, the global module and the priorities, and
//! keep the server reachable from safe code.

use std::sync::Arc;

use httpserv_sys::*;

use super::global::{GlobalHandlers, GlobalObject};
use super::module::{Factory, Handlers};
use super::panic::catch;
use super::registration::{Current, Registration};
use crate::error::{check, invalid, Result};
use crate::{GlobalModule, HttpModule, Server};

/// IIS's priority aliases for a notification.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// `PRIORITY_ALIAS_FIRST`: runs first (last on `RQ_SEND_RESPONSE`, which IIS inverts).
    First,
    /// `PRIORITY_ALIAS_HIGH`.
    High,
    /// `PRIORITY_ALIAS_MEDIUM`.
    Medium,
    /// `PRIORITY_ALIAS_LOW`.
    Low,
    /// `PRIORITY_ALIAS_LAST`: runs last (first on `RQ_SEND_RESPONSE`).
    Last,
}

impl Priority {
    fn alias(self) -> windows_sys::core::PCWSTR {
        match self {
            Self::First => PRIORITY_ALIAS_FIRST,
            Self::High => PRIORITY_ALIAS_HIGH,
            Self::Medium => PRIORITY_ALIAS_MEDIUM,
            Self::Low => PRIORITY_ALIAS_LOW,
            Self::Last => PRIORITY_ALIAS_LAST,
        }
    }
}

/// What `RegisterModule` registers, step by step.
pub struct Registrar {
    info: *mut IHttpModuleRegistrationInfo,
    registration: Arc<Registration>,
}

impl Registrar {
    fn vtbl(&self) -> &IHttpModuleRegistrationInfo_Vtbl {
        // SAFETY: `info` is the live registration info of this RegisterModule call.
        unsafe { &*(*self.info).lpVtbl }
    }

    /// The server IIS passed to `RegisterModule`, borrowed for the registration.
    pub fn server(&self) -> Server<'_> {
        // SAFETY: the server IIS passed to RegisterModule, live while RegisterModule runs.
        unsafe { Server::from_raw(self.registration.server_raw(), self.registration.version()) }.expect("register_module checked the server")
    }

    /// Registers `M`'s factory for the notifications its handlers cover.
    pub fn request_module<M: HttpModule + Handlers + Default>(&mut self) -> Result<()> {
        if M::REQUEST == 0 && M::POST_REQUEST == 0 {
            return Err(invalid("the module handles no request notification"));
        }
        let factory = Factory::<M>::new(self.registration.clone());
        // SAFETY: live registration info; on success IIS owns the factory until Terminate.
        let hr = unsafe { (self.vtbl().SetRequestNotifications)(self.info, factory, M::REQUEST, M::POST_REQUEST) };
        if hr < 0 {
            // SAFETY: IIS refused the factory, so it is still ours.
            unsafe { Factory::<M>::free(factory) };
        }
        check(hr)
    }

    /// Sets the priority of a request notification (`RQ_*`).
    pub fn request_priority(&mut self, notification: u32, priority: Priority) -> Result<()> {
        // SAFETY: live registration info; the alias is a static string.
        check(unsafe { (self.vtbl().SetPriorityForRequestNotification)(self.info, notification, priority.alias()) })
    }

    /// Registers a global module for the notifications its handlers cover.
    pub fn global_module<G: GlobalModule + GlobalHandlers>(&mut self, module: G) -> Result<()> {
        if G::GLOBAL == 0 {
            return Err(invalid("the global module handles no global notification"));
        }
        let object = GlobalObject::new(module, self.registration.clone());
        // SAFETY: live registration info; on success IIS owns the object until Terminate.
        let hr = unsafe { (self.vtbl().SetGlobalNotifications)(self.info, object, G::GLOBAL) };
        if hr < 0 {
            // SAFETY: IIS refused it, so it is still ours.
            unsafe { GlobalObject::<G>::free(object) };
        }
        check(hr)
    }

    /// Sets the priority of a global notification (`GL_*`).
    pub fn global_priority(&mut self, notification: u32, priority: Priority) -> Result<()> {
        // SAFETY: live registration info; the alias is a static string.
        check(unsafe { (self.vtbl().SetPriorityForGlobalNotification)(self.info, notification, priority.alias()) })
    }
}

/// The body of every `RegisterModule`: creates the registration (server, module id and the
/// module's state, if any), runs `register`, and turns errors and panics into an `HRESULT` (a
/// panic never unwinds into IIS).
///
/// # Safety
/// The arguments are those IIS passes to `RegisterModule`.
pub unsafe fn register_module(
    version: u32,
    info: *mut IHttpModuleRegistrationInfo,
    server: *mut IHttpServer,
    state: impl FnOnce() -> Option<Arc<dyn core::any::Any + Send + Sync>>,
    register: impl FnOnce(&mut Registrar) -> Result<()>,
) -> windows_sys::core::HRESULT {
    const E_POINTER: i32 = 0x8000_4003_u32 as i32;
    const E_UNEXPECTED: i32 = 0x8000_FFFF_u32 as i32;
    if server.is_null() || info.is_null() {
        return E_POINTER;
    }
    // SAFETY: live registration info.
    let module_id = unsafe { ((*(*info).lpVtbl).GetId)(info) };
    let mut registration = Registration::new(server, version, module_id);
    let report = |registration: &Registration, what: &str, message: String| {
        super::panic::trace_raw(super::module::server_trace(registration), &format!("httpserv: {what} panicked: {message}"));
    };
    match catch(state) {
        Ok(Some(state)) => registration.set_state(state),
        Ok(None) => {}
        Err(message) => {
            report(&registration, "creating the module state (Default)", message);
            return E_UNEXPECTED;
        }
    }
    let mut registrar = Registrar { info, registration: Arc::new(registration) };
    // SAFETY: `registrar` keeps the registration alive past the guard.
    let _current = unsafe { Current::enter(&*registrar.registration) };
    match catch(|| register(&mut registrar)) {
        Ok(Ok(())) => 0,
        Ok(Err(error)) => error.code().0,
        Err(message) => {
            report(&registrar.registration, "RegisterModule", message);
            E_UNEXPECTED
        }
    }
}
