/*
 * SPDX-FileCopyrightText: 2020 Stalwart Labs LLC <hello@stalw.art>
 *
 * SPDX-License-Identifier: Apache-2.0 OR MIT
 */

use std::borrow::Cow;

use crate::parsers::MessageStream;

pub mod base64;
pub mod charsets;
pub mod encoded_word;
pub mod hex;
pub mod html;
pub mod quoted_printable;

/// `String::from_utf8_lossy(bytes)`, told faster for the usual valid UTF-8 (not in the
/// published crate; vendor/mail-parser/PATCHED.md): the standard library's lossy conversion
/// reads a byte at a time, its validation a word at a time.
#[inline]
pub(crate) fn utf8_lossy(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
        Err(_) => String::from_utf8_lossy(bytes),
    }
}

pub type DecodeFnc<'x> = fn(&mut MessageStream<'x>, &[u8]) -> (usize, Cow<'x, [u8]>);
pub type DecodeWordFnc<'x> = fn(&mut MessageStream<'x>) -> Option<Vec<u8>>;

#[cfg(test)]
pub(crate) mod tests {
    use std::borrow::Cow;

    use super::DecodeFnc;
    use crate::parsers::MessageStream;
    use crate::parsers::find::tests::{
        corpus_messages, declared_boundaries, find_ci, random_bytes,
    };
    use crate::parsers::tests::{reads_as_plain, state};

    type DecodeResult<'x> = (usize, Cow<'x, [u8]>);

    /// `fast` from every start of `data` (and one past its end), fresh and with a byte peeked,
    /// gives what `plain` (the published crate's decoder) gives and leaves the stream as it did
    /// (position, peeked byte, checkpoint).
    pub(crate) fn decoder_is_plain<'x>(
        data: &'x [u8],
        boundary: &[u8],
        fast: DecodeFnc<'x>,
        plain: DecodeFnc<'x>,
    ) {
        let input = || {
            format!(
                "{:?} {:?}",
                String::from_utf8_lossy(data),
                String::from_utf8_lossy(boundary)
            )
        };
        reads_as_plain(data, input, |s| fast(s, boundary), |s| plain(s, boundary));
    }

    /// `fast` decodes the corpus's parts sent in `encoding` as `plain` does, with each boundary
    /// the message declares and none: their first and last bytes from every start
    /// ([`decoder_is_plain`]), and all of them from the first.
    pub(crate) fn corpus_parts_decode_as_plain(
        encoding: &[u8],
        fast: for<'x> fn(&mut MessageStream<'x>, &[u8]) -> DecodeResult<'x>,
        plain: for<'x> fn(&mut MessageStream<'x>, &[u8]) -> DecodeResult<'x>,
    ) {
        let header = [&b"transfer-encoding: "[..], encoding].concat();
        let mut parts = 0;
        for message in corpus_messages() {
            let mut boundaries = declared_boundaries(&message);
            boundaries.push(b"");
            boundaries.sort();
            boundaries.dedup();
            let mut at = 0;
            while let Some(found) = find_ci(&message[at..], &header) {
                at += found;
                // After the first empty line.
                let Some(blank) = message[at..]
                    .windows(2)
                    .position(|w| w == b"\n\n" || w == b"\n\r")
                else {
                    break;
                };
                let body = at + blank + 2 + usize::from(message[at + blank + 1] == b'\r');
                let body = body.min(message.len());
                let end = message[body..]
                    .windows(3)
                    .position(|w| w == b"\n--")
                    .map_or(message.len(), |end| body + end + 3);
                for boundary in &boundaries {
                    let head = &message[body..end.min(body + 250)];
                    decoder_is_plain(head, boundary, fast, plain);
                    let tail =
                        &message[end.saturating_sub(250).max(body)..(end + 80).min(message.len())];
                    decoder_is_plain(tail, boundary, fast, plain);
                    let (mut fast_stream, mut plain_stream) =
                        (MessageStream::new(&message), MessageStream::new(&message));
                    fast_stream.skip_bytes(body);
                    plain_stream.skip_bytes(body);
                    assert_eq!(
                        fast(&mut fast_stream, boundary),
                        plain(&mut plain_stream, boundary)
                    );
                    assert_eq!(state(&fast_stream), state(&plain_stream));
                }
                parts += 1;
                at = body;
            }
        }
        // The corpus is there (two levels up from the crate) and has such parts.
        assert!(parts > 0, "no {} parts", String::from_utf8_lossy(encoding));
    }

    #[test]
    fn utf8_lossy_is_plain() {
        let mut seed = 0xdead_beef_cafe_f00d;
        for i in 0..20000 {
            // Valid UTF-8 mostly, with an invalid or cut sequence now and then.
            let bytes = random_bytes(&mut seed, i % 50, "aé€😀\n".as_bytes());
            assert_eq!(super::utf8_lossy(&bytes), String::from_utf8_lossy(&bytes));
        }
    }
}
