//! The audit trail: every change klpctl makes (load, disable, force,
//! unload, install, uninstall, a crash-guard skip) is logged to the system
//! log with the user and the outcome, through the `syslog` crate (the
//! `/dev/log` socket, which journald also serves). Logging never fails a
//! command: without a system log the record is dropped.
//!
//! `KLPCTL_AUDIT_LOG=FILE` sends the records to FILE (appended, one line
//! each) instead of the system log: for tests, and for systems whose log
//! is elsewhere.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Mutex;

/// Where audit records go.
pub trait AuditSink: Sync {
    /// Logs one record; `ok` says whether the change succeeded.
    fn record(&self, ok: bool, message: &str);
}

/// The environment variable that redirects the records to a file.
pub const AUDIT_LOG_ENV: &str = "KLPCTL_AUDIT_LOG";

/// The system log (or the file of [`AUDIT_LOG_ENV`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemLog;

impl AuditSink for SystemLog {
    fn record(&self, ok: bool, message: &str) {
        if let Some(path) = std::env::var_os(AUDIT_LOG_ENV) {
            if let Ok(mut f) = OpenOptions::new().create(true).append(true).open(path) {
                let _ = writeln!(f, "{} {message}", if ok { "notice" } else { "err" });
            }
            return;
        }
        let formatter = syslog::Formatter3164 {
            facility: syslog::Facility::LOG_USER,
            hostname: None,
            process: "klpctl".into(),
            pid: std::process::id(),
        };
        if let Ok(mut logger) = syslog::unix(formatter) {
            let _ = if ok {
                logger.notice(message)
            } else {
                logger.err(message)
            };
        }
    }
}

/// Records kept in memory (tests).
#[derive(Debug, Default)]
pub struct MemoryLog(pub Mutex<Vec<String>>);

impl MemoryLog {
    /// The records so far.
    pub fn records(&self) -> Vec<String> {
        self.0.lock().map(|v| v.clone()).unwrap_or_default()
    }
}

impl AuditSink for MemoryLog {
    fn record(&self, ok: bool, message: &str) {
        if let Ok(mut v) = self.0.lock() {
            v.push(format!("{} {message}", if ok { "notice" } else { "err" }));
        }
    }
}

/// Drops every record.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoAudit;

impl AuditSink for NoAudit {
    fn record(&self, _ok: bool, _message: &str) {}
}

/// Who runs klpctl: `uid 0 (root)`, with the login uid (kept across
/// sudo and su) and `SUDO_USER` where there are.
pub fn who() -> String {
    // SAFETY: getuid cannot fail.
    let uid = unsafe { libc::getuid() };
    let mut who = format!(
        "uid {uid} ({})",
        user_name(uid).unwrap_or_else(|| "?".into())
    );
    if let Ok(login) = std::fs::read_to_string("/proc/self/loginuid")
        && let Ok(login) = login.trim().parse::<u32>()
        && login != u32::MAX
        && login != uid
    {
        who.push_str(&format!(
            ", login uid {login} ({})",
            user_name(login).unwrap_or_else(|| "?".into())
        ));
    }
    if let Ok(sudo) = std::env::var("SUDO_USER") {
        who.push_str(&format!(", sudo by {}", crate::paths::escape_name(&sudo)));
    }
    who
}

fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 4096];
    // SAFETY: passwd is plain data that getpwuid_r fills in.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result = std::ptr::null_mut();
    // SAFETY: the buffers outlive the call; their sizes are passed.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut result) };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name points to a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

/// Logs that `action` on `patch` (with `detail`) ended with `outcome`.
pub fn log<E: std::fmt::Display>(
    sink: &dyn AuditSink,
    action: &str,
    patch: &str,
    detail: &str,
    outcome: Result<(), &E>,
) {
    let detail = if detail.is_empty() {
        String::new()
    } else {
        format!(" ({detail})")
    };
    let (ok, result) = match outcome {
        Ok(()) => (true, "ok".to_string()),
        Err(e) => (false, format!("failed: {e}")),
    };
    sink.record(
        ok,
        &format!("{action} {patch}{detail}: {result}; by {}", who()),
    );
}
