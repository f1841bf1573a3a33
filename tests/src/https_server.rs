//! An axum app served over HTTPS on `127.0.0.1` and a free port, on a
//! runtime of its own in a thread of its own: the fake control plane and
//! the token server both run this way. Dropping the handle stops the server
//! and every open connection.

use std::net::SocketAddr;
use std::thread::JoinHandle;

use axum::Router;
use axum_server::Handle;
use axum_server::tls_rustls::RustlsConfig;

/// The server thread.
pub struct Running {
    pub addr: SocketAddr,
    handle: Handle<SocketAddr>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves `app` with the certificate chain and key (PEM); `name` names the
/// thread and the error line.
pub fn spawn(app: Router, cert_pem: &str, key_pem: &str, name: &str) -> Running {
    let config = RustlsConfig::from_config(crate::tls::server_config(cert_pem, key_pem));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener
        .set_nonblocking(true)
        .expect("a non-blocking listener");
    let addr = listener.local_addr().expect("the listener's address");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name(name)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let handle = Handle::new();
    let server_handle = handle.clone();
    let label = name.to_string();
    let thread = std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            runtime.block_on(async move {
                let server = axum_server::tls_rustls::from_tcp_rustls(listener, config)
                    .expect("serve on the listener")
                    .handle(server_handle)
                    .http1_only();
                if let Err(e) = server.serve(app.into_make_service()).await {
                    eprintln!("{label}: server error: {e}");
                }
            });
            // Hung and dripping answers are still pending: drop them rather
            // than wait for them.
            runtime.shutdown_background();
        })
        .expect("spawn the server thread");
    Running {
        addr,
        handle,
        thread: Some(thread),
    }
}
