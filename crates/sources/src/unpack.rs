use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use flate2::read::MultiGzDecoder;
use zip::ZipArchive;
use zip::result::ZipError;

/// Output a member may produce before the ratio cap applies: tiny, highly repetitive CSVs
/// (e.g. a header plus a few identical rows) legitimately compress far beyond any sane ratio.
const RATIO_GRACE_BYTES: u64 = 1 << 20;
/// Nested archives are refused rather than recursed into: each level would multiply the bomb
/// surface, and real exports never nest.
const NESTED_EXTENSIONS: &[&str] = &[
    ".zip", ".gz", ".tgz", ".tar", ".7z", ".rar", ".bz2", ".xz", ".zst",
];
const S_IFMT: u32 = 0o170_000;
const S_IFLNK: u32 = 0o120_000;
/// How many names `NoCsvMember` shows, so a 10 000-entry archive does not flood the terminal.
const FOUND_SHOWN: usize = 10;

/// Caps that make hostile archives fail fast instead of filling memory or disk.
#[derive(Debug, Clone)]
pub struct UnpackLimits {
    /// Total decompressed bytes over all members of one input.
    pub max_total_bytes: u64,
    /// Entries in a zip, all kinds (directories, junk, non-CSV) counted.
    pub max_entries: usize,
    /// Decompressed / compressed bytes per member, only enforced once a member has produced
    /// more than 1 MiB.
    pub max_ratio: u64,
}

impl Default for UnpackLimits {
    fn default() -> Self {
        Self {
            max_total_bytes: 8 << 30,
            max_entries: 10_000,
            max_ratio: 1_000,
        }
    }
}

/// How an input is packed. `Csv` is the default because it is what anything unrecognised is
/// treated as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InputFormat {
    #[default]
    Csv,
    Zip,
    Gzip,
}

/// Detects by magic bytes first (`PK\x03\x04` / `PK\x05\x06` → Zip, `1f 8b` → Gzip), falling
/// back to the extension (`.zip`, `.gz`), so a mislabelled archive is still unpacked and a
/// damaged one fails as a corrupt archive instead of being imported as CSV text.
pub fn detect_format(name: &str, head: &[u8]) -> InputFormat {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        return InputFormat::Zip;
    }
    if head.starts_with(&[0x1f, 0x8b]) {
        return InputFormat::Gzip;
    }
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".zip") {
        InputFormat::Zip
    } else if lower.ends_with(".gz") || lower.ends_with(".gzip") {
        InputFormat::Gzip
    } else {
        InputFormat::Csv
    }
}

/// What one unpack did.
#[derive(Debug, Clone, Default)]
pub struct UnpackReport {
    pub format: InputFormat,
    /// Names handed to the visitor, in order.
    pub members: Vec<String>,
    /// Zip entries left alone: macOS junk and non-CSV files (directories are not listed).
    pub skipped: Vec<String>,
    /// Bytes handed to the visitor over all members.
    pub bytes_out: u64,
}

