//! `[global] control_socket_mode` and `control_socket_group`: who may talk to the control
//! socket. Parsed (and the group looked up) while the file is read, so a typo is reported with
//! its line like any other value; applied by [`crate::sockets::bind_control_socket`].

use std::fmt;
use std::str::FromStr;

use super::value::Text;

/// The control socket's permission bits, written in the file as an octal string (`"0660"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketMode(pub u32);

impl Default for SocketMode {
    /// Owner only: batonctl runs as root or as the daemon's user.
    fn default() -> Self {
        SocketMode(0o600)
    }
}

impl FromStr for SocketMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let digits = s.strip_prefix("0o").unwrap_or(s);
        let octal = !digits.is_empty() && digits.bytes().all(|b| (b'0'..=b'7').contains(&b));
        if !octal || digits.len() > 4 {
            return Err(format!(
                "{s:?} is not an octal mode such as \"0660\" (up to four digits 0-7)"
            ));
        }
        let mode = u32::from_str_radix(digits, 8).map_err(|e| e.to_string())?;
        if mode > 0o777 {
            return Err(format!(
                "{s} sets setuid, setgid or sticky bits, which mean nothing on a socket"
            ));
        }
        if mode & 0o600 != 0o600 {
            return Err(format!(
                "{s} does not let the owner read and write: the owner would be locked out"
            ));
        }
        Ok(SocketMode(mode))
    }
}

impl fmt::Display for SocketMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

impl Text for SocketMode {
    const EXPECTING: &'static str = "an octal mode as a string such as \"0660\"";

    fn explain(error: String) -> String {
        error
    }
}

/// The control socket's group: as written (a name or a number) and the gid it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketGroup {
    /// The text of the file.
    pub text: String,
    /// The group id.
    pub gid: u32,
}

impl FromStr for SocketGroup {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Ok(gid) = s.parse::<u32>() {
            return Ok(SocketGroup {
                text: s.into(),
                gid,
            });
        }
        match nix::unistd::Group::from_name(s) {
            Ok(Some(g)) => Ok(SocketGroup {
                text: s.into(),
                gid: g.gid.as_raw(),
            }),
            Ok(None) => Err(format!("no group named {s:?} on this system")),
            Err(e) => Err(format!("cannot look up group {s:?}: {e}")),
        }
    }
}

impl fmt::Display for SocketGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Text for SocketGroup {
    const EXPECTING: &'static str = "a group name or number as a string such as \"baton\"";

    fn explain(error: String) -> String {
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_are_octal_strings_the_owner_can_use() {
        assert_eq!("0660".parse(), Ok(SocketMode(0o660)));
        assert_eq!("600".parse(), Ok(SocketMode(0o600)));
        assert_eq!(SocketMode(0o640).to_string(), "0640");
        for bad in ["", "0x1b0", "0680", "04660", "0440", "66666", "rw-rw----"] {
            assert!(bad.parse::<SocketMode>().is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn groups_are_names_or_numbers() {
        assert_eq!("0".parse::<SocketGroup>().unwrap().gid, 0);
        assert_eq!("root".parse::<SocketGroup>().unwrap().gid, 0);
        let err = "no-such-group-here".parse::<SocketGroup>().unwrap_err();
        assert!(err.contains("no group named"), "{err}");
    }
}
