//! Secrets come in on stdin or at a prompt that does not echo; never from
//! argv, where every user of the machine can read them in `ps`.

use std::io::{IsTerminal, Read};

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// More than any token or password; stops `cat /dev/zero | …` early.
const MAX_SECRET: u64 = 64 * 1024;

pub fn read_secret(prompt: &str) -> Result<SecretString> {
    let stdin = std::io::stdin();
    let value = if stdin.is_terminal() {
        Zeroizing::new(
            rpassword::prompt_password(prompt).map_err(|e| Error::Prompt(e.to_string()))?,
        )
    } else {
        let mut buf = Zeroizing::new(String::new());
        stdin
            .lock()
            .take(MAX_SECRET)
            .read_to_string(&mut buf)
            .map_err(Error::io("stdin", "read"))?;
        buf
    };
    // One trailing newline is how `echo` and here-strings end a line, not
    // part of the secret.
    let trimmed = value
        .strip_suffix("\r\n")
        .or_else(|| value.strip_suffix('\n'))
        .unwrap_or(&value);
    if trimmed.is_empty() {
        return Err(Error::EmptySecret);
    }
    Ok(SecretString::from(trimmed))
}
