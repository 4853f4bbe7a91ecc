//! Fast parsing of the date and timestamp texts sources send, and their conversion to UTC.
//!
//! chrono's `parse_from_str` re-reads the format string on every call and allocates on error; at millions of
//! rows per second that dominates the converter. Formats are therefore compiled once into [`TimeFormat`]
//! items, parsed into civil fields without allocation, and turned into epoch microseconds with the
//! days-from-civil arithmetic. Zone rules still come from chrono-tz; a one-hour cache keeps the lookup off
//! the hot path, since rows of one file cluster in time.

use chrono::{LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone};
use chrono_tz::Tz;

pub(crate) const MICROS_PER_SEC: i64 = 1_000_000;
pub(crate) const MICROS_PER_HOUR: i64 = 3_600 * MICROS_PER_SEC;
pub(crate) const MICROS_PER_DAY: i64 = 24 * MICROS_PER_HOUR;

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian), after Howard Hinnant's algorithm.
pub(crate) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
}

/// A zone in which local wall-clock text is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// UTC.
    Utc,
    /// A fixed offset east of UTC, in seconds.
    Fixed(i32),
    /// An IANA zone with daylight-saving rules.
    Named(Tz),
}

impl Zone {
    /// Parses `UTC`/`Z`, `+05:30`/`-0500`, or an IANA name.
    pub fn parse(text: &str) -> Option<Zone> {
        let t = text.trim();
        if t.eq_ignore_ascii_case("utc") || t == "Z" || t.eq_ignore_ascii_case("gmt") {
            return Some(Zone::Utc);
        }
        if let Some(secs) =
            parse_offset(t.as_bytes()).and_then(|(secs, used)| (used == t.len()).then_some(secs))
        {
            return Some(if secs == 0 {
                Zone::Utc
            } else {
                Zone::Fixed(secs)
            });
        }
        t.parse::<Tz>().ok().map(Zone::Named)
    }

    /// UTC offset in seconds in force at the instant `utc_micros`.
    pub fn offset_at(&self, utc_micros: i64) -> i32 {
        match self {
            Zone::Utc => 0,
            Zone::Fixed(s) => *s,
            Zone::Named(tz) => {
                let secs = utc_micros.div_euclid(MICROS_PER_SEC);
                match chrono::DateTime::from_timestamp(secs, 0) {
                    Some(dt) => tz
                        .offset_from_utc_datetime(&dt.naive_utc())
                        .fix()
                        .local_minus_utc(),
                    None => 0,
                }
            }
        }
    }

    /// The local calendar day (days since epoch) of an instant.
    pub fn local_day(&self, utc_micros: i64) -> i32 {
        let local = utc_micros + i64::from(self.offset_at(utc_micros)) * MICROS_PER_SEC;
        // Timestamps within ±5 million years fit i32 days; parsed years are four digits.
        local.div_euclid(MICROS_PER_DAY) as i32
    }

    /// Resolves local wall-clock micros (since the local epoch) to UTC micros.
    pub fn resolve(&self, local_micros: i64) -> Resolved {
        match self {
            Zone::Utc => Resolved::Single(local_micros),
            Zone::Fixed(s) => Resolved::Single(local_micros - i64::from(*s) * MICROS_PER_SEC),
            Zone::Named(tz) => {
                let secs = local_micros.div_euclid(MICROS_PER_SEC);
                let Some(naive) = chrono::DateTime::from_timestamp(secs, 0).map(|d| d.naive_utc())
                else {
                    return Resolved::Nonexistent;
                };
                let to_utc = |off: i32| local_micros - i64::from(off) * MICROS_PER_SEC;
                match tz.offset_from_local_datetime(&naive) {
                    LocalResult::Single(o) => Resolved::Single(to_utc(o.fix().local_minus_utc())),
                    LocalResult::Ambiguous(a, b) => {
                        let (x, y) = (
                            to_utc(a.fix().local_minus_utc()),
                            to_utc(b.fix().local_minus_utc()),
                        );
                        Resolved::Ambiguous(x.min(y), x.max(y))
                    }
                    LocalResult::None => Resolved::Nonexistent,
                }
            }
        }
    }

