//! No freed block of memory holds a secret: an allocator that inspects every
//! block freed (or reallocated) while a secret is being written out, and
//! counts those that still hold it. `serde_json::to_string` fails this (its
//! buffer grows, and each growth frees a copy unwiped); the helper's
//! pre-sized, wiped-on-drop buffers (`secret_json`) pass.
//!
//! Its own test binary: the global allocator is process-wide. Only the
//! thread that armed it is inspected, so libtest's other threads do not
//! count.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use docker_credential_scalr::host_token::{self, TokenStore};
use docker_credential_scalr::protocol::{self, Credential};
use docker_credential_scalr::service_host::ServiceHost;
use docker_credential_scalr::{Error, Result};
use secrecy::SecretString;
use zeroize::Zeroizing;

/// In every secret below, long enough (over serde_json's first 128 bytes)
/// that a growing buffer must grow.
const MARKER: &[u8] = b"freed-secret-marker-4c7e91";

struct Inspecting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
}
static HOLDING: AtomicUsize = AtomicUsize::new(0);
static INSPECTED: AtomicUsize = AtomicUsize::new(0);

fn inspect(ptr: *mut u8, size: usize) {
    if !ARMED.with(Cell::get) {
        return;
    }
    INSPECTED.fetch_add(1, Ordering::Relaxed);
    // SAFETY: `ptr` is a live block of `size` bytes, about to be freed or
    // moved by its owner; reading it does not change it.
    let block = unsafe { std::slice::from_raw_parts(ptr, size) };
    if block.windows(MARKER.len()).any(|w| w == MARKER) {
        HOLDING.fetch_add(1, Ordering::Relaxed);
    }
}

// SAFETY: every call is passed on to the system allocator unchanged.
unsafe impl GlobalAlloc for Inspecting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        inspect(ptr, layout.size());
        unsafe { System.dealloc(ptr, layout) }
    }

    /// A reallocation may move the block and free the old one unwiped; a
    /// buffer that holds a secret must never be reallocated at all.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        inspect(ptr, layout.size());
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Inspecting = Inspecting;

/// Runs `f` with the allocator inspecting this thread; returns how many
/// freed or reallocated blocks still held the marker. Tests run one at a
/// time through this lock.
fn blocks_left_holding_the_secret(f: impl FnOnce()) -> usize {
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    HOLDING.store(0, Ordering::Relaxed);
    INSPECTED.store(0, Ordering::Relaxed);
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    assert!(
        INSPECTED.load(Ordering::Relaxed) > 0,
        "nothing was freed while armed: the inspection saw nothing"
    );
    HOLDING.load(Ordering::Relaxed)
}

/// A secret of `repeat` markers with characters Go escapes between them.
fn secret(repeat: usize) -> String {
    let marker = std::str::from_utf8(MARKER).unwrap();
    vec![marker; repeat].join("<&>")
}

/// stdout for the code under test: pre-sized and wiped, so that the test's
/// own buffer is not what the allocator finds.
struct Wiped(Zeroizing<Vec<u8>>);

impl Write for Wiped {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        assert!(self.0.capacity() - self.0.len() >= data.len(), "grow");
        self.0.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_control_serde_json_to_string_leaves_the_secret_in_freed_memory() {
    let s = SecretString::from(secret(20).as_str());
    let left = blocks_left_holding_the_secret(|| {
        use secrecy::ExposeSecret;
        let json = Zeroizing::new(serde_json::to_string(&[s.expose_secret()]).unwrap());
        drop(json);
    });
    assert!(
        left > 0,
        "to_string's growing buffer should leave copies: the inspection is blind"
    );
}

#[test]
fn a_get_answer_leaves_no_copy_of_the_secret_in_freed_memory() {
    let credential = Credential {
        username: "user".into(),
        secret: SecretString::from(secret(20).as_str()),
    };
    let left = blocks_left_holding_the_secret(|| {
        let json = protocol::get_response("https://ghcr.io", &credential);
        assert!(json.contains("\\u003c\\u0026\\u003e"), "Go escaping");
        drop(json);
    });
    assert_eq!(left, 0, "freed blocks still held the secret");
}

/// One host token, handed out as a fresh `SecretString` each time.
struct OneToken(String);

impl TokenStore for OneToken {
    fn get_token(&self, _: &ServiceHost) -> Result<Option<SecretString>> {
        Ok(Some(SecretString::from(self.0.as_str())))
    }
    fn store_token(&self, _: &ServiceHost, _: &SecretString) -> Result<()> {
        Err(Error::NotFound)
    }
    fn erase_token(&self, _: &ServiceHost) -> Result<bool> {
        Ok(false)
    }
}

#[test]
fn a_host_token_answer_leaves_no_copy_of_the_token_in_freed_memory() {
    let store = OneToken(secret(20));
    let args = ["get".to_string(), "example.scalr.io".to_string()];
    let mut stdout = Wiped(Zeroizing::new(Vec::with_capacity(64 * 1024)));
    let mut stderr = Vec::with_capacity(64 * 1024);
    let left = blocks_left_holding_the_secret(|| {
        let code = host_token::serve(
            &args,
            &|_| None,
            &mut io::empty(),
            &mut stdout,
            &mut stderr,
            &store,
        );
        assert_eq!(code, 0, "{}", String::from_utf8_lossy(&stderr));
    });
    assert!(
        stdout.0.windows(MARKER.len()).any(|w| w == MARKER),
        "the token was answered"
    );
    assert_eq!(left, 0, "freed blocks still held the token");
}