/// Why an input could not be unpacked. Generic over the visitor's error so the caller keeps it
/// typed in [`UnpackError::Visitor`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnpackError<E> {
    #[error("cannot read `{}`: {source}; check that the file exists and is readable, then retry", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error(
        "zip entry `{entry}` in `{archive}` {reason}; refusing the archive: re-download it or extract the CSV yourself and import that"
    )]
    UnsafeEntry {
        archive: String,
        entry: String,
        reason: String,
    },
    #[error(
        "member `{member}` of `{archive}` decompresses past the {} cap on unpacked bytes; raise `max_total_bytes` if the file is trusted, or import the CSV directly", human(*limit_bytes)
    )]
    TooLarge {
        archive: String,
        member: String,
        limit_bytes: u64,
    },
    #[error(
        "member `{member}` of `{archive}` decompresses to more than {max_ratio}x its compressed size, which looks like a zip bomb; raise `max_ratio` if the file is trusted, or import the CSV directly"
    )]
    RatioExceeded {
        archive: String,
        member: String,
        max_ratio: u64,
    },
    #[error(
        "`{archive}` holds {entries} entries, more than the {limit} allowed; raise `max_entries` if the archive is trusted, or extract the CSVs you need and import those"
    )]
    TooManyEntries {
        archive: String,
        entries: usize,
        limit: usize,
    },
    #[error(
        "zip entry `{entry}` in `{archive}` is encrypted and gridlake does not take passwords; extract it with its password and import the CSV"
    )]
    Encrypted { archive: String, entry: String },
    #[error(
        "zip entry `{entry}` in `{archive}` is itself an archive and nested archives are not unpacked; extract it and import the inner file directly"
    )]
    Nested { archive: String, entry: String },
    #[error(
        "`{archive}` holds no CSV member; found: {}; import an archive whose data files end in `.csv`, or extract the data and import it as a `.csv` file",
        found_list(found)
    )]
    NoCsvMember { archive: String, found: Vec<String> },
    #[error("{}; re-download it, or check how it was produced", corrupt_subject(archive, member.as_deref(), detail))]
    Corrupt {
        archive: String,
        member: Option<String>,
        detail: String,
    },
    #[error(transparent)]
    Visitor(E),
}

fn human(bytes: u64) -> String {
    for (unit, shift) in [("GiB", 30), ("MiB", 20), ("KiB", 10)] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes}-byte")
}

fn found_list(found: &[String]) -> String {
    if found.is_empty() {
        return "nothing (the archive is empty)".to_owned();
    }
    let mut list = found[..found.len().min(FOUND_SHOWN)].join(", ");
    if found.len() > FOUND_SHOWN {
        list.push_str(&format!(", … ({} more)", found.len() - FOUND_SHOWN));
    }
    list
}

fn corrupt_subject(archive: &str, member: Option<&str>, detail: &str) -> String {
    match member {
        Some(member) => format!("member `{member}` of `{archive}` is corrupt ({detail})"),
        None => format!("`{archive}` is corrupt or not a valid archive ({detail})"),
    }
}

/// Streams every CSV member of `path` through `visit(member_name, reader)`; see
/// [`unpack_reader`] for the rules.
pub fn unpack_file<E>(
    path: &Path,
    limits: &UnpackLimits,
    visit: impl FnMut(&str, &mut dyn Read) -> Result<(), E>,
) -> Result<UnpackReport, UnpackError<E>> {
    let file = File::open(path).map_err(|source| UnpackError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let name = path
        .file_name()
        .map_or_else(|| path.to_string_lossy(), |n| n.to_string_lossy());
    unpack(
        &name,
        path,
        BufReader::with_capacity(64 << 10, file),
        limits,
        visit,
    )
}

/// Streams every CSV member of `reader` (read from its start) through `visit`; `name` is the
/// input's display name. A plain CSV is one member named after `name`'s last path component; a
/// gzip is one member named the same minus `.gz`; a zip yields each regular `.csv` entry in archive order, named
/// `<name>!<entry>`, skipping `__MACOSX/` and dot-file junk. Unsafe, encrypted or nested zip
/// entries refuse the whole archive before any member is visited. The reader given to `visit`
/// counts the bytes actually produced (declared sizes are not trusted) and fails with
/// `InvalidData` past a cap or on corruption; that failure is what this function returns, even
/// if the visitor swallowed it or turned it into its own error. Plain CSVs are not capped, as
/// nothing is decompressed. Integrity (CRC, declared size) is only known at a member's end, so a
/// visitor that stops reading early gets no verdict on the rest.
pub fn unpack_reader<R: Read + Seek, E>(
    name: &str,
    reader: R,
    limits: &UnpackLimits,
    visit: impl FnMut(&str, &mut dyn Read) -> Result<(), E>,
) -> Result<UnpackReport, UnpackError<E>> {
    unpack(name, Path::new(name), reader, limits, visit)
}

/// Input position shared between the raw reader (owned by the decoder) and the capped reader,
/// which needs it for the ratio check.
#[derive(Debug)]
struct Counting<R> {
    inner: R,
    consumed: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.set(self.consumed.get() + n as u64);
        Ok(n)
    }
}

