//! The passwd database: the account a uid or a name stands for (getpwnam_r / getpwuid_r,
//! reentrant) and our effective uid. Who a server or a tool runs as is decided from these.

use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

pub fn euid() -> u32 {
    // SAFETY: geteuid cannot fail and touches no memory.
    unsafe { libc::geteuid() }
}

pub fn account_by_name(name: &str) -> Option<Account> {
    let cname = std::ffi::CString::new(name).ok()?;
    // SAFETY: getpwnam_r writes only into the passwd struct and buffer we own (the reentrant
    // variant, since test threads may look accounts up concurrently).
    passwd_lookup(|pwd, buf, len, result| unsafe {
        libc::getpwnam_r(cname.as_ptr(), pwd, buf, len, result)
    })
}

pub fn account_by_uid(uid: u32) -> Option<Account> {
    // SAFETY: as in account_by_name.
    passwd_lookup(|pwd, buf, len, result| unsafe { libc::getpwuid_r(uid, pwd, buf, len, result) })
}

fn passwd_lookup(
    lookup: impl Fn(*mut libc::passwd, *mut libc::c_char, usize, *mut *mut libc::passwd) -> libc::c_int,
) -> Option<Account> {
    let mut buf: Vec<libc::c_char> = vec![0; 16 * 1024];
    // SAFETY: passwd is plain old data; all-zero is a valid (empty) value.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    let rc = lookup(&mut pwd, buf.as_mut_ptr(), buf.len(), &mut result);
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: on success the strings point into `buf`, NUL-terminated, alive until `buf` drops.
    let (name, home) = unsafe {
        let name = std::ffi::CStr::from_ptr(pwd.pw_name)
            .to_string_lossy()
            .into_owned();
        let home = if pwd.pw_dir.is_null() {
            String::from("/")
        } else {
            std::ffi::CStr::from_ptr(pwd.pw_dir)
                .to_string_lossy()
                .into_owned()
        };
        (name, home)
    };
    Some(Account {
        name,
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
        home: PathBuf::from(home),
    })
}
