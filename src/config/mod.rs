//! The TOML configuration: schema, defaults and validation, with file, line and field in every
//! error.
//!
//! An operator who mistypes a config must be told exactly where, and nothing must be applied:
//!
//! ```text
//! config/baton.toml:12:13: peer[1].remote_as: AS 0 is not a valid AS number (RFC 7607)
//! ```
//!
//! Validation happens in two places, so that both know the position:
//! - checks on one value run inside deserialization (`value.rs`), so the TOML parser's span of
//!   the value comes back with the error, and `serde_path_to_error` gives the field path;
//! - checks across values (duplicate peers, next hop family) run on the typed [`Config`]
//!   (`validate.rs`) and name a field path, whose position is then looked up in a span-keeping
//!   parse of the same text.
//!
//! The shipped `config/default.toml` is embedded: [`Config::default_config`].

mod api_access;
mod api_tls;
mod error;
pub mod fib;
pub mod plan;
pub mod routes_file;
mod schema;
mod security;
mod socket;
mod validate;
mod value;

#[cfg(test)]
pub(crate) mod tests;

use std::path::Path;

pub use api_tls::TlsFailure;
pub use error::{ConfigError, Position};
pub use fib::Fib;
pub use plan::Plan;
pub use schema::{Api, Config, Global, GracefulRestart, Peer, Route, CONTROL_SOCKET_NAME};
pub use security::{MaxPrefixes, MaxPrefixesAction, Password, MAX_PASSWORD_LEN};
pub use socket::{SocketGroup, SocketMode};

// For the REST API, which validates peers and routes exactly as the config file does.
pub(crate) use error::{serde_field, FieldPath};
pub(crate) use validate::{check_peer, check_route, check_routes, complete_peer};
pub(crate) use value::parse_text;

/// Parse and validate a configuration. `file_name` is only used to name the file in errors.
/// `[global] routes_file` is not read here: [`load`] reads it.
pub fn parse(text: &str, file_name: &str) -> Result<Config, ConfigError> {
    let deserializer = toml::Deserializer::new(text);
    let mut config: Config = serde_path_to_error::deserialize(deserializer)
        .map_err(|e| error::from_toml(text, file_name, e))?;
    validate::complete_and_check(&mut config)
        .map_err(|(path, message)| error::at_path(text, file_name, &path, message))?;
    Ok(config)
}

/// Read, parse and validate the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    read(path).map(|(_, _, config)| config)
}

/// [`load`], also returning the text and the file's name (for errors found later).
fn read(path: &Path) -> Result<(String, String, Config), ConfigError> {
    let (text, file, mut config) = read_settings(path)?;
    add_routes_file(&mut config)?;
    Ok((text, file, config))
}

/// The file parsed and checked, without the routes of its `routes_file`.
fn read_settings(path: &Path) -> Result<(String, String, Config), ConfigError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
        file: file.clone(),
        source,
    })?;
    let config = parse(&text, &file)?;
    check_password_file_mode(path, &text, &file, &config)?;
    Ok((text, file, config))
}

/// Read and validate the configuration file at `path` without reading its `routes_file`:
/// `routes` holds the `[[route]]` tables only. With [`check_routes_file`], this is what the
/// supervisor needs: the listeners, the peers and the state directory, never the routes (the
/// speaker reads those), whose copy would cost it hundreds of MiB at a million routes.
pub fn load_settings(path: &Path) -> Result<Config, ConfigError> {
    read_settings(path).map(|(_, _, config)| config)
}

/// Check the `routes_file` of `config` (from [`load_settings`]) line by line, keeping none of
/// its routes: the errors [`load`] would give.
pub fn check_routes_file(config: &Config) -> Result<(), ConfigError> {
    let Some(path) = &config.global.routes_file else {
        return Ok(());
    };
    let taken = config.routes.iter().map(|r| r.prefix).collect();
    routes_file::check(path, &taken)
}

/// Append the routes of `[global] routes_file`, if any, to `config.routes`.
fn add_routes_file(config: &mut Config) -> Result<(), ConfigError> {
    let Some(path) = config.global.routes_file.clone() else {
        return Ok(());
    };
    let taken = config.routes.iter().map(|r| r.prefix).collect();
    let more = routes_file::read(&path, &taken)?;
    if config.routes.is_empty() {
        config.routes = more;
    } else {
        config.routes.extend(more);
    }
    Ok(())
}

/// A configuration file holding a TCP-MD5 `password` must be readable by its owner only.
fn check_password_file_mode(
    path: &Path,
    text: &str,
    file: &str,
    config: &Config,
) -> Result<(), ConfigError> {
    let Some(i) = config.peers.iter().position(|p| p.password.is_some()) else {
        return Ok(());
    };
    security::check_private(path, "configuration file").map_err(|message| {
        error::at_path(
            text,
            file,
            &FieldPath::key("peer").at(i).field("password"),
            message,
        )
    })
}

/// Read the configuration file at `path` for a reload of a daemon running `running`: fully
/// validated like [`load`], and refused (naming the field and its line) if it changes what only
/// a restart of batond can change ([`plan::FIXED_FIELDS`]).
pub fn load_for_reload(path: &Path, running: &Config) -> Result<Config, ConfigError> {
    let (text, file, config) = read(path)?;
    let fixed = plan::global_changes(running, &config)
        .into_iter()
        .find(|f| plan::FIXED_FIELDS.contains(&f.as_str()));
    if let Some(field) = fixed {
        let mut keys = field.split('.');
        let mut at = FieldPath::key(keys.next().unwrap_or_default());
        for k in keys {
            at = at.field(k);
        }
        return Err(error::at_path(
            &text,
            &file,
            &at,
            "cannot change while batond runs (the supervisor holds it): restart batond to change it"
                .into(),
        ));
    }
    Ok(config)
}