impl<R: Seek> Seek for Counting<R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}

struct Ctx<'a> {
    archive: &'a str,
    io_path: &'a Path,
    limits: &'a UnpackLimits,
}

impl Ctx<'_> {
    fn io<E>(&self, source: io::Error) -> UnpackError<E> {
        UnpackError::Io {
            path: self.io_path.to_path_buf(),
            source,
        }
    }

    fn corrupt<E>(&self, member: Option<&str>, detail: impl ToString) -> UnpackError<E> {
        UnpackError::Corrupt {
            archive: self.archive.to_owned(),
            member: member.map(str::to_owned),
            detail: detail.to_string(),
        }
    }

    fn zip<E>(&self, member: Option<&str>, err: ZipError) -> UnpackError<E> {
        match err {
            ZipError::Io(e) if !is_data_error(&e) => self.io(e),
            other => self.corrupt(member, other),
        }
    }

    fn unsafe_entry<E>(&self, entry: &str, reason: &str) -> UnpackError<E> {
        UnpackError::UnsafeEntry {
            archive: self.archive.to_owned(),
            entry: entry.to_owned(),
            reason: reason.to_owned(),
        }
    }
}

fn is_data_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput | io::ErrorKind::UnexpectedEof
    )
}

fn unpack<R: Read + Seek, E>(
    name: &str,
    io_path: &Path,
    mut reader: R,
    limits: &UnpackLimits,
    mut visit: impl FnMut(&str, &mut dyn Read) -> Result<(), E>,
) -> Result<UnpackReport, UnpackError<E>> {
    let ctx = Ctx {
        archive: name,
        io_path,
        limits,
    };
    let mut head = Vec::with_capacity(4);
    reader.rewind().map_err(|e| ctx.io(e))?;
    (&mut reader)
        .take(4)
        .read_to_end(&mut head)
        .map_err(|e| ctx.io(e))?;
    reader.rewind().map_err(|e| ctx.io(e))?;
    let format = detect_format(name, &head);
    let mut report = UnpackReport {
        format,
        ..UnpackReport::default()
    };
    match format {
        InputFormat::Csv => {
            let member = base_name(name);
            // Nothing is decompressed, so there is nothing to amplify: a plain CSV is uncapped.
            let mut capped = Capped::new(reader, None, None);
            visit_member(&ctx, member, member, &mut capped, &mut visit, &mut report)?;
        }
        InputFormat::Gzip => {
            let base = base_name(name);
            let member = strip_suffix_ci(base, ".gz").unwrap_or(base);
            let consumed = Rc::new(Cell::new(0));
            let decoder = MultiGzDecoder::new(Counting {
                inner: reader,
                consumed: consumed.clone(),
            });
            let caps = Caps::new(limits, &report, consumed);
            let mut capped = Capped::new(decoder, Some(caps), None);
            visit_member(&ctx, member, member, &mut capped, &mut visit, &mut report)?;
        }
        InputFormat::Zip => unpack_zip(&ctx, reader, &mut visit, &mut report)?,
    }
    Ok(report)
}

