//! A stand-in for the AWS calls that tell a real CloudFormation event from a forged one: STS
//! `AssumeRole`, and CloudFormation's `DescribeStackResource` and `DescribeStackEvents`, over the
//! AWS Query protocol (form-encoded POSTs, XML answers), answered from a [`Ledger`] of the stacks
//! the template player plays, so what it says is what CloudFormation would say at that moment.
//!
//! IAM as a caller meets it: a role can be assumed only while a live stack of its account holds
//! it and its trust policy admits the caller; a session may describe only what its role's policy
//! names (`iam.rs`), and only stacks of its own account. Callers are known by their access key
//! ID; signatures are not checked (a leniency: AWS checks them).

mod iam;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime},
};

use axum::{
    Form, Router,
    extract::State,
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::post,
};
use serde_json::Value;
use tokio::task::JoinHandle;
use vbaws_template::{
    Ledger,
    ledger::{ResourceRecord, StackRecord},
};

use crate::serve::serve;

/// How many events one DescribeStackEvents page holds. The API reference names no page size;
/// this is a guess, and callers must not rely on more.
const EVENTS_PAGE: usize = 100;

#[derive(Debug)]
struct Session {
    account: String,
    role_arn: String,
    /// The role's resolved properties, its policies among them.
    role: Value,
}

#[derive(Debug, Default)]
struct Inner {
    /// Access key ID → the principal it signs as.
    callers: HashMap<String, String>,
    sessions: HashMap<String, Session>,
    /// Each call's action, in order.
    calls: Vec<String>,
}

/// A running stand-in on 127.0.0.1.
#[derive(Debug)]
pub struct Cloud {
    addr: SocketAddr,
    ledger: Ledger,
    inner: Arc<Mutex<Inner>>,
    server: JoinHandle<()>,
}

type Shared = (Ledger, Arc<Mutex<Inner>>);

/// The execution role the tests' configurator runs as, and the access key it signs with.
pub const CONFIGURATOR_ROLE_ARN: &str =
    "arn:aws:iam::111111111111:role/vbaws-lambdas-ConfiguratorRole-1A2B3C4D";
pub const CONFIGURATOR_ACCESS_KEY: &str = "ASIACONFIGURATOR0001";

impl Cloud {
    /// Serves on a free port, answering from `ledger`; the configurator's execution role
    /// ([`CONFIGURATOR_ROLE_ARN`]) is a known caller.
    pub async fn start(ledger: &Ledger) -> std::io::Result<Self> {
        let inner = Arc::new(Mutex::new(Inner::default()));
        inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .callers
            .insert(
                CONFIGURATOR_ACCESS_KEY.to_owned(),
                CONFIGURATOR_ROLE_ARN.to_owned(),
            );
        let app = Router::new()
            .route("/", post(handle))
            .with_state((ledger.clone(), Arc::clone(&inner)));
        let (addr, server) = serve(app).await?;
        Ok(Self {
            addr,
            ledger: ledger.clone(),
            inner,
            server,
        })
    }

