//! The milter protocol on the wire (Sendmail's libmilter protocol, version 6, as Postfix and
//! Sendmail speak it): framing, option negotiation, and which commands get a reply.
//!
//! Packets are decoded and replies encoded by `miltr-common`; the loop is ours because
//! `miltr-server` answers every command, while the cost of a milter in the mail path is its
//! round trips: with the "no reply" options (`SMFIP_NR_*`) the MTA sends the connection, HELO,
//! MAIL, every header and every body chunk without waiting, and with `SMFIP_NODATA` and
//! `SMFIP_NOUNKNOWN` it does not send those commands at all. What is left is one reply at
//! RCPT (a forged tag may be refused there) and one at the end of the headers, where ordinary
//! mail is accepted and its body never sent. Options the MTA does not offer are not used: an
//! older MTA gets a reply to everything, as before.

use bytes::{BufMut, BytesMut};
use miltr_common::actions::{Action, Continue};
use miltr_common::commands::{Body, Connect, Header, Helo, Macro, Mail, Recipient};
use miltr_common::decoding::ClientCommand;
use miltr_common::encoding::{ServerMessage, Writable};
use miltr_common::modifications::ModificationResponse;
use miltr_common::optneg::{Capability, OptNeg, Protocol};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The largest packet read: a body chunk is at most 65,535 bytes (Postfix, Sendmail), headers
/// and macros far less.
pub const MAX_PACKET: usize = 1 << 17;

/// Commands the filter never needs: not sent at all.
const NOT_SENT: Protocol = Protocol::NO_DATA.union(Protocol::NO_UNKNOWN);
/// Commands sent without waiting for a reply: the filter never refuses at these stages.
const NO_REPLY: Protocol = Protocol::NR_CONNECT
    .union(Protocol::NR_HELO)
    .union(Protocol::NR_MAIL)
    .union(Protocol::NR_HEADER)
    .union(Protocol::NR_BODY)
    .union(Protocol::NR_DATA)
    .union(Protocol::NR_UNKNOWN);
/// What the filter may do to a message: add and remove headers, quarantine, change the sender.
const CAPABILITIES: Capability = Capability::SMFIF_ADDHDRS
    .union(Capability::SMFIF_CHGHDRS)
    .union(Capability::SMFIF_QUARANTINE)
    .union(Capability::SMFIF_CHGFROM);

/// SMFIR_ACCEPT, which `miltr-common` does not encode: length 1, code `a`.
const ACCEPT: &[u8] = &[0, 0, 0, 1, b'a'];

/// What the end of a message answers: the modifications and final action, and packets the
/// crate cannot encode (SMFIR_CHGFROM), sent before them.
pub struct EndOfMessage {
    pub response: ModificationResponse,
    pub raw_before: Vec<u8>,
}

/// One milter connection's handler. Every stage answers `Continue` unless it decides.
pub trait Session {
    /// Protocol options wanted beyond the filter's own (e.g. `SMFIP_RCPT_REJ`), if offered.
    fn extra_protocol(&self) -> Protocol {
        Protocol::empty()
    }
    fn macros(&mut self, m: Macro);
    fn connect(&mut self, c: Connect);
    fn helo(&mut self, h: Helo);
    fn mail(&mut self, m: Mail);
    fn rcpt(&mut self, r: Recipient) -> impl Future<Output = Action> + Send;
    fn header(&mut self, h: Header);
    /// `true`: accept the message here (SMFIR_ACCEPT), its body is not sent; `false`: go on.
    fn end_of_header(&mut self) -> impl Future<Output = bool> + Send;
    fn body(&mut self, b: Body);
    fn end_of_body(&mut self) -> impl Future<Output = EndOfMessage> + Send;
    /// The message ended without `end_of_body` (SMFIC_ABORT, or accepted at the headers).
    fn abort(&mut self);
}

/// Why a connection ended early.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("packet of {0} bytes is over the limit")]
    TooLarge(usize),
    #[error("bad packet: {0}")]
    Protocol(String),
}

/// The options we ask for, given the MTA's offer: only what it offered.
pub fn negotiate(theirs: &OptNeg, extra: Protocol) -> OptNeg {
    OptNeg {
        version: theirs.version.min(6),
        capabilities: theirs.capabilities & CAPABILITIES,
        protocol: theirs.protocol & (NOT_SENT | NO_REPLY | extra),
        ..OptNeg::default()
    }
}

