//! Published checksums: Binance ships `<file>.CHECKSUM` next to each archive, in `sha256sum`'s
//! format (`<64 hex digits><two spaces><file name>`).

use super::{ChecksumError, Downloaded};

/// The lowercase sha256 that `text` (the content of a `sha256sum`-style file) gives for
/// `expected_file_name`. Lines may use the text (`hash  name`) or binary (`hash *name`) marker;
/// a listed name with a directory part matches on its last component. Blank lines are skipped.
pub fn parse_sha256sum_line(text: &str, expected_file_name: &str) -> Result<String, ChecksumError> {
    let mut found = Vec::new();
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        let malformed = |reason| ChecksumError::Malformed {
            line: line.chars().take(120).collect(),
            reason,
        };
        let (digest, rest) = line
            .split_at_checked(64)
            .ok_or_else(|| malformed("shorter than a 64-digit sha256"))?;
        if !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(malformed("the first 64 characters are not hex digits"));
        }
        let name = rest
            .strip_prefix("  ")
            .or_else(|| rest.strip_prefix(" *"))
            .ok_or_else(|| malformed("the digest is not followed by two spaces and a file name"))?;
        if name.is_empty() {
            return Err(malformed("no file name after the digest"));
        }
        let base = name.rsplit('/').next().unwrap_or(name);
        if name == expected_file_name || base == expected_file_name {
            return Ok(digest.to_ascii_lowercase());
        }
        found.push(name.to_owned());
    }
    if found.is_empty() {
        return Err(ChecksumError::Malformed {
            line: String::new(),
            reason: "the checksum file is empty",
        });
    }
    Err(ChecksumError::WrongFile {
        expected: expected_file_name.to_owned(),
        found,
    })
}

/// Checks a download against a published sha256 (hex, either case).
pub fn verify_sha256(downloaded: &Downloaded, expected: &str) -> Result<(), ChecksumError> {
    if downloaded.sha256.eq_ignore_ascii_case(expected.trim()) {
        Ok(())
    } else {
        Err(ChecksumError::Mismatch {
            expected: expected.trim().to_ascii_lowercase(),
            actual: downloaded.sha256.clone(),
            url: downloaded.final_url.clone(),
        })
    }
}
