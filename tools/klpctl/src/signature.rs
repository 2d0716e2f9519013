//! Module signatures: why the kernel refused a live patch module's
//! signature, and what to do about it.
//!
//! With `CONFIG_MODULE_SIG` the kernel checks the signature appended to a
//! module (`scripts/sign-file`) against its trusted keys. Whether a bad or
//! missing signature stops the load depends on the policy: enforced
//! (`module.sig_enforce=1`, `CONFIG_MODULE_SIG_FORCE`), or required by
//! kernel lockdown (Secure Boot machines). `finit_module(2)` then fails
//! with `EKEYREJECTED` (enforced: unsigned, or signed with a key the kernel
//! does not have; always: a signature that does not verify), `EBADMSG` (a
//! malformed signature), `ENOKEY`/`EKEYEXPIRED`/`ENOPKG`, or `EPERM`
//! (lockdown, signatures not enforced).

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use crate::error::Error;
use crate::modinfo::LivepatchModule;
use crate::paths::Paths;
use crate::sysfs;

/// The marker `scripts/sign-file` appends after a module's signature.
pub const SIGNATURE_MARKER: &[u8] = b"~Module signature appended~\n";

/// How to fix a signature refusal, the same for every cause.
pub const FIX: &str = "sign the module with a key this kernel trusts: `make sign \
     KLP_SIGN_KEY=key.pem KLP_SIGN_CERT=cert.pem` in klp-rs, or the kernel's \
     `scripts/sign-file sha256 key.pem cert.pem MODULE.ko`; the kernel trusts keys built into it \
     and, on a Secure Boot machine, Machine Owner Keys: enrol your certificate with \
     `mokutil --import cert.der`, reboot and confirm it in MokManager";

/// The kernel's signature policy, as far as sysfs and securityfs show it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// `/sys/module/module/parameters/sig_enforce` (`Y`/`N`); `None` if the
    /// kernel has no `CONFIG_MODULE_SIG` (or the file is unreadable).
    pub enforced: Option<bool>,
    /// The active mode of `/sys/kernel/security/lockdown` (`none`,
    /// `integrity`, `confidentiality`); `None` without the lockdown LSM or
    /// securityfs.
    pub lockdown: Option<String>,
}

impl Policy {
    /// Reads the policy under `paths`' root.
    pub fn read(paths: &Paths) -> Self {
        let enforced = sysfs::read_trimmed(&paths.sig_enforce())
            .ok()
            .and_then(|v| match v.as_str() {
                "Y" | "1" => Some(true),
                "N" | "0" => Some(false),
                _ => None,
            });
        let lockdown = sysfs::read_trimmed(&paths.lockdown())
            .ok()
            .and_then(|v| active_lockdown(&v));
        Policy { enforced, lockdown }
    }

    /// Does the kernel lockdown require signed modules (integrity or
    /// confidentiality mode)?
    pub fn locked_down(&self) -> bool {
        matches!(self.lockdown.as_deref(), Some(mode) if mode != "none")
    }

    /// Are unsigned modules refused, by enforcement or by lockdown?
    pub fn requires_signatures(&self) -> bool {
        self.enforced == Some(true) || self.locked_down()
    }

    /// The policy in words: `module.sig_enforce=1, lockdown: integrity`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        match self.enforced {
            Some(true) => parts.push("signatures enforced: module.sig_enforce=1".to_string()),
            Some(false) => parts.push("signatures not enforced: module.sig_enforce=0".to_string()),
            None => {}
        }
        if let Some(mode) = &self.lockdown {
            parts.push(format!("lockdown: {mode}"));
        }
        if parts.is_empty() {
            "this kernel shows no signature policy in sysfs".to_string()
        } else {
            parts.join(", ")
        }
    }
}

/// The mode in brackets of a `lockdown` file: `none [integrity]
/// confidentiality` is `integrity`.
fn active_lockdown(text: &str) -> Option<String> {
    let start = text.find('[')? + 1;
    let end = start + text[start..].find(']')?;
    Some(text[start..end].to_string())
}