/// Serve one connection until the MTA quits or closes it.
pub async fn serve<S, H>(io: &mut S, session: &mut H) -> Result<(), WireError>
where
    S: AsyncRead + AsyncWrite + Unpin,
    H: Session,
{
    let mut silent = Protocol::empty();
    // Before negotiation (never, with a real MTA) everything may be sent.
    let mut granted = Capability::all();
    let mut out = BytesMut::new();
    while let Some(packet) = read_packet(io).await? {
        let command = ClientCommand::parse(packet).map_err(|e| WireError::Protocol(format!("{e:?}")))?;
        let reply: Option<Action> = match command {
            ClientCommand::OptNeg(theirs) => {
                let ours = negotiate(&theirs, session.extra_protocol());
                silent = ours.protocol & NO_REPLY;
                granted = ours.capabilities;
                put(&mut out, &ServerMessage::Optneg(ours));
                None
            }
            ClientCommand::Macro(m) => {
                session.macros(m);
                None
            }
            ClientCommand::Connect(c) => {
                session.connect(c);
                unless(silent, Protocol::NR_CONNECT)
            }
            ClientCommand::Helo(h) => {
                session.helo(h);
                unless(silent, Protocol::NR_HELO)
            }
            ClientCommand::Mail(m) => {
                session.mail(m);
                unless(silent, Protocol::NR_MAIL)
            }
            ClientCommand::Recipient(r) => Some(session.rcpt(r).await),
            ClientCommand::Data(_) => unless(silent, Protocol::NR_DATA),
            ClientCommand::Unknown(_) => unless(silent, Protocol::NR_UNKNOWN),
            ClientCommand::Header(h) => {
                session.header(h);
                unless(silent, Protocol::NR_HEADER)
            }
            ClientCommand::EndOfHeader(_) => {
                if session.end_of_header().await {
                    session.abort();
                    out.extend_from_slice(ACCEPT);
                    None
                } else {
                    Some(Continue.into())
                }
            }
            ClientCommand::Body(b) => {
                session.body(b);
                unless(silent, Protocol::NR_BODY)
            }
            ClientCommand::EndOfBody(_) => {
                let mut end = session.end_of_body().await;
                if granted.contains(Capability::SMFIF_CHGFROM) {
                    out.extend_from_slice(&end.raw_before);
                }
                // Only what the MTA allowed: anything else would end the connection.
                end.response.filter_mods_by_caps(granted);
                let messages: Vec<ServerMessage> = end.response.into();
                for m in &messages {
                    put(&mut out, m);
                }
                None
            }
            ClientCommand::Abort(_) => {
                session.abort();
                None
            }
            ClientCommand::Quit(_) => {
                session.abort();
                flush(io, &mut out).await?;
                return Ok(());
            }
            // The MTA keeps the connection for another session.
            ClientCommand::QuitNc(_) => {
                session.abort();
                None
            }
        };
        if let Some(action) = reply {
            put(&mut out, &ServerMessage::Action(action));
        }
        if !out.is_empty() {
            flush(io, &mut out).await?;
        }
    }
    Ok(())
}

/// `Continue`, unless the MTA was told not to wait for it.
fn unless(silent: Protocol, flag: Protocol) -> Option<Action> {
    (!silent.contains(flag)).then(|| Continue.into())
}

/// One packet: its command byte and data; `None` when the MTA closed the connection between
/// packets.
async fn read_packet<S: AsyncRead + Unpin>(io: &mut S) -> Result<Option<BytesMut>, WireError> {
    let mut len = [0u8; 4];
    match io.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e.into()),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_PACKET {
        return Err(WireError::TooLarge(len));
    }
    let mut data = BytesMut::zeroed(len);
    io.read_exact(&mut data).await?;
    Ok(Some(data))
}

/// Append a reply packet: length, code, data.
fn put(out: &mut BytesMut, message: &ServerMessage) {
    out.put_u32((message.len() + 1) as u32);
    out.put_u8(message.code());
    message.write(out);
}