    /// UTC micros of local midnight starting `day` (days since epoch); the first instant of the day when
    /// midnight itself is skipped by a DST jump.
    pub fn day_start(&self, day: i32) -> i64 {
        let local = i64::from(day) * MICROS_PER_DAY;
        match self.resolve(local) {
            Resolved::Single(u) | Resolved::Ambiguous(u, _) => u,
            // Midnight skipped (a few zones jump at 00:00): the day starts when the clock resumes.
            Resolved::Nonexistent => match self.resolve(local + MICROS_PER_HOUR) {
                Resolved::Single(u) | Resolved::Ambiguous(u, _) => u - MICROS_PER_HOUR,
                Resolved::Nonexistent => local,
            },
        }
    }

    /// Length of the local day in microseconds (23 h, 24 h or 25 h across DST changes).
    pub fn day_length(&self, day: i32) -> i64 {
        self.day_start(day + 1) - self.day_start(day)
    }
}

/// The UTC instant(s) a local wall-clock time names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// Exactly one.
    Single(i64),
    /// Two (fall-back): earlier, later.
    Ambiguous(i64, i64),
    /// None (spring-forward gap).
    Nonexistent,
}

/// Caches the zone resolution of one local hour, since rows of a file cluster in time.
#[derive(Debug, Clone)]
pub(crate) struct ZoneCache {
    zone: Zone,
    hour: i64,
    hit: Option<HourResolution>,
}

#[derive(Debug, Clone, Copy)]
enum HourResolution {
    Single(i64),
    Ambiguous(i64, i64),
    Nonexistent,
}

impl ZoneCache {
    pub(crate) fn new(zone: Zone) -> Self {
        ZoneCache {
            zone,
            hour: i64::MIN,
            hit: None,
        }
    }

    pub(crate) fn resolve(&mut self, local_micros: i64) -> Resolved {
        let hour = local_micros.div_euclid(MICROS_PER_HOUR);
        // Offsets of the zones we serve change only on whole local hours, so one lookup per local hour is
        // exact for them. (A zone with a half-hour transition, Lord Howe, would need a finer key.)
        if self.hour != hour || self.hit.is_none() {
            let start = hour * MICROS_PER_HOUR;
            self.hit = Some(match self.zone.resolve(start) {
                Resolved::Single(u) => HourResolution::Single(u - start),
                Resolved::Ambiguous(a, b) => HourResolution::Ambiguous(a - start, b - start),
                Resolved::Nonexistent => HourResolution::Nonexistent,
            });
            self.hour = hour;
        }
        match self.hit {
            Some(HourResolution::Single(d)) => Resolved::Single(local_micros + d),
            Some(HourResolution::Ambiguous(a, b)) => {
                Resolved::Ambiguous(local_micros + a, local_micros + b)
            }
            _ => Resolved::Nonexistent,
        }
    }
}