fn unpack_zip<R: Read + Seek, E>(
    ctx: &Ctx<'_>,
    reader: R,
    visit: &mut impl FnMut(&str, &mut dyn Read) -> Result<(), E>,
    report: &mut UnpackReport,
) -> Result<(), UnpackError<E>> {
    let consumed = Rc::new(Cell::new(0));
    let mut zip = ZipArchive::new(Counting {
        inner: reader,
        consumed: consumed.clone(),
    })
    .map_err(|e| ctx.zip(None, e))?;
    if zip.len() > ctx.limits.max_entries {
        return Err(UnpackError::TooManyEntries {
            archive: ctx.archive.to_owned(),
            entries: zip.len(),
            limit: ctx.limits.max_entries,
        });
    }
    // Two entries with one name would let a second payload hide behind the first.
    if zip.has_duplicate_names() {
        return Err(ctx.corrupt(None, "the same entry name appears twice"));
    }
    // Vet every entry before visiting any, so a refused archive never half-imports.
    let mut csv = Vec::new();
    let mut found = Vec::new();
    for index in 0..zip.len() {
        let entry = zip.by_index_data(index).map_err(|e| ctx.zip(None, e))?;
        let name = entry.name().map_err(|e| ctx.zip(None, e))?.into_owned();
        if let Some(reason) = unsafe_path(&name) {
            return Err(ctx.unsafe_entry(&name, reason));
        }
        if entry
            .unix_mode()
            .is_some_and(|mode| mode & S_IFMT == S_IFLNK)
        {
            return Err(ctx.unsafe_entry(&name, "is a symbolic link"));
        }
        if entry.is_dir() {
            continue;
        }
        if is_junk(&name) {
            report.skipped.push(name);
            continue;
        }
        if entry.encrypted() {
            return Err(UnpackError::Encrypted {
                archive: ctx.archive.to_owned(),
                entry: name,
            });
        }
        let lower = name.to_ascii_lowercase();
        if NESTED_EXTENSIONS.iter().any(|ext| lower.ends_with(ext)) {
            return Err(UnpackError::Nested {
                archive: ctx.archive.to_owned(),
                entry: name,
            });
        }
        if lower.ends_with(".csv") {
            csv.push((index, name));
        } else {
            report.skipped.push(name.clone());
            found.push(name);
        }
    }
    if csv.is_empty() {
        return Err(UnpackError::NoCsvMember {
            archive: ctx.archive.to_owned(),
            found,
        });
    }
    for (index, entry) in csv {
        let file = zip.by_index(index).map_err(|e| ctx.zip(Some(&entry), e))?;
        let declared = file.size();
        let caps = Caps::new(ctx.limits, report, consumed.clone());
        let mut capped = Capped::new(file, Some(caps), Some(declared));
        let display = format!("{}!{entry}", ctx.archive);
        visit_member(ctx, &entry, &display, &mut capped, visit, report)?;
    }
    Ok(())
}

fn visit_member<I: Read, E>(
    ctx: &Ctx<'_>,
    member: &str,
    display: &str,
    capped: &mut Capped<I>,
    visit: &mut impl FnMut(&str, &mut dyn Read) -> Result<(), E>,
    report: &mut UnpackReport,
) -> Result<(), UnpackError<E>> {
    let outcome = visit(display, capped);
    report.bytes_out += capped.out;
    // Our own failure wins: the visitor's error is most likely just a wrapper around it.
    if let Some(failure) = capped.failure.take() {
        let (archive, member) = (ctx.archive.to_owned(), member.to_owned());
        return Err(match failure {
            Failure::TooLarge => UnpackError::TooLarge {
                archive,
                member,
                limit_bytes: ctx.limits.max_total_bytes,
            },
            Failure::Ratio => UnpackError::RatioExceeded {
                archive,
                member,
                max_ratio: ctx.limits.max_ratio,
            },
            Failure::Corrupt(detail) => ctx.corrupt(Some(&member), detail),
            Failure::Io(e) => ctx.io(e),
        });
    }
    outcome.map_err(UnpackError::Visitor)?;
    report.members.push(display.to_owned());
    Ok(())
}

fn base_name(name: &str) -> &str {
    name.rsplit(['/', '\\']).next().unwrap_or(name)
}

fn strip_suffix_ci<'a>(name: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = name.len().checked_sub(suffix.len())?;
    (name.is_char_boundary(cut) && name[cut..].eq_ignore_ascii_case(suffix)).then(|| &name[..cut])
}

