//! Manual pages and shell completion scripts, made from a binary's own clap definition.
//!
//! The packages ship what the binaries they document print (`BATON_GENERATE=man batonctl`), so
//! `man batonctl` can never drift from `batonctl --help`: there is one definition of each
//! command line, the binary's. The request comes through the environment, as clap_complete's
//! own dynamic completions do, rather than a hidden subcommand: clap_complete's scripts would
//! offer a hidden subcommand to users.

use std::io::{self, Write};
use std::str::FromStr;

use clap::Command;
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

/// The files of a packaged installation, for the FILES section of both pages. The unit file
/// (`packaging/baton.service`) and the packaged configuration name the same paths; a test
/// checks that they agree.
pub const PACKAGED_FILES: &[(&str, &str)] = &[
    (
        "/etc/baton/baton.toml",
        "The configuration (batond --config). Reload it with systemctl reload baton.",
    ),
    (
        "/var/lib/baton",
        "The state directory (state_dir): routes and peers added at run time, RIB snapshots.",
    ),
    (
        "/run/baton/batond.sock",
        "The control socket (control_socket) that batonctl talks to.",
    ),
    (
        "/lib/systemd/system/baton.service",
        "The systemd unit (/usr/lib/systemd/system on rpm systems).",
    ),
    (
        "/usr/share/doc/baton/example.toml",
        "Every configuration key, with what it means and its default.",
    ),
];

/// The environment variable that makes a baton binary print its own documentation and exit:
/// `man` for its manual page, a shell name (`bash`, `zsh`, `fish`, `elvish`, `powershell`) for
/// its completion script.
pub const GENERATE_ENV: &str = "BATON_GENERATE";

/// If [`GENERATE_ENV`] is set, write what it asks for to standard output and return the
/// outcome (the caller then exits); `None` when it is not set. Call it first in `main`.
pub fn generate_if_asked(cmd: impl FnOnce() -> Command, page: &Extras) -> Option<io::Result<()>> {
    let what = std::env::var(GENERATE_ENV).ok()?;
    let mut out = io::stdout().lock();
    Some(if what == "man" {
        write_man_page(cmd(), page, &mut out)
    } else {
        match clap_complete::Shell::from_str(&what) {
            Ok(shell) => {
                write_completions(shell, cmd(), &mut out);
                Ok(())
            }
            Err(_) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "{GENERATE_ENV}={what}: expected man, bash, zsh, fish, elvish or powershell"
                ),
            )),
        }
    })
}

/// What a page says beyond its clap definition.
pub struct Extras<'a> {
    /// The NAME line's summary (the clap `about` is the package's description).
    pub summary: &'a str,
    /// Files the program uses, each with a sentence about it.
    pub files: &'a [(&'a str, &'a str)],
    /// Related pages, e.g. `batonctl(8)`.
    pub see_also: &'a [&'a str],
}

/// Writes the section-8 manual page of `cmd` (roff): name, synopsis, description, options,
/// then each visible subcommand (depth first) with its full `--help`, the command's closing
/// help text as NOTES, FILES, SEE ALSO and the version.
pub fn write_man_page(mut cmd: Command, extras: &Extras, out: &mut dyn Write) -> io::Result<()> {
    // NAME gets the summary; DESCRIPTION keeps what `--help` says.
    let description = cmd
        .get_long_about()
        .or(cmd.get_about())
        .map(|d| d.to_string());
    cmd = cmd.about(extras.summary.to_string());
    if let Some(description) = description {
        cmd = cmd.long_about(description);
    }
    cmd.build();
    let man = Man::new(cmd.clone())
        .section("8")
        .manual("System Administration");
    man.render_title(out)?;
    man.render_name_section(out)?;
    man.render_synopsis_section(out)?;
    man.render_description_section(out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(out)?;
    }
    let mut roff = Roff::new();
    let subcommands = visible_subcommands(&cmd);
    if !subcommands.is_empty() {
        roff.control("SH", ["COMMANDS"]);
        for sub in subcommands {
            commands(&mut roff, sub, cmd.get_name());
        }
    }
    if let Some(notes) = cmd.get_after_long_help().or(cmd.get_after_help()) {
        roff.control("SH", ["NOTES"]);
        preformatted(&mut roff, &notes.to_string());
    }
    if !extras.files.is_empty() {
        roff.control("SH", ["FILES"]);
        for (path, what) in extras.files {
            roff.control("TP", []);
            roff.text([bold(*path)]);
            roff.text([roman(*what)]);
        }
    }
    if !extras.see_also.is_empty() {
        roff.control("SH", ["SEE ALSO"]);
        roff.text([roman(extras.see_also.join(", "))]);
    }
    roff.to_writer(out)?;
    man.render_version_section(out)
}

/// The subcommands a user can type (neither hidden nor clap's own `help`).
fn visible_subcommands(cmd: &Command) -> Vec<&Command> {
    cmd.get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .collect()
}

/// One subsection per command: its full help as the binary prints it, then its subcommands.
fn commands(roff: &mut Roff, cmd: &Command, parent: &str) {
    let path = format!("{parent} {}", cmd.get_name());
    roff.control("SS", [path.as_str()]);
    preformatted(roff, &cmd.clone().render_long_help().to_string());
    for sub in visible_subcommands(cmd) {
        commands(roff, sub, &path);
    }
}

/// `text` line for line, as the terminal shows it (no filling, no hyphenation).
fn preformatted(roff: &mut Roff, text: &str) {
    roff.control("nf", []);
    for line in text.trim_end().lines() {
        roff.text([roman(line)]);
    }
    roff.control("fi", []);
}

/// Writes `cmd`'s completion script for `shell`.
pub fn write_completions(shell: clap_complete::Shell, mut cmd: Command, out: &mut dyn Write) {
    let name = cmd.get_name().to_string();
    clap_complete::generate(shell, &mut cmd, name, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn example() -> Command {
        Command::new("tool")
            .version("1.2.3")
            .about("Does things.")
            .arg(clap::Arg::new("socket").long("socket").help("The socket."))
            .subcommand(
                Command::new("peer")
                    .about("Peers.")
                    .after_help("Example:\n  tool peer add 198.18.0.2")
                    .subcommand(Command::new("add").about("Add one.")),
            )
            .subcommand(Command::new("secret").hide(true))
            .after_help("Exit status: 0 done.")
    }

    #[test]
    fn the_page_has_every_visible_command_and_the_extras_but_not_hidden_ones() {
        let mut out = Vec::new();
        let extras = Extras {
            summary: "does things",
            files: &[("/etc/tool.toml", "The configuration.")],
            see_also: &["other(8)"],
        };
        write_man_page(example(), &extras, &mut out).unwrap();
        let page = String::from_utf8(out).unwrap();
        assert!(page.starts_with(".ie"), "{page}");
        assert!(page.contains(".TH tool 8"), "{page}");
        for wanted in [
            ".SH COMMANDS",
            ".SS \"tool peer\"",
            ".SS \"tool peer add\"",
            "tool peer add 198.18.0.2",
            ".SH NOTES",
            "Exit status: 0 done.",
            ".SH FILES",
            "/etc/tool.toml",
            ".SH \"SEE ALSO\"",
            "other(8)",
            "1.2.3",
        ] {
            assert!(page.contains(wanted), "{wanted:?} missing from\n{page}");
        }
        assert!(!page.contains("secret"), "{page}");
    }
}
