//! Faults injected on demand, and how they combine for one request.

use std::time::Duration;

/// Which requests a fault applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// `GET /integrations/docker`.
    List,
    /// `GET /integrations/docker/{id}/credentials`.
    Credentials,
    /// Every request, unknown paths included.
    All,
}

/// The kind of path a request was for, as far as scoping goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PathKind {
    List,
    Credentials,
    Other,
}

impl Scope {
    fn covers(self, kind: PathKind) -> bool {
        match self {
            Scope::All => true,
            Scope::List => kind == PathKind::List,
            Scope::Credentials => kind == PathKind::Credentials,
        }
    }
}

/// How a 429 tells the client to wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryAfter {
    /// `Retry-After: 2`.
    Seconds(u64),
    /// `Retry-After: <HTTP date>`, this far after the moment of answering
    /// (HTTP dates have whole seconds, so the wait the client computes may be
    /// up to a second shorter).
    HttpDateIn(Duration),
}

/// One misbehaviour. Faults without a count stay until cleared; several may
/// be active at once (latencies add up; counted answers are used in the order
/// they were injected).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Wait this long before sending the status line and headers.
    Latency(Duration),
    /// Send the headers at once, then the body `chunk_bytes` at a time, waiting
    /// `interval` before each chunk.
    SlowBody {
        chunk_bytes: usize,
        interval: Duration,
    },
    /// Answer the next `times` requests with this 5xx status, then behave.
    ServerErrors { status: u16, times: u32 },
    /// Answer the next `times` requests with 429 and `Retry-After`.
    TooManyRequests { retry_after: RetryAfter, times: u32 },
    /// Status 200 and a body that is not JSON.
    MalformedJson,
    /// A `Content-Length` larger than what is sent, then the connection closes.
    TruncatedBody,
    /// Accept the request and never answer, until the fake is dropped.
    Hang,
    /// 401 for every request, whatever the token.
    RejectTokens,
    /// Every request answers `status` with an error document whose detail
    /// echoes the bearer token it was sent, in every form of
    /// [`token_echoes`]: a careless server's error page. Whatever the status
    /// (a 5xx is retried), the client must never print any of it.
    EchoToken { status: u16 },
}

/// The forms in which [`Fault::EchoToken`] echoes `token`: as sent,
/// upper-cased, base64-encoded, and percent-encoded byte by byte.
pub fn token_echoes(token: &str) -> Vec<String> {
    use base64::Engine as _;
    vec![
        token.to_string(),
        token.to_uppercase(),
        base64::engine::general_purpose::STANDARD.encode(token),
        token.bytes().map(|b| format!("%{b:02X}")).collect(),
    ]
}

pub(crate) struct ActiveFault {
    pub(crate) scope: Scope,
    pub(crate) fault: Fault,
    /// For counted faults, how many answers are left.
    pub(crate) remaining: Option<u32>,
}

impl ActiveFault {
    pub(crate) fn new(scope: Scope, fault: Fault) -> ActiveFault {
        let remaining = match fault {
            Fault::ServerErrors { status, times } => {
                assert!(
                    (500..=599).contains(&status),
                    "ServerErrors needs a 5xx status, not {status}"
                );
                Some(times)
            }
            Fault::TooManyRequests { times, .. } => Some(times),
            Fault::SlowBody { chunk_bytes, .. } => {
                assert!(chunk_bytes > 0, "SlowBody needs chunk_bytes > 0");
                None
            }
            _ => None,
        };
        ActiveFault {
            scope,
            fault,
            remaining,
        }
    }
}

/// An answer that replaces the normal one entirely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Early {
    Reject,
    EchoToken(u16),
    ServerError(u16),
    TooManyRequests(RetryAfter),
}

/// Everything the faults do to one request, decided in one go under the lock
/// so that concurrent requests each use up a counted fault exactly once.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) hang: bool,
    pub(crate) latency: Duration,
    pub(crate) early: Option<Early>,
    pub(crate) malformed: bool,
    pub(crate) truncated: bool,
    pub(crate) slow: Option<(usize, Duration)>,
}

pub(crate) fn plan(faults: &mut Vec<ActiveFault>, kind: PathKind) -> Plan {
    let applies = |f: &Fault| faults.iter().any(|a| a.scope.covers(kind) && a.fault == *f);
    // A hung request answers nothing and a rejected one answers 401: neither
    // may use up a counted fault meant for a later request.
    if applies(&Fault::Hang) {
        return Plan {
            hang: true,
            ..Plan::default()
        };
    }
    let mut plan = Plan::default();
    if applies(&Fault::RejectTokens) {
        plan.early = Some(Early::Reject);
    }
    let echo = faults.iter().find_map(|a| match a.fault {
        Fault::EchoToken { status } if a.scope.covers(kind) => Some(status),
        _ => None,
    });
    if let Some(status) = echo {
        plan.early = Some(Early::EchoToken(status));
    }
    for active in faults.iter_mut().filter(|a| a.scope.covers(kind)) {
        match active.fault {
            Fault::Latency(d) => plan.latency += d,
            Fault::SlowBody {
                chunk_bytes,
                interval,
            } => plan.slow = Some((chunk_bytes, interval)),
            Fault::MalformedJson => plan.malformed = true,
            Fault::TruncatedBody => plan.truncated = true,
            Fault::ServerErrors { status, .. } => {
                consume(&mut plan, &mut active.remaining, Early::ServerError(status))
            }
            Fault::TooManyRequests { retry_after, .. } => consume(
                &mut plan,
                &mut active.remaining,
                Early::TooManyRequests(retry_after),
            ),
            Fault::Hang | Fault::RejectTokens | Fault::EchoToken { .. } => {}
        }
    }
    faults.retain(|a| a.remaining != Some(0));
    plan
}

fn consume(plan: &mut Plan, remaining: &mut Option<u32>, early: Early) {
    if plan.early.is_some() {
        return;
    }
    if let Some(n) = remaining.as_mut().filter(|n| **n > 0) {
        *n -= 1;
        plan.early = Some(early);
    }
}