/// Parses `Z`, `+HH:MM`, `+HHMM`, `+HH` (and `-`), returning seconds east of UTC and bytes used.
fn parse_offset(b: &[u8]) -> Option<(i32, usize)> {
    match b.first()? {
        b'Z' | b'z' => Some((0, 1)),
        sign @ (b'+' | b'-') => {
            let neg = *sign == b'-';
            let d = |i: usize| {
                b.get(i)
                    .filter(|c| c.is_ascii_digit())
                    .map(|c| i32::from(c - b'0'))
            };
            let hh = d(1)? * 10 + d(2)?;
            let (mm, used) = if b.get(3) == Some(&b':') {
                (d(4)? * 10 + d(5)?, 6)
            } else if let (Some(a), Some(c)) = (d(3), d(4)) {
                (a * 10 + c, 5)
            } else {
                (0, 3)
            };
            if hh > 23 || mm > 59 {
                return None;
            }
            let secs = hh * 3600 + mm * 60;
            Some((if neg { -secs } else { secs }, used))
        }
        _ => None,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Item {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    /// `%.f`: an optional `.` followed by 1–9 digits.
    Fraction,
    /// `%z` or `%:z`: the text carries its own offset.
    Offset,
    Literal(u8),
    /// One or more spaces/`T`s are accepted for one space in the format.
    Space,
}

/// What a compiled format yields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parsed {
    /// Local (or UTC, if `offset` is set) wall-clock micros since epoch, plus the offset if the text had one.
    Civil {
        micros: i64,
        offset_secs: Option<i32>,
    },
    /// Already an instant (epoch formats).
    Instant(i64),
}

/// A compiled date/timestamp format.
#[derive(Debug, Clone)]
pub(crate) enum TimeFormat {
    Pattern {
        items: Vec<Item>,
        text: String,
        /// The format starts `%Y-%m-%d` or `%Y-%m-%dT%H:%M:%S` (or with a space): see [`iso_prefix`].
        iso: Option<IsoPrefix>,
    },
    Epoch {
        scale: EpochScale,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EpochScale {
    Seconds,
    Millis,
    Micros,
    /// Binance switched from ms to µs in 2025: ≥ 1e15 is µs, else ms.
    Auto,
}

impl TimeFormat {
    pub(crate) fn compile(text: &str) -> Result<TimeFormat, String> {
        let scale = match text {
            "epoch_s" => Some(EpochScale::Seconds),
            "epoch_ms" => Some(EpochScale::Millis),
            "epoch_us" => Some(EpochScale::Micros),
            "epoch_auto" => Some(EpochScale::Auto),
            _ => None,
        };
        if let Some(scale) = scale {
            return Ok(TimeFormat::Epoch { scale });
        }
        let mut items = Vec::new();
        let b = text.as_bytes();
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%' {
                let rest = &text[i + 1..];
                let (item, used) = if rest.starts_with(".f") {
                    (Item::Fraction, 2)
                } else if rest.starts_with(":z") {
                    (Item::Offset, 2)
                } else {
                    let item = match rest.as_bytes().first() {
                        Some(b'Y') => Item::Year,
                        Some(b'm') => Item::Month,
                        Some(b'd') => Item::Day,
                        Some(b'H') => Item::Hour,
                        Some(b'M') => Item::Minute,
                        Some(b'S') => Item::Second,
                        Some(b'z') => Item::Offset,
                        Some(b'%') => Item::Literal(b'%'),
                        _ => {
                            return Err(format!(
                                "format `{text}`: unsupported specifier at `%{}`; supported: %Y %m %d %H %M %S %.f %z %:z, or epoch_s|epoch_ms|epoch_us|epoch_auto",
                                rest.chars().next().unwrap_or(' ')
                            ));
                        }
                    };
                    (item, 1)
                };
                items.push(item);
                i += 1 + used;
            } else if b[i] == b' ' {
                items.push(Item::Space);
                i += 1;
            } else {
                items.push(Item::Literal(b[i]));
                i += 1;
            }
        }
        if !items.contains(&Item::Year) {
            return Err(format!("format `{text}` has no %Y"));
        }
        let iso = match items.get(..ISO_DATETIME_ITEMS) {
            Some(
                [
                    Item::Year,
                    Item::Literal(b'-'),
                    Item::Month,
                    Item::Literal(b'-'),
                    Item::Day,
                    sep,
                    Item::Hour,
                    Item::Literal(b':'),
                    Item::Minute,
                    Item::Literal(b':'),
                    Item::Second,
                ],
            ) => match sep {
                Item::Literal(b'T') => Some(IsoPrefix::DateTime(b'T')),
                Item::Space => Some(IsoPrefix::DateTime(b' ')),
                _ => None,
            },
            _ => match items.get(..ISO_DATE_ITEMS) {
                Some(
                    [
                        Item::Year,
                        Item::Literal(b'-'),
                        Item::Month,
                        Item::Literal(b'-'),
                        Item::Day,
                    ],
                ) => Some(IsoPrefix::Date),
                _ => None,
            },
        };
        Ok(TimeFormat::Pattern {
            items,
            text: text.to_string(),
            iso,
        })
    }

    pub(crate) fn text(&self) -> String {
        match self {
            TimeFormat::Pattern { text, .. } => text.clone(),
            TimeFormat::Epoch { scale } => format!("{scale:?}").to_lowercase(),
        }
    }

    /// Parses the whole of `s`; `None` when it does not match or names an impossible date.
    pub(crate) fn parse(&self, s: &[u8]) -> Option<Parsed> {
        match self {
            TimeFormat::Epoch { scale } => {
                let v: i64 = lexical_core::parse(s).ok()?;
                let micros = match scale {
                    EpochScale::Seconds => v.checked_mul(MICROS_PER_SEC)?,
                    EpochScale::Millis => v.checked_mul(1_000)?,
                    EpochScale::Micros => v,
                    EpochScale::Auto if v.abs() >= 1_000_000_000_000_000 => v,
                    EpochScale::Auto => v.checked_mul(1_000)?,
                };
                Some(Parsed::Instant(micros))
            }
            TimeFormat::Pattern { items, iso, .. } => parse_pattern(items, *iso, s),
        }
    }
}

fn digits(s: &[u8], pos: &mut usize, min: usize, max: usize) -> Option<u32> {
    let mut v: u32 = 0;
    let mut n = 0;
    while n < max {
        match s.get(*pos + n) {
            Some(c) if c.is_ascii_digit() => {
                v = v * 10 + u32::from(c - b'0');
                n += 1;
            }
            _ => break,
        }
    }
    if n < min {
        return None;
    }
    *pos += n;
    Some(v)
}

/// Items of the `%Y-%m-%d` and `%Y-%m-%dT%H:%M:%S` prefixes.
const ISO_DATE_ITEMS: usize = 5;
const ISO_DATETIME_ITEMS: usize = 11;

/// A format whose first items have a fixed-width reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IsoPrefix {
    /// `%Y-%m-%d`.
    Date,
    /// `%Y-%m-%d`, this separator (`T`, or a space in the format), `%H:%M:%S`.
    DateTime(u8),
}

