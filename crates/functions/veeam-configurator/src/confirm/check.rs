//! What CloudFormation must show for an event to be real, decided from what AWS answered: pure
//! functions, so every case is tested without a network.

use std::time::{Duration, SystemTime};

/// The resource types this function serves.
pub(crate) const RESOURCE_TYPES: &[&str] = &[crate::REGISTRATION_TYPE, crate::WORKERS_TYPE];
/// How old the event that shows a cleanup Delete may be: the longest a custom resource can be
/// waited for (ServiceTimeout's maximum, 3600 s, per the AWS::CloudFormation::CustomResource
/// reference).
const LONGEST_WAIT: Duration = Duration::from_secs(3600);

/// What the event claims CloudFormation is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Operation<'a> {
    Create,
    Update { physical_id: &'a str },
    Delete { physical_id: &'a str },
}

impl Operation<'_> {
    pub(crate) fn verb(self) -> &'static str {
        match self {
            Self::Create => "created",
            Self::Update { .. } => "updated",
            Self::Delete { .. } => "deleted",
        }
    }
}

/// `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>`, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StackArn<'a> {
    pub partition: &'a str,
    pub region: &'a str,
    pub account: &'a str,
    pub name: &'a str,
}

impl<'a> StackArn<'a> {
    pub(crate) fn parse(arn: &'a str) -> Option<Self> {
        let mut fields = arn.splitn(6, ':');
        let (Some("arn"), Some(partition), Some("cloudformation"), Some(region), Some(account), Some(rest)) = (
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
            fields.next(),
        ) else {
            return None;
        };
        let mut path = rest.split('/');
        let (Some("stack"), Some(name), Some(id), None) =
            (path.next(), path.next(), path.next(), path.next())
        else {
            return None;
        };
        let digits = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
        (digits && !partition.is_empty() && !region.is_empty() && !name.is_empty() && !id.is_empty())
            .then_some(Self {
                partition,
                region,
                account,
                name,
            })
    }
}

/// A resource as DescribeStackResource shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shown {
    pub resource_type: String,
    pub physical_id: String,
    pub status: String,
}

/// A line of DescribeStackEvents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ShownEvent {
    pub logical_id: String,
    pub physical_id: String,
    pub resource_type: String,
    pub status: String,
    pub timestamp: Option<SystemTime>,
}

/// What the resource's state says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Confirmed,
    /// A Delete of an ID the resource no longer has: the cleanup after a replacement, if the
    /// stack's events show that ID being deleted.
    AskEvents,
    /// Not what CloudFormation shows; the text says what it shows instead (for the log only).
    Refuted(String),
}

/// The statuses a resource is in while CloudFormation waits for this function: the API's
/// `ResourceStatus` values (StackResource data type, CloudFormation API reference) of the
/// operation, including its rollback variant.
fn in_progress(operation: Operation<'_>, status: &str) -> bool {
    match operation {
        Operation::Create => status == "CREATE_IN_PROGRESS",
        Operation::Update { .. } => matches!(status, "UPDATE_IN_PROGRESS" | "UPDATE_ROLLBACK_IN_PROGRESS"),
        Operation::Delete { .. } => matches!(status, "DELETE_IN_PROGRESS" | "ROLLBACK_IN_PROGRESS"),
    }
}

/// Judges the resource CloudFormation shows against the operation and type the event claims.
pub(crate) fn judge(operation: Operation<'_>, resource_type: &str, shown: &Shown) -> Verdict {
    if !RESOURCE_TYPES.contains(&resource_type) {
        return Verdict::Refuted(format!("this function does not serve {resource_type:?}"));
    }
    if shown.resource_type != resource_type {
        return Verdict::Refuted(format!("the resource is a {}", shown.resource_type));
    }
    let claimed_id = match operation {
        Operation::Create => None,
        Operation::Update { physical_id } | Operation::Delete { physical_id } => Some(physical_id),
    };
    let same_id = claimed_id.is_none_or(|id| id == shown.physical_id);
    match (in_progress(operation, &shown.status), same_id, operation) {
        (true, true, _) => Verdict::Confirmed,
        (_, _, Operation::Delete { .. }) => Verdict::AskEvents,
        (true, false, _) => Verdict::Refuted(format!("its physical ID is {:?}", shown.physical_id)),
        (false, _, _) => Verdict::Refuted(format!("its status is {}", shown.status)),
    }
}

