//! The planner: which days of a dataset a run fetches, and why. Pure: it sees the wanted range, the lake's
//! current state per day and the options, and returns a plan; it never touches the network or the lake, so
//! every rule of ARCHITECTURE §3 is a unit test.

use std::collections::BTreeMap;

use gridlake_lake::{DayState, DayStatus};
use gridlake_schema::day_to_string;
use serde::Serialize;

/// Why a day is in the plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanReason {
    /// Never attempted.
    Missing,
    /// The last attempt failed and no file holds the day.
    Failed,
    /// Committed with fewer rows than expected.
    Incomplete,
    /// Inside the dataset's refresh window (revisions are re-checked; unchanged bytes rewrite nothing).
    Refresh,
    /// The source said it had no data; re-checked because of `--retry-no-data`.
    NoDataRecheck,
    /// `--force`.
    Forced,
}

/// Why a day in range is not fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Complete already.
    Complete,
    /// The source had no data for it (`--retry-no-data` re-checks).
    NoData,
    /// Failed or incomplete `max_attempts` times (`--retry-failed` tries again).
    AttemptsExhausted,
    /// Another shard's day (`--shard i/N`).
    OtherShard,
    /// Past `--limit-days`.
    OverLimit,
}

/// `--shard i/N`: this worker takes the days whose number is `i` modulo `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl Shard {
    /// Parses `i/N` (0-based, `i < N`).
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("--shard wants i/N with 0 <= i < N (0-based), e.g. 0/4; got `{text}`");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = n.trim().parse().map_err(|_| bad())?;
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// Whether `day` is this shard's. Days go round-robin by day number, so every shard gets an even share
    /// of any range, and the split does not depend on the range asked for.
    pub fn owns(&self, day: i32) -> bool {
        day.rem_euclid(self.count as i32) as u32 == self.index
    }
}

/// What the run was asked for, besides the range.
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// Fetch every day in range, whatever its state.
    pub force: bool,
    /// Ignore the attempts cap for failed and incomplete days.
    pub retry_failed: bool,
    /// Re-check `no_data` days.
    pub retry_no_data: bool,
    /// Attempts after which a failed or incomplete day is skipped (ARCHITECTURE default 5).
    pub max_attempts: u32,
    /// The most recent days (ending at the clipped end) re-checked for revisions.
    pub refresh_days: u32,
    /// Plan at most this many days (oldest first).
    pub limit_days: Option<u32>,
    /// This worker's share of the days.
    pub shard: Option<Shard>,
}

/// The range a dataset may be fetched over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The dataset's earliest published day.
    pub earliest: i32,
    /// The latest day published by now (today − publication lag).
    pub latest: i32,
}

/// A day to fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedDay {
    /// Day number.
    #[serde(skip)]
    pub day: i32,
    /// `YYYY-MM-DD`.
    #[serde(rename = "day")]
    pub date: String,
    /// Why.
    pub reason: PlanReason,
}

/// The plan for one dataset.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// Requested range after clipping (`None` when nothing of it is fetchable yet).
    #[serde(skip)]
    pub range: Option<(i32, i32)>,
    /// Days to fetch, oldest first.
    pub days: Vec<PlannedDay>,
    /// Days in range that are not fetched, counted by reason.
    pub skipped: BTreeMap<SkipReason, u32>,
    /// Days of the request before the earliest published day or after today − lag.
    pub outside_window: u32,
}

/// The lake's view of one day that the planner needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DayView {
    /// Current state.
    pub state: DayState,
    /// Failed or incomplete attempts since the day was last complete or `no_data`.
    pub failed_attempts: u32,
}

impl DayView {
    /// From a ledger status row.
    pub fn of(status: &DayStatus) -> DayView {
        DayView {
            state: status.state,
            failed_attempts: status.failed_attempts,
        }
    }
}

