//! Production worker configurations: the third-party client's sequence, then the operations
//! whose paths are the API's usual ones (unconfirmed), against the simulator.

use vbaws_client::{Deleted, Error, WorkerSpec};
use vbaws_sim::Config;

use super::{appliance, builder, soon, spec};

const ACCOUNT: &str = "111122223333";

#[tokio::test]
async fn a_worker_configuration_is_made_from_a_region_a_connection_and_a_zone() {
    let running = appliance(Config::default()).await;
    let client = builder(&running).build().expect("client");
    let api = client.until(soon());
    let role = api
        .roles()
        .create(&spec(ACCOUNT, "VeeamWorkerConfig", "ext-id-1"))
        .await
        .expect("registered");
    let workers = api.workers();

    let region = workers
        .region("eu-central-1")
        .await
        .expect("search")
        .expect("known");
    assert_eq!(region.name, "eu-central-1");
    assert_eq!(
        workers.region("eu-central").await.expect("search"),
        None,
        "a search finds substrings; only the exact name is taken"
    );
    let connection = workers.connect(&role.id, &region.id).await.expect("connected");
    let seen = workers.connection_zones(&connection.id).await.expect("zones");
    assert_eq!(seen, ["eu-central-1a", "eu-central-1b", "eu-central-1c"]);
    let zone = workers
        .zone(&region.id, "EU-CENTRAL-1B")
        .await
        .expect("search")
        .expect("known");
    assert_eq!(zone.name, "eu-central-1b");

    let wanted = WorkerSpec {
        account_id: ACCOUNT.into(),
        role_id: role.id.clone(),
        zone_id: zone.id.clone(),
        vpc_id: "vpc-0a1b2c3d".into(),
        subnet_id: "subnet-0a1b2c3d".into(),
        security_group_id: "sg-0a1b2c3d".into(),
    };
    let made = workers.create(&wanted).await.expect("created");
    assert_eq!(made.spec, wanted);
    assert_eq!(workers.list().await.expect("listed"), std::slice::from_ref(&made));

    // One per account and Region: a second one is refused, as a name taken is.
    let again = workers.create(&wanted).await.expect_err("a duplicate");
    assert!(matches!(&again, Error::Api(api) if api.status == 409), "{again}");

    let moved = WorkerSpec {
        subnet_id: "subnet-99999999".into(),
        ..wanted
    };
    let updated = workers.update(&made.id, &moved).await.expect("updated");
    assert_eq!(updated.spec.subnet_id, "subnet-99999999");
    assert_eq!(
        workers.get(&made.id).await.expect("read").map(|c| c.spec),
        Some(moved)
    );

    // The role is in use while a configuration holds it.
    let blockers = api.roles().validate_delete(&role.id).await.expect("validated");
    assert!(
        blockers
            .iter()
            .any(|m| m.message.contains("worker configuration")),
        "{blockers:?}"
    );
    assert_eq!(workers.delete(&made.id).await.expect("removed"), Deleted::Removed);
    assert_eq!(
        workers.delete(&made.id).await.expect("gone"),
        Deleted::AlreadyGone
    );
    assert_eq!(workers.get(&made.id).await.expect("read"), None);
    assert!(
        api.roles()
            .validate_delete(&role.id)
            .await
            .expect("validated")
            .is_empty()
    );
}

#[tokio::test]
async fn a_configuration_needs_the_accounts_own_role_and_a_known_zone() {
    let running = appliance(Config::default()).await;
    let client = builder(&running).build().expect("client");
    let api = client.until(soon());
    let role = api
        .roles()
        .create(&spec(ACCOUNT, "VeeamWorkerConfig", "ext-id-1"))
        .await
        .expect("registered");
    let region = api
        .workers()
        .region("us-east-1")
        .await
        .expect("search")
        .expect("known");
    let zone = api
        .workers()
        .zone(&region.id, "us-east-1f")
        .await
        .expect("search")
        .expect("known");
    let good = WorkerSpec {
        account_id: ACCOUNT.into(),
        role_id: role.id.clone(),
        zone_id: zone.id,
        vpc_id: "vpc-1".into(),
        subnet_id: "subnet-1".into(),
        security_group_id: "sg-1".into(),
    };
    for (bad, expected) in [
        (
            WorkerSpec {
                account_id: "444455556666".into(),
                ..good.clone()
            },
            "does not belong to account 444455556666",
        ),
        (
            WorkerSpec {
                zone_id: region.id.clone(),
                ..good.clone()
            },
            "was not found",
        ),
        (
            WorkerSpec {
                subnet_id: "vpc-1".into(),
                ..good.clone()
            },
            "not valid for cloudSubnetworkId",
        ),
    ] {
        let refused = api.workers().create(&bad).await.expect_err(expected);
        assert!(refused.to_string().contains(expected), "{expected}: {refused}");
    }
    assert_eq!(api.workers().region("mars-north-1").await.expect("search"), None);
    assert!(running.sim.worker_configurations().is_empty());
}