/// Does the module file end with a module signature?
pub fn is_signed(path: &Path) -> io::Result<bool> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    let marker_len = SIGNATURE_MARKER.len() as u64;
    if len < marker_len {
        return Ok(false);
    }
    file.seek(SeekFrom::Start(len - marker_len))?;
    let mut tail = vec![0; SIGNATURE_MARKER.len()];
    file.read_exact(&mut tail)?;
    Ok(tail == SIGNATURE_MARKER)
}

/// Explains a refusal of `finit_module(2)` that a module signature may be
/// the cause of; any other error is returned as it is.
pub fn explain_refusal(paths: &Paths, module: &LivepatchModule, err: Error) -> Error {
    let (action, source) = match &err {
        Error::Kernel { action, source, .. } => (action, source),
        Error::Io { context, source } => (context, source),
        _ => return err,
    };
    let Some(errno) = source.raw_os_error() else {
        return err;
    };
    let policy = Policy::read(paths);
    // `None`: the file cannot be read again; say what is known.
    let signed = is_signed(&module.path).ok();
    let name = &module.name;
    let what = match (errno, signed) {
        (libc::EKEYREJECTED, Some(false)) if policy.requires_signatures() => format!(
            "the kernel refused {name}: the module is not signed, and this kernel loads only \
             signed modules"
        ),
        (libc::EKEYREJECTED, Some(true)) if policy.enforced == Some(true) => format!(
            "the kernel refused {name}: it is signed, but not with a key this kernel trusts \
             (\"key not trusted\"), or it was changed after it was signed"
        ),
        (libc::EKEYREJECTED, Some(true)) => format!(
            "the kernel refused {name}: its signature does not verify: it was changed after it \
             was signed (stripped, or signed twice)"
        ),
        (libc::EKEYREJECTED, _) => format!(
            "the kernel rejected the signature of {name}: it is unsigned or signed with a key \
             this kernel does not trust"
        ),
        (libc::ENOKEY, _) => format!(
            "the kernel refused {name}: it is signed with a key this kernel does not have \
             (\"key not trusted\")"
        ),
        (libc::EKEYEXPIRED, _) => {
            format!("the kernel refused {name}: the key it is signed with has expired")
        }
        (libc::ENOPKG, _) if signed == Some(true) => format!(
            "the kernel refused {name}: it cannot check its signature's algorithm (a hash or \
             key type this kernel lacks)"
        ),
        (libc::EBADMSG, _) => format!(
            "the kernel refused {name}: its module signature is malformed (not what sign-file \
             makes, or truncated)"
        ),
        (libc::EPERM, Some(false)) if policy.locked_down() => format!(
            "the kernel refused {name}: the kernel is locked down and loads only modules signed \
             with a trusted key, and this one is not signed"
        ),
        (libc::EPERM, _) if policy.locked_down() => format!(
            "the kernel refused {name}: the kernel is locked down and loads only modules signed \
             with a key it trusts"
        ),
        _ => return err,
    };
    let action = action.clone();
    let source = io::Error::from_raw_os_error(errno);
    Error::Kernel {
        action,
        message: format!("{what} ({}); fix: {FIX}", policy.describe()),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockdown_modes() {
        assert_eq!(
            active_lockdown("none [integrity] confidentiality").as_deref(),
            Some("integrity")
        );
        assert_eq!(
            active_lockdown("[none] integrity confidentiality").as_deref(),
            Some("none")
        );
        assert_eq!(active_lockdown("garbage"), None);
    }

    #[test]
    fn policy_in_words() {
        let p = Policy {
            enforced: Some(true),
            lockdown: Some("none".into()),
        };
        assert!(p.requires_signatures() && !p.locked_down());
        assert_eq!(
            p.describe(),
            "signatures enforced: module.sig_enforce=1, lockdown: none"
        );
        let p = Policy {
            enforced: Some(false),
            lockdown: Some("integrity".into()),
        };
        assert!(p.requires_signatures() && p.locked_down());
        assert!(!Policy::default().requires_signatures());
    }
}
