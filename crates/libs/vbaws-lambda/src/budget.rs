//! How long the work may run, and by when the answer must be delivered.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use crate::Timing;

/// Lambda's longest timeout. A deadline further away than this (plus some clock slack) is not a
/// real one.
const LONGEST_INVOCATION: Duration = Duration::from_secs(15 * 60 + 60);
/// The PUT stops retrying this long before the hard deadline, so the function can still return.
const FINAL_SLACK: Duration = Duration::from_millis(500);

/// Two instants: the work is abandoned at `work`, the answer (or the function's return) must be
/// delivered by `answer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub work: Instant,
    pub answer: Instant,
    /// How long the work may take, from the start of the invocation.
    pub work_time: Duration,
    /// How much time there was in all, from the invocation's deadline or the fallback.
    pub total: Duration,
    /// False when the deadline was missing or made no sense and the fallback applied.
    pub from_deadline: bool,
}

impl Budget {
    /// `deadline_ms` is the invocation's deadline in milliseconds since the epoch, as the Lambda
    /// Runtime API sends it. Some local emulators send 0 or a duration instead of an instant;
    /// those, and deadlines already past, fall back to `timing.fallback_budget`.
    pub fn new(deadline_ms: u64, now: SystemTime, started: Instant, timing: &Timing) -> Self {
        let remaining = (UNIX_EPOCH + Duration::from_millis(deadline_ms))
            .duration_since(now)
            .ok()
            .filter(|left| !left.is_zero() && *left <= LONGEST_INVOCATION);
        let (total, from_deadline) = match remaining {
            Some(left) => (left, true),
            None => (timing.fallback_budget, false),
        };
        // With little time left, the work gets half of it and the answer the other half.
        let margin = timing.safety_margin.min(total / 2);
        let slack = FINAL_SLACK.min(total / 10);
        let work_time = total - margin;
        Self {
            work: started + work_time,
            answer: started + (total - slack),
            work_time,
            total,
            from_deadline,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Timing {
        Timing {
            safety_margin: Duration::from_secs(5),
            fallback_budget: Duration::from_secs(60),
        }
    }

    fn budget_for(deadline_in: Option<Duration>) -> (Budget, Instant) {
        let now = SystemTime::now();
        let started = Instant::now();
        let deadline_ms = deadline_in.map_or(0, |d| {
            (now + d)
                .duration_since(UNIX_EPOCH)
                .expect("after epoch")
                .as_millis() as u64
        });
        (Budget::new(deadline_ms, now, started, &config()), started)
    }

    #[test]
    fn a_real_deadline_leaves_the_safety_margin_for_the_answer() {
        let (budget, started) = budget_for(Some(Duration::from_secs(300)));
        assert!(budget.from_deadline);
        let work = budget.work - started;
        assert!(
            work > Duration::from_secs(294) && work <= Duration::from_secs(295),
            "{work:?}"
        );
        assert!(budget.answer - budget.work >= Duration::from_millis(4400));
    }

    #[test]
    fn a_close_deadline_splits_what_is_left() {
        let (budget, started) = budget_for(Some(Duration::from_secs(4)));
        let work = budget.work - started;
        assert!(
            work > Duration::from_millis(1900) && work <= Duration::from_secs(2),
            "{work:?}"
        );
        assert!(budget.answer > budget.work);
    }

    #[test]
    fn missing_past_or_absurd_deadlines_use_the_fallback() {
        let now = SystemTime::now();
        let started = Instant::now();
        // 0 (missing), 600000 (a duration, as one emulator sends), a day ahead, a minute ago.
        let day_ahead = (now + Duration::from_secs(86_400))
            .duration_since(UNIX_EPOCH)
            .expect("after epoch");
        let minute_ago = (now - Duration::from_secs(60))
            .duration_since(UNIX_EPOCH)
            .expect("after epoch");
        for deadline_ms in [
            0,
            600_000,
            day_ahead.as_millis() as u64,
            minute_ago.as_millis() as u64,
        ] {
            let budget = Budget::new(deadline_ms, now, started, &config());
            assert!(!budget.from_deadline, "{deadline_ms}");
            assert_eq!(budget.work - started, Duration::from_secs(55), "{deadline_ms}");
        }
    }
}