/// The fixed-width `YYYY-MM-DD` / `YYYY-MM-DDTHH:MM:SS` reading of the first 10 / 19 bytes, which is what nearly
/// every date and timestamp of the ISO-like formats looks like: read at fixed positions instead of item by
/// item (the general loop cost about 500 instructions per timestamp). Returns the fields and the bytes read;
/// `None` sends the text to the general loop, which also accepts one-digit fields and runs of spaces. Where
/// both accept a text they read the same fields.
fn iso_prefix(s: &[u8], iso: IsoPrefix) -> Option<([u32; 6], usize)> {
    let len = match iso {
        IsoPrefix::Date => 10,
        IsoPrefix::DateTime(_) => 19,
    };
    let b = s.get(..len)?;
    let d = |i: usize| {
        let c = b[i].wrapping_sub(b'0');
        (c < 10).then_some(u32::from(c))
    };
    let two = |i: usize| Some(d(i)? * 10 + d(i + 1)?);
    if b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date = [two(0)? * 100 + two(2)?, two(5)?, two(8)?];
    let IsoPrefix::DateTime(sep) = iso else {
        return Some(([date[0], date[1], date[2], 0, 0, 0], len));
    };
    // A `T` is accepted for a space in the format, as the general loop does. After the separator that loop
    // would skip more spaces and a `T`; here byte 11 must be a digit, so there is no such run.
    if !(b[10] == sep || (sep == b' ' && b[10] == b'T')) || b[13] != b':' || b[16] != b':' {
        return None;
    }
    Some((
        [date[0], date[1], date[2], two(11)?, two(14)?, two(17)?],
        len,
    ))
}

