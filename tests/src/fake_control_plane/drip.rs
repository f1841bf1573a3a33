//! A response body that misbehaves on purpose: the fake control plane's
//! slow and truncated bodies, and the hostile registry's endless ones.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Bytes, HttpBody};
use http_body::{Frame, SizeHint};

/// One step of a body: wait, then send the bytes; `None` is the failure.
type Step = (Duration, Option<Bytes>);

/// A body sent in steps: delayed chunks, optionally stopping short of its
/// Content-Length with an error, which makes hyper close the connection;
/// or made as it is sent, without a length.
pub(crate) struct Drip {
    /// The step to send next; `None` once the body has ended.
    next: Option<Step>,
    rest: Box<dyn Iterator<Item = Step> + Send>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The Content-Length, when the body has one.
    promised: Option<u64>,
}

impl Drip {
    pub(crate) fn new(body: Vec<u8>, slow: Option<(usize, Duration)>, truncated: bool) -> Drip {
        let promised = body.len() as u64;
        let sent = if truncated {
            &body[..body.len() / 2]
        } else {
            &body[..]
        };
        let (chunk, interval) = slow.unwrap_or((sent.len().max(1), Duration::ZERO));
        let mut steps: Vec<Step> = sent
            .chunks(chunk)
            .map(|c| (interval, Some(Bytes::copy_from_slice(c))))
            .collect();
        if truncated {
            // Long enough for hyper to flush the headers and the partial body
            // before the error tears the connection down.
            steps.push((Duration::from_millis(50), None));
        }
        Drip::of(steps.into_iter(), Some(promised))
    }

    /// `total` bytes of `a`, 64 KiB at a time, made as they are sent, at
    /// once and without a Content-Length.
    pub(crate) fn endless(total: u64) -> Drip {
        static CHUNK: [u8; 65536] = [b'a'; 65536];
        let mut left = total;
        let chunks = std::iter::from_fn(move || {
            let n = left.min(CHUNK.len() as u64) as usize;
            left -= n as u64;
            (n > 0).then(|| (Duration::ZERO, Some(Bytes::from_static(&CHUNK[..n]))))
        });
        Drip::of(chunks, None)
    }

    fn of(steps: impl Iterator<Item = Step> + Send + 'static, promised: Option<u64>) -> Drip {
        let mut rest: Box<dyn Iterator<Item = Step> + Send> = Box::new(steps);
        Drip {
            next: rest.next(),
            rest,
            sleep: None,
            promised,
        }
    }
}

impl HttpBody for Drip {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        let Some((delay, _)) = this.next else {
            return Poll::Ready(None);
        };
        if !delay.is_zero() {
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
            ready!(sleep.as_mut().poll(cx));
            this.sleep = None;
        }
        let step = std::mem::replace(&mut this.next, this.rest.next());
        Poll::Ready(match step.and_then(|(_, bytes)| bytes) {
            Some(bytes) => Some(Ok(Frame::data(bytes))),
            None => Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "injected fault: truncated body",
            ))),
        })
    }

    fn is_end_stream(&self) -> bool {
        self.next.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.promised {
            Some(length) => SizeHint::with_exact(length),
            None => SizeHint::default(),
        }
    }
}
