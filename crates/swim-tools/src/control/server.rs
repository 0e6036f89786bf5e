//! The member's side of the control socket: created safely, open to its own user only, one
//! request per connection.
//!
//! Creating: `bind` makes the socket file or fails if the path exists, so nothing is ever
//! overwritten in a race. An existing socket that accepts a connection belongs to a live
//! member: refused. One that refuses connections was left by a process that died: removed,
//! then bound again. Anything else at the path (a file, a link) is left alone: refused. The
//! socket is made mode 0600 at once; a connection made before that, and any other, is still
//! checked: the peer's uid (`SO_PEERCRED`) must be this process's, or the connection gets
//! an error line and is closed. The socket is removed when the [`ControlSocket`] is dropped
//! (the server stopped or aborted), if it is still the one it created.

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};

use super::wire::{read_line, Reply, Request, MAX_QUERY_TIMEOUT, MAX_REQUEST_LINE};
use super::{ControlTarget, QueryReply, TargetError};

/// Most connections served at once; more get a "busy" error.
pub const MAX_CONNECTIONS: usize = 16;
/// Longest wait for a client's request line.
pub const REQUEST_WAIT: Duration = Duration::from_secs(10);
/// Longest wait for a client to take a reply line.
pub const WRITE_WAIT: Duration = Duration::from_secs(10);
/// Longest a direct message may take (the library's own timeout is shorter).
pub const SEND_WAIT: Duration = Duration::from_secs(60);
/// How long past its timeout a query's stream may still run before the server ends it.
pub const QUERY_GRACE: Duration = Duration::from_secs(5);

/// Why the control socket could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BindError {
    /// A live process serves the path.
    #[error(
        "control socket {0}: another member is running there (stop it, or choose another \
         path with --control)"
    )]
    Live(PathBuf),
    /// Something else than a socket is at the path.
    #[error("control socket {0}: the path exists and is not a socket; not replacing it")]
    NotASocket(PathBuf),
    /// Creating the socket failed.
    #[error("cannot create the control socket {path}: {source}")]
    Io {
        /// The socket's path.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
}

/// A bound control socket, not yet served.
#[derive(Debug)]
pub struct ControlSocket {
    listener: UnixListener,
    path: PathBuf,
    /// Device and inode of the socket file created, to remove only that one.
    identity: (u64, u64),
}

impl ControlSocket {
    /// Creates the socket at `path` (see the module docs). Must run inside a tokio runtime.
    pub fn bind(path: &Path) -> Result<ControlSocket, BindError> {
        let io_err = |source| BindError::Io {
            path: path.to_owned(),
            source,
        };
        let listener = match std::os::unix::net::UnixListener::bind(path) {
            Ok(listener) => listener,
            Err(err) if err.kind() == io::ErrorKind::AddrInUse => {
                let meta = std::fs::symlink_metadata(path).map_err(io_err)?;
                if !meta.file_type().is_socket() {
                    return Err(BindError::NotASocket(path.to_owned()));
                }
                match std::os::unix::net::UnixStream::connect(path) {
                    Ok(_) => return Err(BindError::Live(path.to_owned())),
                    Err(err) if err.kind() == io::ErrorKind::ConnectionRefused => {
                        tracing::info!("removing the stale control socket {}", path.display());
                        std::fs::remove_file(path).map_err(io_err)?;
                        std::os::unix::net::UnixListener::bind(path).map_err(io_err)?
                    }
                    Err(err) => return Err(io_err(err)),
                }
            }
            Err(err) => return Err(io_err(err)),
        };
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(io_err)?;
        let meta = std::fs::symlink_metadata(path).map_err(io_err)?;
        listener.set_nonblocking(true).map_err(io_err)?;
        let listener = UnixListener::from_std(listener).map_err(io_err)?;
        Ok(ControlSocket {
            listener,
            path: path.to_owned(),
            identity: (meta.dev(), meta.ino()),
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Serves requests for `target` until `stop` is set or the task is aborted, then removes
    /// the socket.
    pub fn serve<T: ControlTarget>(self, target: T, stop: watch::Receiver<bool>) -> JoinHandle<()> {
        tokio::spawn(serve(self, target, stop))
    }
}

impl Drop for ControlSocket {
    /// Removes the socket file if it is still the one created: when the server stops, is
    /// aborted, or the socket is never served (the member failed to start).
    fn drop(&mut self) {
        let ours = std::fs::symlink_metadata(&self.path)
            .is_ok_and(|meta| (meta.dev(), meta.ino()) == self.identity);
        if ours {
            if let Err(err) = std::fs::remove_file(&self.path) {
                tracing::warn!("cannot remove {}: {err}", self.path.display());
            }
        }
    }
}

async fn serve<T: ControlTarget>(
    socket: ControlSocket,
    target: T,
    mut stop: watch::Receiver<bool>,
) {
    let own_uid = nix::unistd::getuid().as_raw();
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    let mut refusals: u64 = 0;
    loop {
        let accepted = tokio::select! {
            accepted = socket.listener.accept() => accepted,
            _ = stop.wait_for(|stopped| *stopped) => break,
        };
        while connections.try_join_next().is_some() {}
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                tracing::warn!("control socket: accept failed: {err}");
                // Out of file descriptors, typically: give the others time to close.
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let peer = stream.peer_cred().map(|cred| cred.uid());
        if peer.as_ref().ok() != Some(&own_uid) {
            let who = match peer {
                Ok(uid) => format!("uid {uid}"),
                Err(err) => format!("unknown uid ({err})"),
            };
            refusals += 1;
            // Another local user could flood the log: the first ones are warned about,
            // then every 1000th.
            if refusals <= 16 || refusals % 1000 == 0 {
                tracing::warn!(
                    "control socket {}: connection from {who} refused ({refusals} so far)",
                    socket.path.display()
                );
            }
            let refusal = refused(format!(
                "refused: this control socket serves uid {own_uid} only"
            ));
            answer_and_close(stream, &refusal);
            continue;
        }
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            let busy = refused(format!("busy: {MAX_CONNECTIONS} requests already running"));
            answer_and_close(stream, &busy);
            continue;
        };
        let target = target.clone();
        connections.spawn(async move {
            let _slot = slot;
            if let Err(err) = handle(stream, &target).await {
                tracing::debug!("control connection: {err}");
            }
        });
    }
    connections.abort_all();
    // Dropping the socket removes it.
}

/// Writes a short reply without waiting (it fits the socket's buffer) and closes: a refused
/// or surplus connection costs no task.
fn answer_and_close(stream: UnixStream, reply: &Reply) {
    let _ = stream.try_write(&reply.to_line());
}

fn refused(message: String) -> Reply {
    Reply::Error {
        usage: false,
        message,
    }
}

fn error_reply(err: TargetError) -> Reply {
    Reply::Error {
        usage: err.usage,
        message: err.message,
    }
}

async fn write_reply<W: AsyncWrite + Unpin>(stream: &mut W, reply: &Reply) -> io::Result<()> {
    match tokio::time::timeout(WRITE_WAIT, stream.write_all(&reply.to_line())).await {
        Ok(written) => written,
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            "the client does not read its replies",
        )),
    }
}

