//! A target of a rolling upgrade: a local control socket, or `ssh://[user@]host[:port][/socket]`
//! reached through the system's `ssh` (BatchMode, so it never stops to ask for a password),
//! where the remote `batonctl` does the work: no agent of our own on the far side.

use std::fmt;
use std::path::PathBuf;

use super::Options;

/// Where one instance is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A control socket on this machine.
    Socket(PathBuf),
    /// A machine reached with `ssh`.
    Ssh(SshTarget),
}

/// `ssh://[user@]host[:port][/socket]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// The login, when given.
    pub user: Option<String>,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// The port, when given.
    pub port: Option<u16>,
    /// The control socket there, when given (else the remote `batonctl`'s default).
    pub socket: Option<String>,
}

/// A target that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("target {target:?}: {reason}")]
pub struct TargetError {
    /// The target as given.
    pub target: String,
    /// What is wrong.
    pub reason: &'static str,
}

impl Target {
    /// Reads a target: `ssh://[user@]host[:port][/socket]`, or else a socket path.
    pub fn parse(text: &str) -> Result<Target, TargetError> {
        let bad = |reason| TargetError {
            target: text.to_string(),
            reason,
        };
        let Some(rest) = text.strip_prefix("ssh://") else {
            if text.is_empty() {
                return Err(bad("empty"));
            }
            return Ok(Target::Socket(PathBuf::from(text)));
        };
        let (authority, socket) = match rest.find('/') {
            Some(i) => (&rest[..i], Some(rest[i..].to_string())),
            None => (rest, None),
        };
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) if !u.is_empty() => (Some(u.to_string()), h),
            Some(_) => return Err(bad("empty user before @")),
            None => (None, authority),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or(bad("missing ] after IPv6 host"))?;
            match after {
                "" => (host, None),
                p => (host, Some(p.strip_prefix(':').ok_or(bad("junk after ]"))?)),
            }
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        if host.starts_with('-') || user.as_deref().is_some_and(|u| u.starts_with('-')) {
            return Err(bad("host and user must not start with '-'"));
        }
        let port = match port {
            None => None,
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|&p| p != 0)
                    .ok_or(bad("port is not a number from 1 to 65535"))?,
            ),
        };
        Ok(Target::Ssh(SshTarget {
            user,
            host: host.to_string(),
            port,
            socket,
        }))
    }

    /// The command line that upgrades this target (for a socket, what this batonctl does
    /// itself; for ssh, what it runs).
    pub fn upgrade_argv(&self, options: &Options) -> Vec<String> {
        let mut args = vec!["upgrade".to_string()];
        if let Some(binary) = &options.binary {
            args.push("--binary".into());
            args.push(binary.display().to_string());
        }
        args.push("--timeout".into());
        args.push(options.timeout_secs.to_string());
        self.batonctl_argv(options, &args)
    }

    /// The command line that lists this target's neighbors as JSON.
    pub fn neighbors_argv(&self, options: &Options) -> Vec<String> {
        self.batonctl_argv(options, &["neighbor".to_string()])
    }

    /// `batonctl --json --socket S ARGS…`, through ssh for a remote target.
    fn batonctl_argv(&self, options: &Options, args: &[String]) -> Vec<String> {
        match self {
            Target::Socket(path) => {
                let mut argv: Vec<String> =
                    ["batonctl", "--json", "--socket"].map(String::from).into();
                argv.push(path.display().to_string());
                argv.extend(args.iter().cloned());
                argv
            }
            Target::Ssh(ssh) => {
                let SshTarget {
                    user,
                    host,
                    port,
                    socket,
                } = ssh;
                let mut remote = vec![options.remote_batonctl.clone(), "--json".into()];
                if let Some(s) = socket {
                    remote.push("--socket".into());
                    remote.push(s.clone());
                }
                remote.extend(args.iter().cloned());
                let mut argv: Vec<String> = ["ssh", "-o", "BatchMode=yes"].map(String::from).into();
                for o in &options.ssh_options {
                    argv.push("-o".into());
                    argv.push(o.clone());
                }
                if let Some(p) = port {
                    argv.push("-p".into());
                    argv.push(p.to_string());
                }
                argv.push(match user {
                    Some(u) => format!("{u}@{host}"),
                    None => host.clone(),
                });
                // ssh hands the remote shell one string: quote each word for it.
                let words: Vec<String> = remote.iter().map(|w| shell_quote(w)).collect();
                argv.push(words.join(" "));
                argv
            }
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Socket(path) => write!(f, "{}", path.display()),
            Target::Ssh(ssh) => {
                write!(f, "ssh://")?;
                if let Some(u) = &ssh.user {
                    write!(f, "{u}@")?;
                }
                if ssh.host.contains(':') {
                    write!(f, "[{}]", ssh.host)?;
                } else {
                    write!(f, "{}", ssh.host)?;
                }
                if let Some(p) = ssh.port {
                    write!(f, ":{p}")?;
                }
                write!(f, "{}", ssh.socket.as_deref().unwrap_or(""))
            }
        }
    }
}

/// `word` as one word for a POSIX shell: as is when it is plain, else in single quotes.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@,+".contains(&b));
    if plain {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
