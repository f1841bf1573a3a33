//! A response body that misbehaves on purpose.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::{Bytes, HttpBody};
use http_body::{Frame, SizeHint};

/// A body sent in delayed chunks, optionally stopping short of its
/// Content-Length with an error, which makes hyper close the connection.
pub(crate) struct Drip {
    /// Each step waits, then sends its bytes; `None` is the failure.
    steps: VecDeque<(Duration, Option<Bytes>)>,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    promised: u64,
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
        let mut steps: VecDeque<_> = sent
            .chunks(chunk)
            .map(|c| (interval, Some(Bytes::copy_from_slice(c))))
            .collect();
        if truncated {
            // Long enough for hyper to flush the headers and the partial body
            // before the error tears the connection down.
            steps.push_back((Duration::from_millis(50), None));
        }
        Drip {
            steps,
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
        let Some((delay, _)) = this.steps.front() else {
            return Poll::Ready(None);
        };
        if !delay.is_zero() {
            let delay = *delay;
            let sleep = this
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
            ready!(sleep.as_mut().poll(cx));
            this.sleep = None;
        }
        Poll::Ready(match this.steps.pop_front().and_then(|(_, bytes)| bytes) {
            Some(bytes) => Some(Ok(Frame::data(bytes))),
            None => Some(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionAborted,
                "injected fault: truncated body",
            ))),
        })
    }

    fn is_end_stream(&self) -> bool {
        self.steps.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.promised)
    }
}