/// Serves one connection: one request, its replies, then close.
pub async fn handle<T: ControlTarget>(stream: UnixStream, target: &T) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let line =
        match tokio::time::timeout(REQUEST_WAIT, read_line(&mut reader, MAX_REQUEST_LINE)).await {
            Err(_) => Err(format!("no request within {REQUEST_WAIT:?}")),
            Ok(Err(err)) => Err(format!("bad request: {err}")),
            Ok(Ok(None)) => return Ok(()),
            Ok(Ok(Some(line))) => Request::parse(&line),
        };
    let request = match line {
        Ok(request) => request,
        Err(message) => {
            let error = Reply::Error {
                usage: true,
                message,
            };
            return write_reply(&mut write, &error).await;
        }
    };
    let outcome = match request {
        Request::Event {
            name,
            payload,
            coalesce,
        } => {
            let size = payload.len();
            let published = target.publish(&name, payload, coalesce).await;
            if published.is_ok() {
                tracing::info!("published event {name:?} ({size} bytes) for a local client");
            }
            published.map_or_else(error_reply, |()| Reply::Ok)
        }
        Request::Send {
            member,
            payload,
            reliable,
        } => match tokio::time::timeout(SEND_WAIT, target.send(&member, payload, reliable)).await {
            Ok(sent) => sent.map_or_else(error_reply, |()| Reply::Ok),
            Err(_) => error_reply(TargetError::failure(format!(
                "no outcome within {SEND_WAIT:?}"
            ))),
        },
        Request::Query(query) => {
            let limit = query.timeout.unwrap_or(MAX_QUERY_TIMEOUT) + QUERY_GRACE;
            let mut replies = match target.query(query).await {
                Ok(replies) => replies,
                Err(err) => return write_reply(&mut write, &error_reply(err)).await,
            };
            let deadline = tokio::time::Instant::now() + limit;
            let (mut acks, mut responses) = (0, 0);
            while let Ok(Some(next)) = tokio::time::timeout_at(deadline, replies.recv()).await {
                match next {
                    QueryReply::Ack { .. } => acks += 1,
                    QueryReply::Response { .. } => responses += 1,
                }
                // A client gone away ends the query's stream here; the query itself runs
                // its course in the member.
                write_reply(&mut write, &Reply::Query(next)).await?;
            }
            Reply::Done { acks, responses }
        }
    };
    write_reply(&mut write, &outcome).await
}
