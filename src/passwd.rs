//! The passwd database: who the effective user is, and account lookups by uid or by name
//! (name, uid, gid, home), through the reentrant `getpw*_r` calls with a buffer that grows on
//! ERANGE. The one place opsbook talks to it: the PostgreSQL client (~/.pgpass, the default
//! user name) and the sandbox (the `postgres` account) both come here.

use std::ffi::{CStr, CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

/// The first buffer size; grown fourfold on ERANGE up to [`MAX_BUFFER`].
const FIRST_BUFFER: usize = 16 * 1024;
/// No passwd entry needs more; past this the lookup gives up instead of growing forever.
const MAX_BUFFER: usize = 4 << 20;

/// One passwd entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The login name (lossily decoded if it is not UTF-8, which no sane system has).
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    /// The home directory as the passwd database has it, byte for byte; empty when unset.
    pub home: PathBuf,
}

/// The effective uid of this process.
pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

/// The account with this uid; None when there is none (or the lookup failed).
pub fn by_uid(uid: u32) -> Option<Account> {
    // SAFETY: getpwuid_r writes only into the passwd struct and buffer we pass, both owned by
    // `lookup`'s frame and sized as passed.
    lookup(|pwd, buf, len, result| unsafe { libc::getpwuid_r(uid, pwd, buf, len, result) })
}

/// The account with this login name; None when there is none (or the name holds a NUL).
pub fn by_name(name: &str) -> Option<Account> {
    let cname = CString::new(name).ok()?;
    // SAFETY: as in by_uid; `cname` outlives the call.
    lookup(|pwd, buf, len, result| unsafe {
        libc::getpwnam_r(cname.as_ptr(), pwd, buf, len, result)
    })
}

/// The effective user's account, as libpq finds it (for the default user name and the home
/// directory holding ~/.pgpass when $HOME is unset).
pub fn current() -> Option<Account> {
    by_uid(euid())
}

/// Run a `getpw*_r` call, growing the buffer while it answers ERANGE.
fn lookup(
    call: impl Fn(*mut libc::passwd, *mut libc::c_char, usize, *mut *mut libc::passwd) -> libc::c_int,
) -> Option<Account> {
    let mut size = FIRST_BUFFER;
    loop {
        let mut buf: Vec<libc::c_char> = vec![0; size];
        // SAFETY: passwd is plain old data; all-zero is a valid (empty) value the call fills.
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = call(&mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
        if rc == libc::ERANGE && size < MAX_BUFFER {
            size *= 4;
            continue;
        }
        if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: on success the strings point into `buf`, NUL-terminated, alive until `buf`
        // drops at the end of this iteration (we copy them out before).
        let name = unsafe { CStr::from_ptr(pwd.pw_name) }
            .to_string_lossy()
            .into_owned();
        let home = if pwd.pw_dir.is_null() {
            PathBuf::new()
        } else {
            // SAFETY: as above.
            let dir = unsafe { CStr::from_ptr(pwd.pw_dir) };
            PathBuf::from(OsStr::from_bytes(dir.to_bytes()))
        };
        return Some(Account {
            name,
            uid: pwd.pw_uid,
            gid: pwd.pw_gid,
            home,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_user_and_root_are_found_both_ways() {
        // A container may run under a uid the passwd database does not know; root it knows.
        let Some(me) = current() else {
            assert!(by_uid(0).is_some());
            return;
        };
        assert_eq!(me.uid, euid());
        assert!(!me.name.is_empty());
        assert_eq!(by_name(&me.name).map(|a| a.uid), Some(me.uid));
        let root = by_uid(0).expect("uid 0 exists");
        assert_eq!((root.uid, root.gid), (0, 0));
        assert_eq!(by_name(&root.name).map(|a| a.uid), Some(0));
    }

    #[test]
    fn unknown_accounts_are_none() {
        assert_eq!(by_name("opsbook-no-such-user-xyzzy"), None);
        assert_eq!(by_name("nul\0inside"), None);
        assert_eq!(by_uid(4_000_000_123), None);
    }
}
