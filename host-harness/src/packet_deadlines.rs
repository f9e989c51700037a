//! Time limits on a milter connection, applied under the protocol crate: a client may wait at
//! most `idle` between two packets, a packet once begun must arrive whole within `read` (one
//! byte a second does not keep a connection forever), and a reply must be taken by the client
//! within `read`. Past a limit the read or write fails with `TimedOut` and the connection ends.
//!
//! Packets are read from the milter framing: a 4-byte big-endian length, then that many bytes.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

pub struct PacketDeadlines<S> {
    inner: S,
    idle: Duration,
    read: Duration,
    read_deadline: Pin<Box<Sleep>>,
    /// Whether `read_deadline` runs (between packets it starts when the reader starts waiting).
    read_armed: bool,
    write_deadline: Pin<Box<Sleep>>,
    write_armed: bool,
    in_packet: bool,
    header: [u8; 4],
    header_len: usize,
    remaining: usize,
}

impl<S> PacketDeadlines<S> {
    pub fn new(inner: S, idle: Duration, read: Duration) -> PacketDeadlines<S> {
        PacketDeadlines {
            inner,
            idle,
            read,
            read_deadline: Box::pin(tokio::time::sleep(idle)),
            read_armed: false,
            write_deadline: Box::pin(tokio::time::sleep(read)),
            write_armed: false,
            in_packet: false,
            header: [0; 4],
            header_len: 0,
            remaining: 0,
        }
    }

    /// Follow the framing through bytes just read.
    fn track(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            if !self.in_packet {
                self.in_packet = true;
                self.header_len = 0;
                self.read_deadline.as_mut().reset(Instant::now() + self.read);
                self.read_armed = true;
            }
            if self.header_len < 4 {
                let take = (4 - self.header_len).min(data.len());
                self.header[self.header_len..self.header_len + take].copy_from_slice(&data[..take]);
                self.header_len += take;
                data = &data[take..];
                if self.header_len == 4 {
                    self.remaining = u32::from_be_bytes(self.header) as usize;
                }
            } else {
                let take = self.remaining.min(data.len());
                self.remaining -= take;
                data = &data[take..];
            }
            if self.header_len == 4 && self.remaining == 0 {
                self.in_packet = false;
                self.read_armed = false;
            }
        }
    }
}

fn timed_out(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::TimedOut, what.to_string())
}

impl<S: AsyncRead + Unpin> AsyncRead for PacketDeadlines<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                self.track(&buf.filled()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if !self.read_armed {
                    let at = Instant::now() + self.idle;
                    self.read_deadline.as_mut().reset(at);
                    self.read_armed = true;
                }
                match self.read_deadline.as_mut().poll(cx) {
                    Poll::Ready(()) if self.in_packet => Poll::Ready(Err(timed_out("packet not complete in time"))),
                    Poll::Ready(()) => Poll::Ready(Err(timed_out("idle timeout"))),
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> PacketDeadlines<S> {
    /// A pending write starts the write deadline; any progress stops it.
    fn writing<T>(&mut self, cx: &mut Context<'_>, r: Poll<std::io::Result<T>>) -> Poll<std::io::Result<T>> {
        match r {
            Poll::Pending => {
                if !self.write_armed {
                    let at = Instant::now() + self.read;
                    self.write_deadline.as_mut().reset(at);
                    self.write_armed = true;
                }
                match self.write_deadline.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(timed_out("client does not take replies"))),
                    Poll::Pending => Poll::Pending,
                }
            }
            ready => {
                self.write_armed = false;
                ready
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for PacketDeadlines<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.writing(cx, r)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.writing(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test(start_paused = true)]
    async fn idle_and_partial_packets_time_out() {
        let (mut client, server) = tokio::io::duplex(1024);
        let mut s = PacketDeadlines::new(server, Duration::from_secs(10), Duration::from_secs(2));
        let mut buf = [0u8; 16];
        // A whole packet arrives; then a partial one stalls past the read limit, not the idle one.
        client.write_all(&[0, 0, 0, 1, b'A', 0, 0]).await.unwrap();
        assert_eq!(s.read(&mut buf).await.unwrap(), 7);
        let t = Instant::now();
        let e = s.read(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::TimedOut);
        assert!(t.elapsed() <= Duration::from_secs(2), "{:?}", t.elapsed());
        // Between packets the idle limit applies.
        let (mut client, server) = tokio::io::duplex(1024);
        let mut s = PacketDeadlines::new(server, Duration::from_secs(10), Duration::from_secs(2));
        client.write_all(&[0, 0, 0, 1, b'A']).await.unwrap();
        assert_eq!(s.read(&mut buf).await.unwrap(), 5);
        let t = Instant::now();
        assert_eq!(s.read(&mut buf).await.unwrap_err().kind(), std::io::ErrorKind::TimedOut);
        assert!(t.elapsed() >= Duration::from_secs(10));
    }
}
