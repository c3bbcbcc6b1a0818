//! The bench's reconciliation, small: an Organization of nested OUs in moto with planted drift,
//! which must be found exactly, with the appliance read in pages.

#[tokio::test]
async fn a_small_reconciliation_finds_exactly_the_planted_drift_in_few_requests() {
    let measured = vbaws_bench::reconciliation::measure(60).await.expect("measured");
    assert_eq!(measured.found, measured.planted, "{measured:#?}");
    assert_eq!(
        measured.removed, measured.planted.orphaned,
        "--fix removes every orphan"
    );
    // The simulator gives at most 100 registrations per page.
    assert_eq!(
        measured.appliance_pages,
        measured.registrations.div_ceil(100),
        "{measured:#?}"
    );
    assert!(
        measured.appliance_requests <= measured.appliance_pages + 3,
        "the pages, the worker configurations and the login, not a request per account: {measured:#?}"
    );
    assert_eq!(
        measured.fix_requests,
        3 * measured.removed,
        "read, validateDelete, delete each"
    );
    assert!(
        measured
            .aws_calls
            .get("ListStackInstances")
            .is_some_and(|n| *n >= 1)
            && measured.aws_calls.get("ListAccounts").is_some_and(|n| *n >= 1),
        "{:?}",
        measured.aws_calls
    );
}