/// Judges a Delete by the stack's events, newest first: the newest event about this resource
/// and ID must be its deletion starting, within the longest a custom resource is waited for.
pub(crate) fn judge_events(
    logical_id: &str,
    resource_type: &str,
    physical_id: &str,
    events: &[ShownEvent],
    now: SystemTime,
) -> Verdict {
    let Some(newest) = events
        .iter()
        .find(|e| e.logical_id == logical_id && e.physical_id == physical_id)
    else {
        return Verdict::Refuted(format!("no recent event of the stack is about {physical_id:?}"));
    };
    let recent = newest
        .timestamp
        .is_some_and(|at| now.duration_since(at).unwrap_or_default() <= LONGEST_WAIT);
    match (
        newest.resource_type == resource_type && RESOURCE_TYPES.contains(&resource_type),
        newest.status.as_str(),
        recent,
    ) {
        (true, "DELETE_IN_PROGRESS", true) => Verdict::Confirmed,
        (false, _, _) => Verdict::Refuted(format!("the resource is a {}", newest.resource_type)),
        (true, status, true) => Verdict::Refuted(format!("its newest event is {status}")),
        (true, _, false) => Verdict::Refuted("its deletion started over an hour ago".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REG: &str = crate::REGISTRATION_TYPE;

    fn shown(status: &str, physical_id: &str) -> Shown {
        Shown {
            resource_type: REG.into(),
            physical_id: physical_id.into(),
            status: status.into(),
        }
    }

    #[test]
    fn stack_arns_are_read_and_anything_else_refused() {
        let arn = "arn:aws:cloudformation:eu-west-1:123456789012:stack/StackSet-r-1/5b3a7c10-0000";
        assert_eq!(
            StackArn::parse(arn),
            Some(StackArn {
                partition: "aws",
                region: "eu-west-1",
                account: "123456789012",
                name: "StackSet-r-1",
            })
        );
        for bad in [
            "",
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/StackSet-r-1",
            "arn:aws:cloudformation:eu-west-1:12345:stack/s/1",
            "arn:aws:lambda:eu-west-1:123456789012:stack/s/1",
            "arn:aws:cloudformation:eu-west-1:123456789012:stackset/s/1",
            "arn:aws:cloudformation:eu-west-1:123456789012:stack/s/1/2",
            "arn:aws:cloudformation::123456789012:stack/s/1",
        ] {
            assert_eq!(StackArn::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn each_operation_is_confirmed_only_in_its_own_progress_and_with_its_own_id() {
        let create = Operation::Create;
        let update = Operation::Update { physical_id: "p1" };
        let delete = Operation::Delete { physical_id: "p1" };
        assert_eq!(
            judge(create, REG, &shown("CREATE_IN_PROGRESS", "")),
            Verdict::Confirmed
        );
        assert_eq!(
            judge(update, REG, &shown("UPDATE_IN_PROGRESS", "p1")),
            Verdict::Confirmed
        );
        assert_eq!(
            judge(update, REG, &shown("UPDATE_ROLLBACK_IN_PROGRESS", "p1")),
            Verdict::Confirmed
        );
        assert_eq!(
            judge(delete, REG, &shown("DELETE_IN_PROGRESS", "p1")),
            Verdict::Confirmed
        );
        assert_eq!(
            judge(delete, REG, &shown("ROLLBACK_IN_PROGRESS", "p1")),
            Verdict::Confirmed
        );

        for (operation, status, id) in [
            (create, "CREATE_COMPLETE", "p1"),
            (create, "UPDATE_IN_PROGRESS", "p1"),
            (update, "UPDATE_COMPLETE", "p1"),
            (update, "CREATE_IN_PROGRESS", "p1"),
            (update, "UPDATE_IN_PROGRESS", "p2"),
        ] {
            assert!(
                matches!(judge(operation, REG, &shown(status, id)), Verdict::Refuted(_)),
                "{operation:?} {status} {id}"
            );
        }
        let other_type = Shown {
            resource_type: "AWS::IAM::Role".into(),
            ..shown("CREATE_IN_PROGRESS", "")
        };
        assert!(matches!(judge(create, REG, &other_type), Verdict::Refuted(_)));
        // The event's type must be the one CloudFormation shows, and one this function serves:
        // a registration cannot be driven by a worker-configuration event, nor the reverse.
        let workers = crate::WORKERS_TYPE;
        assert!(matches!(
            judge(create, workers, &shown("CREATE_IN_PROGRESS", "")),
            Verdict::Refuted(_)
        ));
        let shown_workers = Shown {
            resource_type: workers.into(),
            ..shown("CREATE_IN_PROGRESS", "")
        };
        assert_eq!(judge(create, workers, &shown_workers), Verdict::Confirmed);
        let unserved = Shown {
            resource_type: "Custom::Other".into(),
            ..shown("CREATE_IN_PROGRESS", "")
        };
        assert!(matches!(
            judge(create, "Custom::Other", &unserved),
            Verdict::Refuted(_)
        ));
    }

    #[test]
    fn a_delete_of_another_id_or_state_is_decided_by_the_events() {
        let delete = Operation::Delete { physical_id: "old" };
        assert_eq!(
            judge(delete, REG, &shown("UPDATE_COMPLETE", "new")),
            Verdict::AskEvents
        );
        assert_eq!(
            judge(delete, REG, &shown("CREATE_COMPLETE", "old")),
            Verdict::AskEvents
        );
    }

    fn event(physical_id: &str, status: &str, age: u64, now: SystemTime) -> ShownEvent {
        ShownEvent {
            logical_id: "Reg".into(),
            physical_id: physical_id.into(),
            resource_type: REG.into(),
            status: status.into(),
            timestamp: Some(now - Duration::from_secs(age)),
        }
    }

    #[test]
    fn a_cleanup_delete_is_confirmed_by_its_newest_event_only() {
        let now = SystemTime::now();
        let cleanup = [
            event("new", "UPDATE_COMPLETE", 5, now),
            event("old", "DELETE_IN_PROGRESS", 10, now),
        ];
        assert_eq!(judge_events("Reg", REG, "old", &cleanup, now), Verdict::Confirmed);

        let done = [
            event("old", "DELETE_COMPLETE", 1, now),
            event("old", "DELETE_IN_PROGRESS", 10, now),
        ];
        assert!(matches!(
            judge_events("Reg", REG, "old", &done, now),
            Verdict::Refuted(_)
        ));
        let stale = [event("old", "DELETE_IN_PROGRESS", 4000, now)];
        assert!(matches!(
            judge_events("Reg", REG, "old", &stale, now),
            Verdict::Refuted(_)
        ));
        assert!(matches!(
            judge_events("Reg", REG, "other", &cleanup, now),
            Verdict::Refuted(_)
        ));
        assert!(matches!(
            judge_events("Other", REG, "old", &cleanup, now),
            Verdict::Refuted(_)
        ));
        assert!(matches!(
            judge_events("Reg", crate::WORKERS_TYPE, "old", &cleanup, now),
            Verdict::Refuted(_)
        ));
    }
}