/// Even though nothing is written to disk today, such names only come from crafted archives,
/// and refusing them keeps member names safe for whoever uses them as paths later.
fn unsafe_path(name: &str) -> Option<&'static str> {
    let bytes = name.as_bytes();
    if name.contains('\0') {
        return Some("has a NUL byte in its name");
    }
    if name.starts_with(['/', '\\'])
        || (bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':')
    {
        return Some("is an absolute path");
    }
    if name.split(['/', '\\']).any(|part| part == "..") {
        return Some("escapes the archive (path traversal)");
    }
    None
}

/// macOS zips carry `__MACOSX/._x.csv` resource forks and `.DS_Store`; they are not data.
fn is_junk(name: &str) -> bool {
    name.split(['/', '\\']).next() == Some("__MACOSX") || base_name(name).starts_with('.')
}

struct Caps {
    remaining_total: u64,
    max_ratio: u64,
    consumed: Rc<Cell<u64>>,
    consumed_at_start: u64,
}

impl Caps {
    fn new(limits: &UnpackLimits, report: &UnpackReport, consumed: Rc<Cell<u64>>) -> Self {
        Self {
            remaining_total: limits.max_total_bytes.saturating_sub(report.bytes_out),
            max_ratio: limits.max_ratio,
            consumed_at_start: consumed.get(),
            consumed,
        }
    }
}

#[derive(Debug)]
enum Failure {
    TooLarge,
    Ratio,
    Corrupt(String),
    Io(io::Error),
}

impl Failure {
    /// A fresh error for the visitor each time it reads, since `io::Error` is not `Clone`.
    fn to_io(&self) -> io::Error {
        match self {
            Self::TooLarge => io::Error::new(
                io::ErrorKind::InvalidData,
                "decompressed data exceeds `max_total_bytes`",
            ),
            Self::Ratio => io::Error::new(
                io::ErrorKind::InvalidData,
                "decompression ratio exceeds `max_ratio`",
            ),
            Self::Corrupt(detail) => io::Error::new(
                io::ErrorKind::InvalidData,
                format!("corrupt member: {detail}"),
            ),
            Self::Io(e) => io::Error::new(e.kind(), e.to_string()),
        }
    }
}

/// The reader handed to the visitor: counts what it really produces and records the first
/// failure so `unpack` can report it whatever the visitor does with the `io::Error`.
struct Capped<I> {
    inner: I,
    caps: Option<Caps>,
    declared_size: Option<u64>,
    out: u64,
    failure: Option<Failure>,
}

impl<I: Read> Capped<I> {
    fn new(inner: I, caps: Option<Caps>, declared_size: Option<u64>) -> Self {
        Self {
            inner,
            caps,
            declared_size,
            out: 0,
            failure: None,
        }
    }

    fn fail(&mut self, failure: Failure) -> io::Error {
        let err = failure.to_io();
        self.failure = Some(failure);
        err
    }

    fn check(&self, n: u64) -> Option<Failure> {
        let caps = self.caps.as_ref()?;
        let out = self.out + n;
        if out > caps.remaining_total {
            return Some(Failure::TooLarge);
        }
        let consumed = (caps.consumed.get() - caps.consumed_at_start).max(1);
        (out > RATIO_GRACE_BYTES && out > caps.max_ratio.saturating_mul(consumed))
            .then_some(Failure::Ratio)
    }
}

impl<I: Read> Read for Capped<I> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(failure) = &self.failure {
            return Err(failure.to_io());
        }
        let n = match self.inner.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) if is_data_error(&e) => return Err(self.fail(Failure::Corrupt(e.to_string()))),
            Err(e) => return Err(self.fail(Failure::Io(e))),
        };
        if n == 0 && !buf.is_empty() {
            // The zip crate refuses output past the declared size; a short entry is ours to catch.
            if let Some(declared) = self.declared_size.filter(|&d| d != self.out) {
                let detail = format!("holds {} bytes but declares {declared}", self.out);
                return Err(self.fail(Failure::Corrupt(detail)));
            }
        }
        if let Some(failure) = self.check(n as u64) {
            return Err(self.fail(failure));
        }
        self.out += n as u64;
        Ok(n)
    }
}
