//! `make demo`: the external-ID function run as Lambda runs it, on this machine only.
//!
//! The real `random-ext-id` binary polls a local Runtime API; CloudFormation's events for one
//! resource's life go to it, and its answers are read back from a local stand-in for the S3
//! bucket behind ResponseURLs. Every answer is checked; the demo exits non-zero on a surprise.
//!
//! Usage: `vbaws-demo <path of the random-ext-id binary>`

use std::{path::PathBuf, process::ExitCode, time::Duration};

use serde_json::{Value, json};
use tokio::time::Instant;
use vbaws_testkit::{
    Completion, Deadline, ResponseBucket, RuntimeApi, Sandbox,
    events::{Resource, request_id},
};

struct Demo {
    runtime: RuntimeApi,
    bucket: ResponseBucket,
    resource: Resource,
    surprises: Vec<String>,
}

impl Demo {
    async fn send(&mut self, step: &str, mut event: Value, expect: &str) -> Value {
        let key = request_id();
        event["ResponseURL"] = json!(self.bucket.url(&key));
        let started = Instant::now();
        let completion = self
            .runtime
            .invoke(
                &event,
                Deadline::In(Duration::from_secs(30)),
                Duration::from_secs(5),
            )
            .await;
        let answer = self
            .bucket
            .delivered(&key, Duration::from_secs(1))
            .await
            .map(|put| put.json())
            .unwrap_or_default();
        let took = started.elapsed();
        let status = answer["Status"].as_str().unwrap_or("no answer");
        let detail = match (answer["Data"]["RandomExtId"].as_str(), answer["Reason"].as_str()) {
            (Some(id), _) => format!("RandomExtId {}… ({} chars)", &id[..4.min(id.len())], id.len()),
            (None, Some(reason)) => format!("Reason: {reason}"),
            (None, None) => String::new(),
        };
        println!(
            "{step:<44} {status:<8} {:>7.1} ms  {}",
            took.as_secs_f64() * 1000.0,
            short(&answer["PhysicalResourceId"])
        );
        if !detail.is_empty() {
            println!("{:<44} {detail}", "");
        }
        if status != expect || completion != Completion::Response("null".into()) {
            self.surprises.push(format!(
                "{step}: expected {expect}, got {status} ({completion:?})"
            ));
        }
        answer
    }

    fn expect(&mut self, holds: bool, what: &str) {
        if !holds {
            self.surprises.push(what.to_owned());
        }
    }
}

fn short(id: &Value) -> String {
    let id = id.as_str().unwrap_or_default();
    if id.len() > 30 {
        format!("{}…", &id[..30])
    } else {
        id.to_owned()
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let Some(binary) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: vbaws-demo <path of the random-ext-id binary>");
        return ExitCode::from(2);
    };
    match run(binary).await {
        Ok(surprises) if surprises.is_empty() => {
            println!("\nEvery answer was as CloudFormation needs it.");
            ExitCode::SUCCESS
        }
        Ok(surprises) => {
            eprintln!("\nInconsistent:");
            surprises.iter().for_each(|s| eprintln!("  - {s}"));
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("demo failed to start: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(binary: PathBuf) -> std::io::Result<Vec<String>> {
    let runtime = RuntimeApi::start().await?;
    let bucket = ResponseBucket::start().await?;
    let sandbox = Sandbox::start(
        &binary,
        &runtime,
        &[("RESPONSE_URL_ALLOWED_HOSTS", &bucket.host())],
    )?;
    let mut demo = Demo {
        runtime,
        bucket,
        resource: Resource::new("Custom::RandomExtIdGenerator", "Ec2RoleExtId"),
        surprises: Vec::new(),
    };
    println!(
        "random-ext-id as a Lambda sandbox (pid {:?}), Runtime API on {}\n",
        sandbox.pid(),
        demo.runtime.address()
    );
    println!(
        "{:<44} {:<8} {:>10}  PhysicalResourceId",
        "event", "status", "time"
    );

    let r = demo.resource.clone();
    let props = json!({"Length": 32});
    let created = demo
        .send(
            "Create, Length 32",
            r.create("", &request_id(), props.clone()),
            "SUCCESS",
        )
        .await;
    let id = created["PhysicalResourceId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    let mut moved = r.update("", &request_id(), &id, props.clone(), props.clone());
    moved["ResourceProperties"]["ServiceToken"] = json!("arn:aws:lambda:us-east-1:111111111111:function:v2");
    let same = demo
        .send("Update, only ServiceToken changed", moved, "SUCCESS")
        .await;
    demo.expect(
        same["PhysicalResourceId"] == created["PhysicalResourceId"],
        "the unchanged Update kept its ID",
    );
    demo.expect(
        same["Data"] == created["Data"],
        "the unchanged Update returned the same external ID",
    );

    let rotated_props = json!({"Length": 32, "Rotation": "2026-11"});
    let rotated = demo
        .send(
            "Update, Rotation set (a rotation)",
            r.update("", &request_id(), &id, rotated_props, props.clone()),
            "SUCCESS",
        )
        .await;
    demo.expect(
        rotated["PhysicalResourceId"] != created["PhysicalResourceId"],
        "the rotation replaced the ID",
    );
    demo.expect(
        rotated["Data"] != created["Data"],
        "the rotation issued a new external ID",
    );
    demo.send(
        "Delete of the replaced ID (cleanup)",
        r.delete("", &request_id(), &id, props.clone()),
        "SUCCESS",
    )
    .await;

    let failed = demo
        .send(
            "Create, Length \"1\" (too short)",
            r.create("", &request_id(), json!({"Length": "1"})),
            "FAILED",
        )
        .await;
    let marker = failed["PhysicalResourceId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    demo.send(
        "Delete after that failed Create (rollback)",
        r.delete("", &request_id(), &marker, json!({"Length": "1"})),
        "SUCCESS",
    )
    .await;

    let current = rotated["PhysicalResourceId"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    demo.send(
        "Delete (stack deleted)",
        r.delete("", &request_id(), &current, props),
        "SUCCESS",
    )
    .await;

    println!(
        "\nThe function printed {} log lines; none holds an external ID:",
        sandbox.output().lines().count()
    );
    let ids = [&created, &rotated].map(|a| a["Data"]["RandomExtId"].as_str().unwrap_or("-").to_owned());
    let output = sandbox.output();
    demo.expect(
        ids.iter().all(|id| !output.contains(id.as_str())),
        "an external ID reached the log",
    );
    for line in output.lines().filter(|l| l.contains("answer delivered")).take(2) {
        println!("  {line}");
    }
    Ok(demo.surprises)
}
