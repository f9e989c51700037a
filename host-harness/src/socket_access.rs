//! Who may connect to a `unix:` socket: its group and mode, set right after binding (a
//! socket takes the umask's mode, `srwxr-xr-x`, which keeps the MTA's group out).

use std::ffi::CString;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, bail};

use crate::settings::parse_socket_mode;

/// Give `path` the group `group` (a name or a number) and the octal `mode` (`"0660"`).
/// The group is set first, so the socket never grants the new mode to the old group.
pub fn apply(path: &Path, mode: Option<&str>, group: Option<&str>) -> anyhow::Result<()> {
    if let Some(group) = group {
        let gid = group_id(group)?;
        std::os::unix::fs::chown(path, None, Some(gid))
            .with_context(|| format!("setting the group of {} to {group}", path.display()))?;
    }
    if let Some(mode) = mode {
        let Some(bits) = parse_socket_mode(mode) else { bail!("socket_mode {mode:?} is not an octal mode") };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(bits))
            .with_context(|| format!("setting the mode of {} to {mode}", path.display()))?;
    }
    Ok(())
}

/// The id of a group named in /etc/group (or NSS), or a numeric id as it is.
pub fn group_id(group: &str) -> anyhow::Result<u32> {
    if let Ok(gid) = group.parse::<u32>() {
        return Ok(gid);
    }
    let name = CString::new(group).with_context(|| format!("socket_group {group:?}"))?;
    let mut entry: libc::group = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::group = std::ptr::null_mut();
    let mut buf = vec![0 as libc::c_char; 16 << 10];
    // SAFETY: every pointer is valid for the call; `buf` outlives `entry`'s use (only gr_gid is read).
    let rc = unsafe { libc::getgrnam_r(name.as_ptr(), &mut entry, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc != 0 || found.is_null() {
        bail!("socket_group {group:?}: no such group");
    }
    Ok(entry.gr_gid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_and_group_are_set_on_the_socket() {
        let dir = std::env::temp_dir().join(format!("ndr-socket-access-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.sock");
        let _ = std::fs::remove_file(&path);
        let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
        // Our own primary group: a group any user may give a file it owns.
        let gid = unsafe { libc::getegid() };
        apply(&path, Some("0660"), Some(&gid.to_string())).unwrap();
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.permissions().mode() & 0o7777, 0o660);
        assert_eq!(std::os::unix::fs::MetadataExt::gid(&meta), gid);
        apply(&path, Some("0600"), None).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn group_names_resolve_and_unknown_ones_fail() {
        assert_eq!(group_id("root").unwrap(), 0);
        assert_eq!(group_id("1234").unwrap(), 1234);
        assert!(group_id("no-such-group-ndr").is_err());
    }
}
