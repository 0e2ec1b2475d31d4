//! `dprofile officer`: officers' accounts (create, list, disable, set-password). Officers sign
//! in to the API with `POST /v1/officer/sign-in`.

use std::io::BufRead as _;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use dprofile_pipeline::officers::{self, NewOfficerAccount};
use dprofile_policy::Policy;

use super::StoreLocation;

#[derive(Debug, Subcommand)]
pub enum OfficerCommand {
    /// Create an account in one agency and role of the access policy. The password is read
    /// from standard input with `--password-stdin`; otherwise one is generated and printed once.
    Create(CreateArgs),
    /// List the accounts (never the passwords: only argon2id hashes are stored).
    List,
    /// Disable an account: no sign-in from now on, and its open sessions end.
    Disable(LoginArgs),
    /// Set a new password (from standard input with `--password-stdin`, or generated and
    /// printed once); lifts a lock-out and ends the open sessions.
    SetPassword(SetPasswordArgs),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The sign-in name: 3 to 64 of lowercase letters, digits, `.`, `_`, `-` (`i.petrova`).
    #[arg(long)]
    login: String,
    /// The agency the officer acts for (`mvd-migration`, `fns`, …).
    #[arg(long)]
    agency: String,
    /// A role of the access policy (`migration_officer`, `tax_inspector`, …).
    #[arg(long)]
    role: String,
    /// The name shown to colleagues (the login when left out).
    #[arg(long, default_value = "")]
    display_name: String,
    /// Read the password from the first line of standard input instead of generating one.
    #[arg(long)]
    password_stdin: bool,
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// The officer's login, as `officer list` shows it.
    login: String,
}

#[derive(Debug, Args)]
pub struct SetPasswordArgs {
    /// The officer's login, as `officer list` shows it.
    login: String,
    /// Read the password from the first line of standard input instead of generating one.
    #[arg(long)]
    password_stdin: bool,
}

/// The password: the first line of standard input, or a generated one (`true`: print it).
fn password(from_stdin: bool) -> anyhow::Result<(String, bool)> {
    if !from_stdin {
        return Ok((officers::generate_password()?, true));
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    Ok((line.trim_end_matches(['\r', '\n']).to_owned(), false))
}

pub fn run(location: &StoreLocation, command: OfficerCommand) -> anyhow::Result<ExitCode> {
    let store = location.open()?;
    let now = chrono::Utc::now();
    match command {
        OfficerCommand::Create(args) => {
            let (password, generated) = password(args.password_stdin)?;
            let officer = officers::create(
                store.as_ref(),
                &Policy::default_policy(),
                &NewOfficerAccount {
                    login: &args.login,
                    display_name: &args.display_name,
                    agency: &args.agency,
                    role: &args.role,
                    password: &password,
                },
                now,
            )
            .context("cannot create the officer")?;
            eprintln!(
                "created officer `{}` ({}) for agency `{}` as `{}`",
                officer.login, officer.display_name, officer.agency, officer.role
            );
            if generated {
                eprintln!("the password is shown only now; hand it over securely:");
                println!("{password}");
            }
        }
        OfficerCommand::List => {
            println!("id\tlogin\tagency\trole\tstatus\tcreated_at\tdisplay_name");
            for officer in store.officers()? {
                let status = match (officer.disabled_at, officer.locked_until) {
                    (Some(at), _) => format!("disabled {}", at.to_rfc3339()),
                    (None, Some(until)) if until > now => {
                        format!("locked until {}", until.to_rfc3339())
                    }
                    _ => "enabled".to_owned(),
                };
                println!(
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    officer.id,
                    officer.login,
                    officer.agency,
                    officer.role,
                    status,
                    officer.created_at.to_rfc3339(),
                    officer.display_name
                );
            }
        }
        OfficerCommand::Disable(args) => {
            officers::disable(store.as_ref(), &args.login, now)
                .context("cannot disable the officer")?;
            eprintln!(
                "officer `{}` is disabled and signed out everywhere",
                args.login
            );
        }
        OfficerCommand::SetPassword(args) => {
            let (password, generated) = password(args.password_stdin)?;
            officers::set_password(store.as_ref(), &args.login, &password, now)
                .context("cannot set the password")?;
            eprintln!(
                "officer `{}` has a new password; open sessions have ended",
                args.login
            );
            if generated {
                eprintln!("the password is shown only now; hand it over securely:");
                println!("{password}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
