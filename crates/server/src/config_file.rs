//! `coffer server --config FILE`: a TOML file whose keys are the server's
//! flags in snake case (`data_dir` for `--data-dir`, `region` for the
//! repeatable `--region`, `no_console = true` for `--no-console`).
//!
//! Precedence is flags > environment > file > defaults: after clap has
//! parsed the command line and the environment, every key of the file whose
//! flag clap filled from its default is turned back into that flag, and the
//! whole is parsed again, so the file's values meet the same parsers (and
//! errors) as the flags'. An unknown key is an error that names it.

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command};
use std::ffi::OsString;
use std::fmt::Write as _;

/// Why a configuration file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    #[error("{file}: unknown key `{key}` (keys are the flags of `coffer server` in snake case; `coffer config print-default` lists them)")]
    UnknownKey { file: String, key: String },
    #[error("{file}: key `{key}`: {message}")]
    BadValue { file: String, key: String, message: String },
}

/// Flags a file may not set: clap's own, and `--config` itself.
const NOT_SETTABLE: [&str; 3] = ["help", "version", "config"];

/// The file key of a flag.
fn key_of(arg: &clap::Arg) -> Option<String> {
    let long = arg.get_long()?;
    (!NOT_SETTABLE.contains(&long)).then(|| long.replace('-', "_"))
}

fn is_switch(arg: &clap::Arg) -> bool {
    matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse)
}

fn takes_many(arg: &clap::Arg) -> bool {
    matches!(arg.get_action(), ArgAction::Append)
}

/// The flags (`--name=value`, `--switch`) that the file `text` (named
/// `file` in errors) adds to a command line `matches` was parsed from:
/// only those whose value clap took from its default.
pub fn file_args(cmd: &Command, matches: &ArgMatches, file: &str, text: &str) -> Result<Vec<OsString>, ConfigError> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| ConfigError::Syntax { file: file.to_owned(), message: e.to_string() })?;
    let mut out = Vec::new();
    for (key, value) in &table {
        let arg = cmd
            .get_arguments()
            .find(|a| key_of(a).as_deref() == Some(key.as_str()))
            .ok_or_else(|| ConfigError::UnknownKey { file: file.to_owned(), key: key.clone() })?;
        let bad = |message: String| ConfigError::BadValue { file: file.to_owned(), key: key.clone(), message };
        let values = flag_values(arg, value).map_err(bad)?;
        let given = matches!(
            matches.value_source(arg.get_id().as_str()),
            Some(ValueSource::CommandLine | ValueSource::EnvVariable)
        );
        if !given {
            out.extend(values);
        }
    }
    Ok(out)
}

/// The flags one key's value stands for.
fn flag_values(arg: &clap::Arg, value: &toml::Value) -> Result<Vec<OsString>, String> {
    let long = arg.get_long().unwrap_or_default();
    if is_switch(arg) {
        return match value {
            toml::Value::Boolean(true) => Ok(vec![format!("--{long}").into()]),
            toml::Value::Boolean(false) => Ok(Vec::new()),
            _ => Err("expected true or false".into()),
        };
    }
    let one = |v: &toml::Value| -> Result<OsString, String> {
        let text = match v {
            toml::Value::String(s) => s.clone(),
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            _ => return Err("expected a string, a number or a boolean".into()),
        };
        Ok(format!("--{long}={text}").into())
    };
    match value {
        toml::Value::Array(items) if takes_many(arg) => items.iter().map(one).collect(),
        toml::Value::Array(_) => Err("takes one value, not a list".into()),
        v if takes_many(arg) => Ok(vec![one(v)?]),
        v => Ok(vec![one(v)?]),
    }
}

/// The full default file: every settable flag, documented, with its
/// default (commented out where it has none).
pub fn print_default(cmd: &Command) -> String {
    let mut out = String::from(
        "# Coffer server configuration: `coffer server --config coffer.toml`.\n\
         # Every key is a flag of `coffer server` in snake case. A flag given on the\n\
         # command line or in its environment variable overrides the file.\n",
    );
    for arg in cmd.get_arguments() {
        let Some(key) = key_of(arg) else { continue };
        out.push('\n');
        let help = arg.get_long_help().or(arg.get_help()).map(|h| h.to_string()).unwrap_or_default();
        for line in help.lines() {
            let _ = writeln!(out, "# {}", line.trim_end());
        }
        let long = arg.get_long().unwrap_or_default();
        match arg.get_env() {
            Some(env) => {
                let _ = writeln!(out, "# Flag --{long}; environment {}.", env.to_string_lossy());
            }
            None => {
                let _ = writeln!(out, "# Flag --{long}.");
            }
        }
        let defaults: Vec<String> = arg.get_default_values().iter().map(|d| d.to_string_lossy().into_owned()).collect();
        let _ = writeln!(out, "{}", default_line(arg, &key, &defaults));
    }
    out
}