fn parse_pattern(items: &[Item], iso: Option<IsoPrefix>, s: &[u8]) -> Option<Parsed> {
    let (mut y, mut mo, mut d, mut h, mut mi, mut sec, mut frac) =
        (0i64, 1u32, 1u32, 0u32, 0u32, 0u32, 0i64);
    let mut offset = None;
    let mut p = 0usize;
    let mut rest = items;
    if let Some(iso) = iso
        && let Some(([yy, mm, dd, hh, mn, ss], used)) = iso_prefix(s, iso)
    {
        (y, mo, d, h, mi, sec) = (i64::from(yy), mm, dd, hh, mn, ss);
        p = used;
        rest = &items[match iso {
            IsoPrefix::Date => ISO_DATE_ITEMS,
            IsoPrefix::DateTime(_) => ISO_DATETIME_ITEMS,
        }..];
    }
    for item in rest {
        match item {
            Item::Year => y = i64::from(digits(s, &mut p, 4, 4)?),
            Item::Month => mo = digits(s, &mut p, 1, 2)?,
            Item::Day => d = digits(s, &mut p, 1, 2)?,
            Item::Hour => h = digits(s, &mut p, 1, 2)?,
            Item::Minute => mi = digits(s, &mut p, 1, 2)?,
            Item::Second => sec = digits(s, &mut p, 1, 2)?,
            Item::Fraction => {
                if s.get(p) == Some(&b'.') {
                    p += 1;
                    let start = p;
                    let v = digits(s, &mut p, 1, 9)?;
                    let n = p - start;
                    // Scale to microseconds: 9 digits are nanoseconds, truncated.
                    frac = i64::from(v) * 10i64.pow(9 - n as u32) / 1_000;
                }
            }
            Item::Offset => {
                let (secs, used) = parse_offset(&s[p..])?;
                offset = Some(secs);
                p += used;
            }
            Item::Literal(c) => {
                if s.get(p) != Some(c) {
                    return None;
                }
                p += 1;
            }
            Item::Space => {
                if !matches!(s.get(p), Some(b' ' | b'T')) {
                    return None;
                }
                while matches!(s.get(p), Some(b' ')) {
                    p += 1;
                }
                if s.get(p) == Some(&b'T') {
                    p += 1;
                }
            }
        }
    }
    if p != s.len()
        || !(1..=12).contains(&mo)
        || d == 0
        || d > days_in_month(y, mo)
        || h > 23
        || mi > 59
        || sec > 60
    {
        return None;
    }
    // A leap second (:60) is folded into the next second's start, as most readers do.
    let days = days_from_civil(y, mo, d);
    let micros = days * MICROS_PER_DAY
        + i64::from(h) * MICROS_PER_HOUR
        + i64::from(mi) * 60 * MICROS_PER_SEC
        + i64::from(sec) * MICROS_PER_SEC
        + frac;
    Some(Parsed::Civil {
        micros,
        offset_secs: offset,
    })
}

/// Formats days since epoch as `YYYY-MM-DD` (for messages and paths).
pub fn day_to_string(day: i32) -> String {
    day_to_date(day)
        .map(|d| d.to_string())
        .unwrap_or_else(|| format!("day{day}"))
}

/// Days since epoch to a chrono date.
pub fn day_to_date(day: i32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(1970, 1, 1)?.checked_add_signed(chrono::Duration::days(i64::from(day)))
}

/// A chrono date to days since epoch.
pub fn date_to_day(date: NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or(NaiveDate::MIN);
    (date - epoch).num_days() as i32
}

