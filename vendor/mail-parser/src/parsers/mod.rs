/*
 * SPDX-FileCopyrightText: 2020 Stalwart Labs LLC <hello@stalw.art>
 *
 * SPDX-License-Identifier: Apache-2.0 OR MIT
 */

use std::{iter::Peekable, ops::Range, slice::Iter};

pub mod fields;
pub(crate) mod find;
pub mod header;
pub mod message;
pub mod mime;
pub mod preview;

pub struct MessageStream<'x> {
    data: &'x [u8],
    iter: Peekable<Iter<'x, u8>>,
    pos: usize,
    restore_pos: usize,
}

impl<'x> MessageStream<'x> {
    pub fn new(data: &'x [u8]) -> MessageStream<'x> {
        MessageStream {
            data,
            iter: data.iter().peekable(),
            pos: 0,
            restore_pos: 0,
        }
    }

    #[inline(always)]
    pub fn peek(&mut self) -> Option<&&u8> {
        self.iter.peek()
    }

    #[inline(always)]
    pub fn offset(&self) -> usize {
        std::cmp::min(self.pos, self.data.len())
    }

    #[inline(always)]
    pub fn remaining(&self) -> usize {
        self.data.len() - self.offset()
    }

    #[inline(always)]
    pub fn checkpoint(&mut self) {
        self.restore_pos = self.offset();
    }

    #[inline(always)]
    pub fn restore(&mut self) {
        self.iter = self.data[self.restore_pos..].iter().peekable();
        self.pos = self.restore_pos;
        self.restore_pos = 0;
    }

    #[inline(always)]
    pub fn reset(&mut self) {
        self.restore_pos = 0;
    }

    #[inline(always)]
    pub fn peek_bytes(&self, len: usize) -> Option<&[u8]> {
        let pos = self.offset();
        self.data.get(pos..pos + len)
    }

    #[inline(always)]
    pub fn peek_char(&mut self, ch: u8) -> bool {
        matches!(self.peek(), Some(&&ch_) if ch_ == ch)
    }

    #[inline(always)]
    pub fn skip_bytes(&mut self, len: usize) {
        self.pos += len;
        self.iter = self.data[self.pos..].iter().peekable();
    }

    #[inline(always)]
    pub fn try_skip(&mut self, bytes: &[u8]) -> bool {
        if self.peek_bytes(bytes.len()) == Some(bytes) {
            self.skip_bytes(bytes.len());
            true
        } else {
            false
        }
    }

    #[inline(always)]
    pub fn try_skip_char(&mut self, ch: u8) -> bool {
        if self.peek_char(ch) {
            self.next();
            true
        } else {
            false
        }
    }

    #[inline(always)]
    pub fn bytes(&self, range: Range<usize>) -> &'x [u8] {
        self.data.get(range).unwrap_or_default()
    }

    #[inline(always)]
    pub fn seek_end(&mut self) {
        self.pos = self.data.len();
        self.iter = [][..].iter().peekable();
    }

    #[inline(always)]
    pub fn next_is_space(&mut self) -> bool {
        matches!(self.next(), Some(b' ' | b'\t'))
    }

    #[inline(always)]
    pub fn peek_next_is_space(&mut self) -> bool {
        matches!(self.peek(), Some(b' ' | b'\t'))
    }

    #[inline(always)]
    pub fn try_next_is_space(&mut self) -> bool {
        if self.peek_next_is_space() {
            self.next();
            true
        } else {
            false
        }
    }

    /// Where `next()` called up to and including the next `byte` leaves the stream: just past
    /// that byte, or, when there is none, past the end as the `next()` that returns `None`
    /// leaves it. Whether `byte` was found. (Not in the published crate: eight bytes a step,
    /// where those `next()` calls were one; vendor/mail-parser/PATCHED.md.)
    pub(crate) fn skip_past(&mut self, byte: u8) -> bool {
        let from = self.offset();
        match find::find_byte(&self.data[from..], byte) {
            Some(at) => {
                self.pos = from + at + 1;
                self.iter = self.data[self.pos..].iter().peekable();
                true
            }
            None => {
                self.skip_past_end();
                false
            }
        }
    }

    /// Where `next()` called until it returns `None` leaves the stream.
    pub(crate) fn skip_past_end(&mut self) {
        self.pos = self.pos.max(self.data.len()) + 1;
        self.iter = [][..].iter().peekable();
    }

    #[allow(clippy::len_without_is_empty)]
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.data.len()
    }

    #[inline(always)]
    pub fn is_eof(&mut self) -> bool {
        self.iter.peek().is_none()
    }
}

impl<'x> Iterator for MessageStream<'x> {
    type Item = &'x u8;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        self.pos += 1;
        self.iter.next()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::MessageStream;

    /// Everything that tells where a stream stands.
    pub(crate) fn state<'x>(s: &MessageStream<'x>) -> (usize, usize, Vec<&'x u8>) {
        (s.pos, s.restore_pos, s.iter.clone().collect())
    }

    /// Where tests start streams over `data` ([`stream_at`]): at each offset and one past the
    /// end (as reading past the end leaves a stream), fresh and with a byte peeked.
    pub(crate) fn starts(data: &[u8]) -> impl Iterator<Item = (usize, bool)> {
        (0..=data.len() + 1).flat_map(|start| [(start, false), (start, true)])
    }

    /// `fast` and `plain` (the published crate's code) read `data` alike from every start
    /// ([`starts`]): the same answer, and the stream left in the same state. `input` names the
    /// input in a failure's message.
    pub(crate) fn reads_as_plain<'x, T: PartialEq + std::fmt::Debug>(
        data: &'x [u8],
        input: impl Fn() -> String,
        mut fast: impl FnMut(&mut MessageStream<'x>) -> T,
        mut plain: impl FnMut(&mut MessageStream<'x>) -> T,
    ) {
        for start in starts(data) {
            let (mut fast_stream, mut plain_stream) =
                (stream_at(data, start), stream_at(data, start));
            let got = fast(&mut fast_stream);
            let want = plain(&mut plain_stream);
            assert_eq!(got, want, "{} {start:?}", input());
            assert_eq!(
                state(&fast_stream),
                state(&plain_stream),
                "{} {start:?}",
                input()
            );
        }
    }

    /// A stream over `data` started at `start` ([`starts`]).
    pub(crate) fn stream_at(data: &[u8], (start, peeked): (usize, bool)) -> MessageStream<'_> {
        let mut stream = MessageStream::new(data);
        stream.skip_bytes(start.min(data.len()));
        if start > data.len() {
            stream.next();
        }
        if peeked {
            stream.peek();
        }
        stream
    }
}