/// Plans `[start, end]` (inclusive) of one dataset. `state(day)` is the lake's current state of a day.
pub fn plan_days(
    start: i32,
    end: i32,
    window: Window,
    state: impl Fn(i32) -> DayView,
    opts: &PlanOptions,
) -> Plan {
    let lo = start.max(window.earliest);
    let hi = end.min(window.latest);
    let requested = i64::from(end) - i64::from(start) + 1;
    let mut plan = Plan::default();
    if lo > hi {
        plan.outside_window = u32::try_from(requested.max(0)).unwrap_or(u32::MAX);
        return plan;
    }
    plan.range = Some((lo, hi));
    plan.outside_window =
        u32::try_from(requested - (i64::from(hi) - i64::from(lo) + 1)).unwrap_or(0);
    let refresh_from = window.latest - i32::try_from(opts.refresh_days).unwrap_or(i32::MAX) + 1;
    let max_attempts = opts.max_attempts.max(1);
    let mut skip = |r: SkipReason| *plan.skipped.entry(r).or_default() += 1;
    let mut wanted = Vec::new();
    for day in lo..=hi {
        if let Some(shard) = opts.shard
            && !shard.owns(day)
        {
            skip(SkipReason::OtherShard);
            continue;
        }
        let view = state(day);
        let reason = if opts.force {
            Ok(PlanReason::Forced)
        } else {
            match view.state {
                DayState::Missing => Ok(PlanReason::Missing),
                DayState::Failed | DayState::Incomplete
                    if view.failed_attempts >= max_attempts && !opts.retry_failed =>
                {
                    Err(SkipReason::AttemptsExhausted)
                }
                DayState::Failed => Ok(PlanReason::Failed),
                DayState::Incomplete => Ok(PlanReason::Incomplete),
                DayState::NoData if opts.retry_no_data => Ok(PlanReason::NoDataRecheck),
                _ if opts.refresh_days > 0 && day >= refresh_from => Ok(PlanReason::Refresh),
                DayState::NoData => Err(SkipReason::NoData),
                DayState::Complete => Err(SkipReason::Complete),
            }
        };
        match reason {
            Ok(reason) => wanted.push(PlannedDay {
                day,
                date: day_to_string(day),
                reason,
            }),
            Err(r) => skip(r),
        }
    }
    if let Some(limit) = opts.limit_days {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        if wanted.len() > limit {
            let over = wanted.len() - limit;
            wanted.truncate(limit);
            *plan.skipped.entry(SkipReason::OverLimit).or_default() +=
                u32::try_from(over).unwrap_or(u32::MAX);
        }
    }
    plan.days = wanted;
    plan
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use gridlake_schema::date_to_day;

    fn d(s: &str) -> i32 {
        date_to_day(chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
    }

    fn view(state: DayState, failed_attempts: u32) -> DayView {
        DayView {
            state,
            failed_attempts,
        }
    }

    fn opts() -> PlanOptions {
        PlanOptions {
            max_attempts: 5,
            ..PlanOptions::default()
        }
    }

    const WIDE: Window = Window {
        earliest: i32::MIN / 2,
        latest: i32::MAX / 2,
    };

    #[test]
    fn ranges_are_inclusive() {
        let p = plan_days(
            d("2024-01-01"),
            d("2024-01-31"),
            WIDE,
            |_| view(DayState::Missing, 0),
            &opts(),
        );
        assert_eq!(p.days.len(), 31);
        assert_eq!(p.days[0].date, "2024-01-01");
        assert_eq!(p.days[30].date, "2024-01-31");
        assert!(p.days.iter().all(|x| x.reason == PlanReason::Missing));
    }

    #[test]
    fn clipped_to_earliest_and_publication_lag() {
        let window = Window {
            earliest: d("2024-01-10"),
            latest: d("2024-01-20"),
        };
        let p = plan_days(
            d("2024-01-01"),
            d("2024-01-31"),
            window,
            |_| view(DayState::Missing, 0),
            &opts(),
        );
        assert_eq!(p.range, Some((d("2024-01-10"), d("2024-01-20"))));
        assert_eq!(p.days.len(), 11);
        assert_eq!(p.outside_window, 20);
        // Not yet published is not a gap, and a range entirely in the future plans nothing.
        let p = plan_days(
            d("2024-02-01"),
            d("2024-02-03"),
            window,
            |_| view(DayState::Missing, 0),
            &opts(),
        );
        assert_eq!(p.range, None);
        assert!(p.days.is_empty());
        assert_eq!(p.outside_window, 3);
    }

    #[test]
    fn complete_and_no_data_are_skipped_failed_and_incomplete_retried() {
        let states = [
            DayState::Complete,
            DayState::NoData,
            DayState::Failed,
            DayState::Incomplete,
            DayState::Missing,
        ];
        let start = d("2024-03-01");
        let p = plan_days(
            start,
            start + 4,
            WIDE,
            |day| view(states[(day - start) as usize], 1),
            &opts(),
        );
        let got: Vec<_> = p.days.iter().map(|x| (x.day - start, x.reason)).collect();
        assert_eq!(
            got,
            vec![
                (2, PlanReason::Failed),
                (3, PlanReason::Incomplete),
                (4, PlanReason::Missing)
            ]
        );
        assert_eq!(p.skipped[&SkipReason::Complete], 1);
        assert_eq!(p.skipped[&SkipReason::NoData], 1);
    }

    #[test]
    fn attempts_cap_until_retry_failed() {
        let day = d("2024-03-01");
        let exhausted = |_| view(DayState::Failed, 5);
        let p = plan_days(day, day, WIDE, exhausted, &opts());
        assert!(p.days.is_empty());
        assert_eq!(p.skipped[&SkipReason::AttemptsExhausted], 1);
        let p = plan_days(day, day, WIDE, |_| view(DayState::Failed, 4), &opts());
        assert_eq!(p.days[0].reason, PlanReason::Failed);
        let retry = PlanOptions {
            retry_failed: true,
            ..opts()
        };
        let p = plan_days(day, day, WIDE, exhausted, &retry);
        assert_eq!(p.days[0].reason, PlanReason::Failed);
    }

    #[test]
    fn retry_no_data_and_force() {
        let day = d("2024-03-01");
        let retry = PlanOptions {
            retry_no_data: true,
            ..opts()
        };
        let p = plan_days(day, day, WIDE, |_| view(DayState::NoData, 0), &retry);
        assert_eq!(p.days[0].reason, PlanReason::NoDataRecheck);
        let force = PlanOptions {
            force: true,
            ..opts()
        };
        let p = plan_days(day, day + 1, WIDE, |_| view(DayState::Complete, 0), &force);
        assert_eq!(p.days.len(), 2);
        assert!(p.days.iter().all(|x| x.reason == PlanReason::Forced));
    }

    #[test]
    fn refresh_window_rechecks_recent_complete_days() {
        let window = Window {
            earliest: d("2024-01-01"),
            latest: d("2024-01-31"),
        };
        let o = PlanOptions {
            refresh_days: 3,
            ..opts()
        };
        let p = plan_days(
            d("2024-01-01"),
            d("2024-01-31"),
            window,
            |_| view(DayState::Complete, 0),
            &o,
        );
        let got: Vec<_> = p.days.iter().map(|x| x.date.as_str()).collect();
        assert_eq!(got, ["2024-01-29", "2024-01-30", "2024-01-31"]);
        assert!(p.days.iter().all(|x| x.reason == PlanReason::Refresh));
    }

    #[test]
    fn limit_days_takes_the_oldest() {
        let o = PlanOptions {
            limit_days: Some(2),
            ..opts()
        };
        let start = d("2024-01-01");
        let p = plan_days(start, start + 9, WIDE, |_| view(DayState::Missing, 0), &o);
        assert_eq!(p.days.len(), 2);
        assert_eq!(p.days[1].date, "2024-01-02");
        assert_eq!(p.skipped[&SkipReason::OverLimit], 8);
    }

    #[test]
    fn shards_split_every_range_without_overlap() {
        let start = d("2023-12-30");
        let mut seen = Vec::new();
        for i in 0..3 {
            let o = PlanOptions {
                shard: Some(Shard { index: i, count: 3 }),
                ..opts()
            };
            let p = plan_days(start, start + 30, WIDE, |_| view(DayState::Missing, 0), &o);
            assert!((10..=11).contains(&p.days.len()));
            seen.extend(p.days.iter().map(|x| x.day));
        }
        seen.sort_unstable();
        assert_eq!(seen, (start..=start + 30).collect::<Vec<_>>());
        assert_eq!(Shard::parse("1/4"), Ok(Shard { index: 1, count: 4 }));
        assert!(Shard::parse("4/4").is_err());
        assert!(Shard::parse("0/0").is_err());
        assert!(Shard::parse("x").is_err());
    }
}