/// UTC micros to a chrono naive UTC datetime (tests and messages).
pub fn micros_to_naive(micros: i64) -> Option<NaiveDateTime> {
    chrono::DateTime::from_timestamp_micros(micros).map(|d| d.naive_utc())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn civil(f: &str, s: &str) -> Option<Parsed> {
        TimeFormat::compile(f).unwrap().parse(s.as_bytes())
    }

    #[test]
    fn fixed_width_prefix_reads_what_the_general_loop_reads() {
        let formats = [
            "%Y-%m-%dT%H:%M:%S%:z",
            "%Y-%m-%d %H:%M:%S",
            "%Y-%m-%d %H:%M:%S%.f",
            "%Y-%m-%d",
            "%Y-%m-%d %H",
        ];
        let texts = [
            "2018-11-04T09:00:00-00:00",
            "2018-11-04T09:00:00+05:30",
            "2018-11-04 09:00:00",
            "2018-11-04  09:00:00",
            "2018-11-04 T09:00:00",
            "2018-11-04T09:00:00",
            "2018-11-04 09:00:00.250",
            "2018-1-04 09:00:00",
            "2018-11-4 9:00:00",
            "2018-11-04 09:00:0",
            "2018-11-04 09:00:001",
            "2018-13-04 09:00:00",
            "2018-02-30",
            "2018-11-04",
            "2018-11-041",
            "2018-11-04 09",
            "2018-11-0x 09:00:00",
            "2018/11/04 09:00:00",
            "",
        ];
        for f in formats {
            let TimeFormat::Pattern { items, iso, .. } = TimeFormat::compile(f).unwrap() else {
                panic!("{f} is a pattern")
            };
            assert!(iso.is_some(), "{f} has a fixed-width prefix");
            for t in texts {
                assert_eq!(
                    parse_pattern(&items, iso, t.as_bytes()),
                    parse_pattern(&items, None, t.as_bytes()),
                    "{f} on {t:?}"
                );
            }
        }
    }

    #[test]
    fn days_from_civil_matches_chrono() {
        for (y, m, d) in [
            (1970, 1, 1),
            (2000, 2, 29),
            (2024, 3, 10),
            (1969, 12, 31),
            (2100, 3, 1),
        ] {
            let want = date_to_day(NaiveDate::from_ymd_opt(y, m, d).unwrap());
            assert_eq!(days_from_civil(i64::from(y), m, d), i64::from(want));
        }
    }

    #[test]
    fn parses_oasis_and_nyiso_texts() {
        let p = civil("%Y-%m-%dT%H:%M:%S%:z", "2018-11-04T09:00:00-00:00").unwrap();
        let want = NaiveDate::from_ymd_opt(2018, 11, 4)
            .unwrap()
            .and_hms_opt(9, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros();
        assert_eq!(
            p,
            Parsed::Civil {
                micros: want,
                offset_secs: Some(0)
            }
        );
        let p = civil("%m/%d/%Y %H:%M:%S", "02/18/2016 00:15:00").unwrap();
        let want = NaiveDate::from_ymd_opt(2016, 2, 18)
            .unwrap()
            .and_hms_opt(0, 15, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros();
        assert_eq!(
            p,
            Parsed::Civil {
                micros: want,
                offset_secs: None
            }
        );
        assert!(civil("%Y-%m-%d", "2024-02-30").is_none());
        assert!(civil("%Y-%m-%d", "2024-02-29x").is_none());
        assert!(civil("%Y-%m-%dT%H:%M:%S%.fZ", "2025-09-01T00:00:30.250Z").is_some());
    }

    #[test]
    fn zone_resolution_across_dst() {
        let la = Zone::parse("America/Los_Angeles").unwrap();
        let day = date_to_day(NaiveDate::from_ymd_opt(2024, 11, 3).unwrap());
        assert_eq!(la.day_length(day), 25 * MICROS_PER_HOUR);
        assert_eq!(la.day_length(day - 238), 23 * MICROS_PER_HOUR); // 2024-03-10
        let one_am = i64::from(day) * MICROS_PER_DAY + MICROS_PER_HOUR;
        let Resolved::Ambiguous(a, b) = la.resolve(one_am) else {
            panic!("01:00 on fall-back day is ambiguous")
        };
        assert_eq!(b - a, MICROS_PER_HOUR);
        let mut cache = ZoneCache::new(la);
        assert_eq!(
            cache.resolve(one_am + 60 * MICROS_PER_SEC),
            Resolved::Ambiguous(a + 60 * MICROS_PER_SEC, b + 60 * MICROS_PER_SEC)
        );
        assert_eq!(Zone::parse("-05:00"), Some(Zone::Fixed(-5 * 3600)));
    }
}