    /// `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_STS` and `AWS_ENDPOINT_URL_CLOUDFORMATION`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// What the configurator's environment needs to ask this stand-in, as its execution role,
    /// with confirmation enforced.
    pub fn configurator_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL_STS", self.endpoint()),
            ("AWS_ENDPOINT_URL_CLOUDFORMATION", self.endpoint()),
            ("AWS_ACCESS_KEY_ID", CONFIGURATOR_ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "configurator-secret-key".to_owned()),
            ("EVENT_CONFIRMATION", "Enforce".to_owned()),
        ]
    }

    /// Makes `access_key_id` the credentials of `principal_arn` (a function's execution role).
    pub fn admit(&self, access_key_id: &str, principal_arn: &str) {
        self.lock()
            .callers
            .insert(access_key_id.to_owned(), principal_arn.to_owned());
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The actions called so far, in order (`AssumeRole`, `DescribeStackResource`, …).
    pub fn calls(&self) -> Vec<String> {
        self.lock().calls.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Cloud {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn handle(
    State((ledger, inner)): State<Shared>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let action = form.get("Action").cloned().unwrap_or_default();
    let key = access_key(&headers);
    let mut inner = inner.lock().unwrap_or_else(PoisonError::into_inner);
    inner.calls.push(action.clone());
    let param = |name: &str| form.get(name).map_or("", String::as_str);
    let answer = match action.as_str() {
        "AssumeRole" => assume_role(
            &ledger,
            &mut inner,
            &key,
            param("RoleArn"),
            param("RoleSessionName"),
        ),
        "DescribeStackResource" | "DescribeStackEvents" => describe(
            &ledger,
            &inner,
            &key,
            &action,
            param("StackName"),
            param("LogicalResourceId"),
        ),
        other => Err(Failure::new(
            400,
            "InvalidAction",
            format!("{other} is not served here"),
        )),
    };
    let (namespace, result) = if action == "AssumeRole" {
        ("https://sts.amazonaws.com/doc/2011-06-15/", answer)
    } else {
        ("http://cloudformation.amazonaws.com/doc/2010-05-15/", answer)
    };
    match result {
        Ok(body) => xml(
            StatusCode::OK,
            format!(
                "<{action}Response xmlns=\"{namespace}\"><{action}Result>{body}</{action}Result>\
                 <ResponseMetadata><RequestId>{}</RequestId></ResponseMetadata></{action}Response>",
                uuid()
            ),
        ),
        Err(failure) => failure.into_xml(namespace),
    }
}

fn assume_role(
    ledger: &Ledger,
    inner: &mut Inner,
    key: &str,
    role_arn: &str,
    session_name: &str,
) -> Result<String, Failure> {
    let caller = inner.callers.get(key).cloned().ok_or_else(Failure::unknown_key)?;
    let denied = || {
        Failure::new(
            403,
            "AccessDenied",
            format!("User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}"),
        )
    };
    let account = role_arn.split(':').nth(4).unwrap_or_default().to_owned();
    let name = role_arn.rsplit('/').next().unwrap_or_default();
    let role = ledger
        .stacks_of(&account)
        .into_iter()
        .flat_map(|stack| stack.resources.into_values())
        .find(|r| is_live_role(r, name))
        .ok_or_else(denied)?;
    if !iam::trusts(&role.properties, &caller) {
        return Err(denied());
    }
    let access_key_id = format!("ASIA{}", &uuid().replace('-', "")[..16].to_ascii_uppercase());
    let expiration = SystemTime::now() + Duration::from_secs(3600);
    inner.sessions.insert(
        access_key_id.clone(),
        Session {
            account: account.clone(),
            role_arn: role_arn.to_owned(),
            role: role.properties,
        },
    );
    Ok(format!(
        "<Credentials><AccessKeyId>{access_key_id}</AccessKeyId><SecretAccessKey>{}</SecretAccessKey>\
         <SessionToken>{}</SessionToken><Expiration>{}</Expiration></Credentials>\
         <AssumedRoleUser><AssumedRoleId>AROA{}:{}</AssumedRoleId>\
         <Arn>arn:aws:sts::{account}:assumed-role/{}/{}</Arn></AssumedRoleUser>",
        uuid(),
        uuid(),
        timestamp(expiration),
        &access_key_id[4..],
        escape(session_name),
        escape(name),
        escape(session_name),
    ))
}

fn is_live_role(resource: &ResourceRecord, name: &str) -> bool {
    resource.resource_type == "AWS::IAM::Role"
        && resource.physical_id == name
        && !matches!(
            resource.status,
            vbaws_template::ledger::ResourceStatus::DeleteComplete
        )
}

fn describe(
    ledger: &Ledger,
    inner: &Inner,
    key: &str,
    action: &str,
    stack_name: &str,
    logical_id: &str,
) -> Result<String, Failure> {
    let session = inner.sessions.get(key).ok_or_else(Failure::unknown_key)?;
    // Only the session's own account's stacks can be found, whatever ARN is asked for.
    let stack = ledger
        .stacks_of(&session.account)
        .into_iter()
        .find(|s| s.stack_id == stack_name || s.name == stack_name);
    let resource_arn = stack.as_ref().map_or(stack_name, |s| s.stack_id.as_str());
    let iam_action = format!("cloudformation:{action}");
    if !iam::allows(&session.role, &iam_action, resource_arn) {
        return Err(Failure::new(
            403,
            "AccessDenied",
            format!(
                "User: {} is not authorized to perform: {iam_action} on resource: {resource_arn} because no \
                 identity-based policy allows the {iam_action} action",
                session.role_arn
            ),
        ));
    }
    let stack = stack.ok_or_else(|| {
        Failure::new(
            400,
            "ValidationError",
            format!("Stack with id {stack_name} does not exist"),
        )
    })?;
    if action == "DescribeStackEvents" {
        return Ok(events(&stack));
    }
    let resource = stack.resources.get(logical_id).ok_or_else(|| {
        Failure::new(
            400,
            "ValidationError",
            format!("Resource {logical_id} does not exist for stack {stack_name}"),
        )
    })?;
    Ok(format!(
        "<StackResourceDetail><StackName>{}</StackName><StackId>{}</StackId>\
         <LogicalResourceId>{}</LogicalResourceId><PhysicalResourceId>{}</PhysicalResourceId>\
         <ResourceType>{}</ResourceType><LastUpdatedTimestamp>{}</LastUpdatedTimestamp>\
         <ResourceStatus>{}</ResourceStatus></StackResourceDetail>",
        escape(&stack.name),
        escape(&stack.stack_id),
        escape(logical_id),
        escape(&resource.physical_id),
        escape(&resource.resource_type),
        timestamp(resource.updated),
        resource.status.as_str(),
    ))
}

fn events(stack: &StackRecord) -> String {
    let members: String = stack
        .events
        .iter()
        .rev()
        .take(EVENTS_PAGE)
        .map(|event| {
            format!(
                "<member><StackId>{}</StackId><EventId>{}</EventId><StackName>{}</StackName>\
                 <LogicalResourceId>{}</LogicalResourceId><PhysicalResourceId>{}</PhysicalResourceId>\
                 <ResourceType>{}</ResourceType><Timestamp>{}</Timestamp>\
                 <ResourceStatus>{}</ResourceStatus></member>",
                escape(&stack.stack_id),
                uuid(),
                escape(&stack.name),
                escape(&event.logical_id),
                escape(&event.physical_id),
                escape(&event.resource_type),
                timestamp(event.timestamp),
                event.status.as_str(),
            )
        })
        .collect();
    format!("<StackEvents>{members}</StackEvents>")
}

/// An error answer, in the Query protocol's shape.
#[derive(Debug)]
struct Failure {
    status: u16,
    code: &'static str,
    message: String,
}

impl Failure {
    fn new(status: u16, code: &'static str, message: String) -> Self {
        Self {
            status,
            code,
            message,
        }
    }

    fn unknown_key() -> Self {
        Self::new(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.".into(),
        )
    }

    fn into_xml(self, namespace: &str) -> Response {
        let kind = if self.status >= 500 { "Receiver" } else { "Sender" };
        xml(
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST),
            format!(
                "<ErrorResponse xmlns=\"{namespace}\"><Error><Type>{kind}</Type><Code>{}</Code>\
                 <Message>{}</Message></Error><RequestId>{}</RequestId></ErrorResponse>",
                self.code,
                escape(&self.message),
                uuid()
            ),
        )
    }
}

fn xml(status: StatusCode, body: String) -> Response {
    (status, [(header::CONTENT_TYPE, "text/xml")], body).into_response()
}

/// The access key ID of a SigV4 `Authorization` header (`… Credential=AKID/date/…`).
fn access_key(headers: &HeaderMap) -> String {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("Credential=").nth(1))
        .and_then(|v| v.split('/').next())
        .unwrap_or_default()
        .to_owned()
}

fn timestamp(at: SystemTime) -> String {
    time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// The roles template, whose event reader role [`member_stack`] records.
const ROLES_TEMPLATE: &str = include_str!("../../../../../template/roles.yaml");

/// For harnesses that play no template: records a stack instance of the roles StackSet in
/// `account`, holding what `template/roles.yaml` creates for confirmations, its event reader
/// role, resolved from the template as CloudFormation would (the trust and the policy are the
/// template's own). Returns the stack's ID; its custom resources are recorded by
/// [`Ledger::sending`] and [`Ledger::answered`] around each delivery.
pub fn member_stack(
    ledger: &Ledger,
    account: &str,
    region: &str,
    name: &str,
    configurator_role: &str,
) -> String {
    let template = vbaws_template::Template::from_yaml(ROLES_TEMPLATE).expect("roles.yaml parses");
    let context = vbaws_template::Context::for_stack(
        &template,
        account,
        region,
        name,
        &[("ConfiguratorRoleArn", configurator_role)],
    );
    let stack_id = vbaws_template::event::stack_id(account, region, name);
    let role = template
        .resource("EventReaderRole")
        .expect("roles.yaml has EventReaderRole");
    let properties = context
        .resolve(&template, role.properties)
        .expect("EventReaderRole resolves");
    let role_name = properties["RoleName"].as_str().unwrap_or_default().to_owned();
    ledger.open(&stack_id, account, region, name);
    ledger.created(
        &stack_id,
        "EventReaderRole",
        "AWS::IAM::Role",
        &role_name,
        &properties,
    );
    stack_id
}