fn default_line(arg: &clap::Arg, key: &str, defaults: &[String]) -> String {
    let literal = |d: &str| match d.parse::<i64>() {
        Ok(n) => n.to_string(),
        Err(_) => toml::Value::String(d.to_owned()).to_string(),
    };
    if is_switch(arg) {
        return format!("{key} = false");
    }
    match defaults {
        [] if takes_many(arg) => format!("# {key} = []"),
        [] => format!("# {key} = \"\""),
        _ if takes_many(arg) => {
            format!("{key} = [{}]", defaults.iter().map(|d| literal(d)).collect::<Vec<_>>().join(", "))
        }
        [d, ..] => format!("{key} = {}", literal(d)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, Command};

    fn cmd() -> Command {
        Command::new("server")
            .arg(Arg::new("config").long("config"))
            .arg(Arg::new("data_dir").long("data-dir").env("TEST_CF_DATA_DIR").default_value("./data").help("Where."))
            .arg(Arg::new("listen").long("listen").default_value("127.0.0.1:9000"))
            .arg(Arg::new("idle").long("idle-timeout-secs").default_value("30").value_parser(clap::value_parser!(u64)))
            .arg(Arg::new("regions").long("region").action(ArgAction::Append).default_value("us-east-1"))
            .arg(Arg::new("no_console").long("no-console").action(ArgAction::SetTrue))
            .arg(Arg::new("meta").long("meta"))
    }

    fn added(argv: &[&str], text: &str) -> Result<Vec<String>, ConfigError> {
        let m = cmd().try_get_matches_from(argv).unwrap();
        Ok(file_args(&cmd(), &m, "c.toml", text)?.into_iter().map(|a| a.into_string().unwrap()).collect())
    }

    #[test]
    fn the_file_fills_what_flags_left_to_defaults() {
        let text = "data_dir = \"/srv/coffer\"\nlisten = \"0.0.0.0:80\"\nidle_timeout_secs = 60\n\
                    region = [\"eu\", \"us\"]\nno_console = true\nmeta = \"sqlite:///x.db\"\n";
        let mut got = added(&["server"], text).unwrap();
        got.sort();
        let mut want = [
            "--data-dir=/srv/coffer",
            "--listen=0.0.0.0:80",
            "--idle-timeout-secs=60",
            "--region=eu",
            "--region=us",
            "--no-console",
            "--meta=sqlite:///x.db",
        ];
        want.sort();
        assert_eq!(got, want);
        // A flag on the command line wins over the file.
        let got = added(&["server", "--listen", "127.0.0.1:1"], text).unwrap();
        assert!(!got.iter().any(|a| a.starts_with("--listen")), "{got:?}");
        assert!(added(&["server"], "no_console = false").unwrap().is_empty());
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        // Only this test sets this variable.
        std::env::set_var("TEST_CF_DATA_DIR", "/from/env");
        let got = added(&["server"], "data_dir = \"/from/file\"").unwrap();
        std::env::remove_var("TEST_CF_DATA_DIR");
        assert!(got.is_empty(), "{got:?}");
    }

    #[test]
    fn bad_files_are_refused_by_key() {
        let e = added(&["server"], "lissen = \"x\"").unwrap_err();
        assert!(e.to_string().contains("unknown key `lissen`"), "{e}");
        let e = added(&["server"], "config = \"other.toml\"").unwrap_err();
        assert!(matches!(e, ConfigError::UnknownKey { .. }), "{e}");
        let e = added(&["server"], "no_console = \"yes\"").unwrap_err();
        assert!(e.to_string().contains("key `no_console`: expected true or false"), "{e}");
        let e = added(&["server"], "listen = [\"a\", \"b\"]").unwrap_err();
        assert!(e.to_string().contains("takes one value"), "{e}");
        let e = added(&["server"], "listen = { host = \"a\" }").unwrap_err();
        assert!(matches!(e, ConfigError::BadValue { .. }), "{e}");
        let e = added(&["server"], "listen = ").unwrap_err();
        assert!(matches!(e, ConfigError::Syntax { .. }), "{e}");
        // Flag spellings are not keys.
        assert!(matches!(added(&["server"], "data-dir = \"x\"").unwrap_err(), ConfigError::UnknownKey { .. }));
    }

    #[test]
    fn the_default_file_is_documented_and_reads_back() {
        let text = print_default(&cmd());
        assert!(
            text.contains("# Where.\n# Flag --data-dir; environment TEST_CF_DATA_DIR.\ndata_dir = \"./data\"\n"),
            "{text}"
        );
        assert!(text.contains("idle_timeout_secs = 30\n"), "{text}");
        assert!(text.contains("region = [\"us-east-1\"]\n") && text.contains("no_console = false\n"), "{text}");
        assert!(text.contains("# meta = \"\"\n") && !text.contains("config ="), "{text}");
        // Read back, it changes nothing but restating the defaults.
        let got = added(&["server"], &text).unwrap();
        assert!(got.contains(&"--data-dir=./data".to_owned()) && got.contains(&"--idle-timeout-secs=30".to_owned()));
    }
}
