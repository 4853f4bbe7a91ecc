//! How a recording decides whether it answers a request: exact text, "any value", or a date
//! template whose date must be one of the days the recording covers.
//!
//! A date template is plain text with `{date:FMT}` fields, `FMT` being a chrono strftime format
//! (`/klines/ADABTC-1m-{date:%Y-%m-%d}.zip`, `{date:%Y%m%d}damlbmp_zone.csv`). It is compiled
//! into one chrono format string (literal text, `%` escaped) and the request text is *parsed*
//! with it, so every field must be consistent and the literal text must match exactly. Parsing,
//! rather than rendering each covered day and comparing, is what lets a query value carry a time
//! and an offset (`%Y%m%dT%H:%M%z` for CAISO's `startdatetime=20200101T08:00-0000`): the date
//! written in the text is the one checked against `covers`.

use chrono::NaiveDate;
use chrono::format::{Item, Parsed, StrftimeItems};

use crate::ReplayError;

/// Text with one or more `{date:FMT}` fields; see the module doc.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTemplate {
    /// What the caller wrote, kept for error messages and Debug output.
    source: String,
    /// The equivalent chrono format string: literals with `%` doubled, fields inlined.
    format: String,
}

impl DateTemplate {
    /// Compiles `template`. It must contain at least one `{date:FMT}` field with a valid chrono
    /// format. Any other brace is an error: templates are URL parts, which never need literal
    /// braces, so the grammar stays small and a typo is caught when the recording is built.
    pub fn parse(template: &str) -> Result<Self, ReplayError> {
        let invalid = |reason: &str| ReplayError::InvalidTemplate {
            template: template.to_owned(),
            reason: reason.to_owned(),
        };
        let mut format = String::with_capacity(template.len());
        let mut fields = 0usize;
        let mut rest = template;
        while let Some(open) = rest.find(['{', '}']) {
            push_literal(&mut format, &rest[..open]);
            let after = &rest[open..];
            let Some(field) = after.strip_prefix("{date:") else {
                return Err(invalid("a brace must open a `{date:FMT}` field"));
            };
            let Some(close) = field.find('}') else {
                return Err(invalid("a `{date:` field is not closed with `}`"));
            };
            let fmt = &field[..close];
            if fmt.is_empty() {
                return Err(invalid("a `{date:}` field has an empty format"));
            }
            if StrftimeItems::new(fmt).any(|item| matches!(item, Item::Error)) {
                return Err(invalid(&format!(
                    "`{fmt}` is not a valid chrono strftime format"
                )));
            }
            format.push_str(fmt);
            fields += 1;
            rest = &field[close + 1..];
        }
        push_literal(&mut format, rest);
        if fields == 0 {
            return Err(invalid(
                "no `{date:FMT}` field; use an exact matcher for fixed text",
            ));
        }
        Ok(Self {
            source: template.to_owned(),
            format,
        })
    }

    /// The date written in `text`, if `text` has this template's shape.
    pub fn date_of(&self, text: &str) -> Option<NaiveDate> {
        let mut parsed = Parsed::new();
        chrono::format::parse(&mut parsed, text, StrftimeItems::new(&self.format)).ok()?;
        parsed.to_naive_date().ok()
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

fn push_literal(format: &mut String, literal: &str) {
    for c in literal.chars() {
        if c == '%' {
            format.push_str("%%");
        } else {
            format.push(c);
        }
    }
}

/// Which request paths a recording answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathPattern {
    /// The path, byte for byte (no query string).
    Exact(String),
    /// A path with `{date:FMT}` fields whose date is one of the recording's `covers`.
    Date(DateTemplate),
    /// Any path.
    Any,
}

impl PathPattern {
    /// Matches this exact path.
    pub fn exact(path: impl Into<String>) -> Self {
        Self::Exact(path.into())
    }

    /// Matches paths of this template's shape whose date is covered (see [`DateTemplate`]).
    pub fn date(template: &str) -> Result<Self, ReplayError> {
        DateTemplate::parse(template).map(Self::Date)
    }

    /// Matches every path.
    pub fn any() -> Self {
        Self::Any
    }

    /// Whether `path` matches, given the days the recording covers.
    pub fn matches(&self, path: &str, covers: &[NaiveDate]) -> bool {
        match self {
            Self::Exact(exact) => exact == path,
            Self::Date(template) => template.date_of(path).is_some_and(|d| covers.contains(&d)),
            Self::Any => true,
        }
    }
}

/// Which values of one named query parameter a recording answers. The parameter must be present
/// in the request (even for [`ParamMatcher::Any`]); parameters the recording does not name are
/// ignored.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamMatcher {
    /// The decoded value, exactly.
    Exact(String),
    /// A value of this template's shape whose date is covered; [`ParamMatcher::date_format`]
    /// builds the common case where the whole value is the date.
    Date(DateTemplate),
    /// Any value, as long as the parameter is present.
    Any,
}

impl ParamMatcher {
    /// Matches this exact (decoded) value.
    pub fn exact(value: impl Into<String>) -> Self {
        Self::Exact(value.into())
    }

    /// Matches a value that is entirely a date in the chrono format `fmt` (for example
    /// `%Y%m%dT%H:%M%z`), when that date is covered.
    pub fn date_format(fmt: &str) -> Result<Self, ReplayError> {
        DateTemplate::parse(&format!("{{date:{fmt}}}")).map(Self::Date)
    }

    /// Matches a value of this template's shape (text plus `{date:FMT}` fields) whose date is
    /// covered.
    pub fn date_template(template: &str) -> Result<Self, ReplayError> {
        DateTemplate::parse(template).map(Self::Date)
    }

    /// Matches any value.
    pub fn any() -> Self {
        Self::Any
    }

    /// Whether `value` matches, given the days the recording covers.
    pub fn matches(&self, value: &str, covers: &[NaiveDate]) -> bool {
        match self {
            Self::Exact(exact) => exact == value,
            Self::Date(template) => template.date_of(value).is_some_and(|d| covers.contains(&d)),
            Self::Any => true,
        }
    }
}