async fn flush<S: AsyncWrite + Unpin>(io: &mut S, out: &mut BytesMut) -> Result<(), WireError> {
    io.write_all(out).await?;
    io.flush().await?;
    out.clear();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use miltr_common::modifications::headers::AddHeader;

    /// Accepts the first message at its headers and reads the second to its end.
    #[derive(Default)]
    struct Recorder {
        seen: Vec<String>,
        messages: usize,
    }

    impl Session for Recorder {
        fn macros(&mut self, _: Macro) {}
        fn connect(&mut self, _: Connect) {
            self.seen.push("connect".into());
        }
        fn helo(&mut self, _: Helo) {
            self.seen.push("helo".into());
        }
        fn mail(&mut self, _: Mail) {
            self.seen.push("mail".into());
        }
        async fn rcpt(&mut self, _: Recipient) -> Action {
            self.seen.push("rcpt".into());
            Continue.into()
        }
        fn header(&mut self, h: Header) {
            self.seen.push(format!("header {}", h.name()));
        }
        async fn end_of_header(&mut self) -> bool {
            self.messages += 1;
            self.messages == 1
        }
        fn body(&mut self, b: Body) {
            self.seen.push(format!("body {}", b.as_bytes().len()));
        }
        async fn end_of_body(&mut self) -> EndOfMessage {
            let mut b = ModificationResponse::builder();
            b.push(AddHeader::new(b"X-Test", b"1"));
            EndOfMessage { response: b.contin(), raw_before: vec![0, 0, 0, 2, b'e', 0] }
        }
        fn abort(&mut self) {
            self.seen.push("abort".into());
        }
    }

    /// SMFIC_OPTNEG offering these capabilities and protocol options.
    fn optneg(capabilities: Capability, protocol: u32) -> Vec<u8> {
        let mut data = 6u32.to_be_bytes().to_vec();
        data.extend_from_slice(&capabilities.bits().to_be_bytes());
        data.extend_from_slice(&protocol.to_be_bytes());
        packet(b'O', &data)
    }

    fn packet(code: u8, data: &[u8]) -> Vec<u8> {
        let mut p = ((data.len() + 1) as u32).to_be_bytes().to_vec();
        p.push(code);
        p.extend_from_slice(data);
        p
    }

    /// What the milter answers to the MTA's `script` (which ends with QUIT).
    async fn exchange(script: &[u8], session: &mut Recorder) -> Vec<u8> {
        let (mut mta, mut milter) = tokio::io::duplex(1 << 16);
        mta.write_all(script).await.unwrap();
        serve(&mut milter, session).await.unwrap();
        drop(milter);
        let mut replies = Vec::new();
        mta.read_to_end(&mut replies).await.unwrap();
        replies
    }

    /// The replies in `bytes`, by code.
    fn codes(mut bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        while bytes.len() >= 5 {
            let len = u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]) as usize;
            out.push(bytes[4]);
            bytes = &bytes[4 + len..];
        }
        out
    }

    #[tokio::test]
    async fn with_postfixs_options_only_rcpt_and_the_headers_end_are_answered() {
        let mut script = optneg(Capability::all(), 0x001f_ffff);
        script.extend(packet(b'C', b"client.example\x004\x00\x19203.0.113.7\x00"));
        script.extend(packet(b'H', b"client.example\x00"));
        for _ in 0..2 {
            script.extend(packet(b'M', b"<carol@remote.example>\x00"));
            script.extend(packet(b'R', b"<alice@example.com>\x00"));
            script.extend(packet(b'L', b"From\x00carol@remote.example\x00"));
            script.extend(packet(b'L', b"Subject\x00lunch\x00"));
            script.extend(packet(b'N', b""));
        }
        script.extend(packet(b'B', b"Hello.\r\n"));
        script.extend(packet(b'E', b""));
        script.extend(packet(b'Q', b""));
        let mut recorder = Recorder::default();
        let replies = exchange(&script, &mut recorder).await;
        // Negotiation, RCPT, accept at the headers; RCPT, continue at the headers, then the
        // end: CHGFROM before the added header and the final continue.
        assert_eq!(codes(&replies), b"Ocaccehc".to_vec(), "{replies:?}");
        assert!(recorder.seen.contains(&"body 8".to_string()));
        assert_eq!(recorder.seen.iter().filter(|s| *s == "abort").count(), 2, "after the accept, and at QUIT");
    }

    #[tokio::test]
    async fn an_mta_that_offers_no_options_gets_a_reply_to_everything() {
        let mut script = optneg(Capability::SMFIF_ADDHDRS, 0);
        script.extend(packet(b'H', b"client.example\x00"));
        script.extend(packet(b'M', b"<carol@remote.example>\x00"));
        script.extend(packet(b'L', b"Subject\x00lunch\x00"));
        script.extend(packet(b'N', b""));
        script.extend(packet(b'Q', b""));
        let replies = exchange(&script, &mut Recorder::default()).await;
        assert_eq!(codes(&replies), b"Occca".to_vec());
    }

    #[tokio::test]
    async fn an_oversized_packet_ends_the_connection() {
        let (mut mta, mut milter) = tokio::io::duplex(64);
        mta.write_all(&((MAX_PACKET + 1) as u32).to_be_bytes()).await.unwrap();
        assert!(matches!(serve(&mut milter, &mut Recorder::default()).await, Err(WireError::TooLarge(_))));
    }

    #[test]
    fn asks_only_for_what_the_mta_offers() {
        let postfix = OptNeg {
            version: 6,
            capabilities: Capability::all(),
            protocol: Protocol::from_bits_retain(0x001f_ffff),
            ..OptNeg::default()
        };
        let ours = negotiate(&postfix, Protocol::empty());
        assert_eq!(ours.version, 6);
        assert!(ours.protocol.contains(Protocol::NR_HEADER | Protocol::NR_BODY | Protocol::NO_DATA));
        assert!(!ours.protocol.contains(Protocol::NR_RECIPIENT), "RCPT may be refused: it needs its reply");
        assert!(!ours.protocol.contains(Protocol::NR_END_OF_HEADER), "ordinary mail is accepted there");
        assert!(!ours.protocol.contains(Protocol::NO_HEADER | Protocol::NO_BODY));
        assert_eq!(ours.capabilities, CAPABILITIES);
        assert!(negotiate(&postfix, Protocol::SMFIP_RCPT_REJ).protocol.contains(Protocol::SMFIP_RCPT_REJ));
        let old = OptNeg {
            version: 2,
            capabilities: Capability::SMFIF_ADDHDRS,
            protocol: Protocol::empty(),
            ..OptNeg::default()
        };
        let ours = negotiate(&old, Protocol::SMFIP_RCPT_REJ);
        assert_eq!((ours.version, ours.protocol, ours.capabilities), (2, Protocol::empty(), Capability::SMFIF_ADDHDRS));
    }
}
