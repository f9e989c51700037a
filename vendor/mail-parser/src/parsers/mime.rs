/*
 * SPDX-FileCopyrightText: 2020 Stalwart Labs LLC <hello@stalw.art>
 *
 * SPDX-License-Identifier: Apache-2.0 OR MIT
 */

use std::borrow::Cow;

use super::MessageStream;
use super::find::find_byte;

impl<'x> MessageStream<'x> {
    // Patched (vendor/mail-parser/PATCHED.md): the four searches for a boundary below go to
    // each '-' a word at a time ([`Self::find_boundary`]), where they read every byte; the
    // line end before a boundary is found backwards from it. Results and the stream's state
    // are the published crate's (tests: `boundary_searches_are_plain`).

    pub fn seek_next_part(&mut self, boundary: &[u8]) -> bool {
        if !boundary.is_empty() {
            self.checkpoint();

            if let Some(dash) = self.find_boundary(boundary) {
                self.seek_past_boundary(dash, boundary);
                return true;
            }

            self.restore();
        }

        false
    }

    pub fn seek_next_part_offset(&mut self, boundary: &[u8]) -> Option<usize> {
        let start_pos = self.offset();
        self.checkpoint();

        if let Some(dash) = self.find_boundary(boundary) {
            self.seek_past_boundary(dash, boundary);
            return line_end_before(self.data, start_pos, dash).into();
        }

        self.restore();

        None
    }

    pub fn mime_part(&mut self, boundary: &[u8]) -> (usize, Cow<'x, [u8]>) {
        let start_pos = self.offset();

        self.checkpoint();

        if boundary.is_empty() {
            self.skip_past_end();
            return (self.offset(), self.bytes(start_pos..self.len()).into());
        }

        if let Some(dash) = self.find_boundary(boundary) {
            let end_pos = part_end_before(self.data, start_pos, dash);
            self.seek_past_boundary(dash, boundary);
            return (end_pos, self.bytes(start_pos..end_pos).into());
        }

        self.restore();
        (usize::MAX, self.bytes(start_pos..self.len()).into())
    }

    pub fn seek_part_end(&mut self, boundary: Option<&[u8]>) -> (usize, bool) {
        if let Some(boundary) = boundary {
            let start_pos = self.offset();

            if let Some(dash) = self.find_boundary(boundary) {
                let end_pos = part_end_before(self.data, start_pos, dash);
                self.seek_past_boundary(dash, boundary);
                return (end_pos, true);
            }

            self.skip_past_end();
            (self.offset(), false)
        } else {
            self.seek_end();
            (self.offset(), true)
        }
    }

    /// Where the published crate's byte-by-byte search stopped at a boundary: the offset of
    /// the second '-' of the first "--" that lies wholly at or after the stream's position and
    /// is followed by `boundary`.
    fn find_boundary(&self, boundary: &[u8]) -> Option<usize> {
        let start = self.offset();
        let mut at = start;
        while let Some(found) = find_byte(&self.data[at..], b'-') {
            let dash = at + found;
            if dash > start
                && self.data[dash - 1] == b'-'
                && self.data[dash + 1..].starts_with(boundary)
            {
                return Some(dash);
            }
            at = dash + 1;
        }
        None
    }

    /// Past the `boundary` whose "--" ends at `dash` (found by [`Self::find_boundary`]).
    fn seek_past_boundary(&mut self, dash: usize, boundary: &[u8]) {
        self.skip_bytes(dash + 1 + boundary.len() - self.offset());
    }

    pub fn is_multipart_end(&mut self) -> bool {
        self.checkpoint();

        match (self.next(), self.peek()) {
            (Some(b'\r'), Some(b'\n')) => {
                self.next();
                false
            }
            (Some(b'-'), Some(b'-')) => {
                self.next();
                true
            }
            (Some(b'\n'), _) => false,
            (Some(&a), _) if a.is_ascii_whitespace() => {
                self.skip_crlf();
                false
            }
            _ => {
                self.restore();
                false
            }
        }
    }

    #[inline(always)]
    pub fn skip_crlf(&mut self) {
        while let Some(ch) = self.peek() {
            match ch {
                b'\r' | b' ' | b'\t' => {
                    self.next();
                }
                b'\n' => {
                    self.next();
                    break;
                }
                _ => break,
            }
        }
    }
}

/// The end of the last line that ends before `dash` and at or after `start` (its LF, or the CR
/// before that LF if the CR is at or after `start`); `start` if none.
fn line_end_before(data: &[u8], start: usize, dash: usize) -> usize {
    match data[start..dash].iter().rposition(|&ch| ch == b'\n') {
        Some(lf) if lf > 0 && data[start + lf - 1] == b'\r' => start + lf - 1,
        Some(lf) => start + lf,
        None => start,
    }
}

/// The end of a part read from `start` whose boundary's "--" ends at `dash`: the "--" itself
/// when something other than a line break stands before it, else the end of the line before.
fn part_end_before(data: &[u8], start: usize, dash: usize) -> usize {
    let before_dashes = if dash >= start + 2 {
        data[dash - 2]
    } else {
        b'\n'
    };
    if before_dashes != b'\n' {
        dash - 1
    } else {
        line_end_before(data, start, dash)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use crate::parsers::MessageStream;
    use crate::parsers::find::tests::{corpus_messages, declared_boundaries, random_bytes};
    use crate::parsers::tests::reads_as_plain;

    // The published crate's four boundary searches.
    fn seek_next_part_plain<'x>(s: &mut MessageStream<'x>, boundary: &[u8]) -> bool {
        if !boundary.is_empty() {
            let mut last_ch = 0;

            s.checkpoint();

            while let Some(&ch) = s.next() {
                if ch == b'-' && last_ch == b'-' && s.try_skip(boundary) {
                    return true;
                }

                last_ch = ch;
            }

            s.restore();
        }

        false
    }

    fn seek_next_part_offset_plain<'x>(
        s: &mut MessageStream<'x>,
        boundary: &[u8],
    ) -> Option<usize> {
        let mut last_ch = b'\n';
        let mut offset_pos = s.offset();
        s.checkpoint();

        while let Some(&ch) = s.next() {
            if ch == b'\n' {
                offset_pos = if last_ch == b'\r' {
                    s.offset() - 2
                } else {
                    s.offset() - 1
                };
            } else if ch == b'-' && last_ch == b'-' && s.try_skip(boundary) {
                return offset_pos.into();
            }

            last_ch = ch;
        }

        s.restore();

        None
    }

    fn mime_part_plain<'x>(s: &mut MessageStream<'x>, boundary: &[u8]) -> (usize, Cow<'x, [u8]>) {
        let mut last_ch = b'\n';
        let mut before_last_ch = 0;
        let start_pos = s.offset();
        let mut end_pos = s.offset();

        s.checkpoint();

        while let Some(&ch) = s.next() {
            if ch == b'\n' {
                end_pos = if last_ch == b'\r' {
                    s.offset() - 2
                } else {
                    s.offset() - 1
                };
            } else if ch == b'-' && !boundary.is_empty() && last_ch == b'-' && s.try_skip(boundary)
            {
                if before_last_ch != b'\n' {
                    end_pos = s.offset() - boundary.len() - 2;
                }
                return (end_pos, s.bytes(start_pos..end_pos).into());
            }

            before_last_ch = last_ch;
            last_ch = ch;
        }

        (
            if boundary.is_empty() {
                s.offset()
            } else {
                s.restore();
                usize::MAX
            },
            s.bytes(start_pos..s.len()).into(),
        )
    }

    fn seek_part_end_plain<'x>(
        s: &mut MessageStream<'x>,
        boundary: Option<&[u8]>,
    ) -> (usize, bool) {
        let mut last_ch = b'\n';
        let mut before_last_ch = 0;
        let mut end_pos = s.offset();

        if let Some(boundary) = boundary {
            while let Some(&ch) = s.next() {
                if ch == b'\n' {
                    end_pos = if last_ch == b'\r' {
                        s.offset() - 2
                    } else {
                        s.offset() - 1
                    };
                } else if ch == b'-' && last_ch == b'-' && s.try_skip(boundary) {
                    if before_last_ch != b'\n' {
                        end_pos = s.offset() - boundary.len() - 2;
                    }
                    return (end_pos, true);
                }

                before_last_ch = last_ch;
                last_ch = ch;
            }

            (s.offset(), false)
        } else {
            s.seek_end();
            (s.offset(), true)
        }
    }

    /// Each search from every start of `data` (and one past its end), fresh and with a byte
    /// peeked, gives what the published crate's gives and leaves the stream as it did.
    fn check(data: &[u8], boundary: &[u8]) {
        let input = || {
            format!(
                "{:?} {:?}",
                String::from_utf8_lossy(data),
                String::from_utf8_lossy(boundary)
            )
        };
        reads_as_plain(
            data,
            input,
            |s| s.mime_part(boundary),
            |s| mime_part_plain(s, boundary),
        );
        reads_as_plain(
            data,
            input,
            |s| s.seek_next_part(boundary),
            |s| seek_next_part_plain(s, boundary),
        );
        reads_as_plain(
            data,
            input,
            |s| s.seek_next_part_offset(boundary),
            |s| seek_next_part_offset_plain(s, boundary),
        );
        for boundary in [Some(boundary), None] {
            reads_as_plain(
                data,
                input,
                |s| s.seek_part_end(boundary),
                |s| seek_part_end_plain(s, boundary),
            );
        }
    }

    #[test]
    fn boundary_searches_are_plain() {
        let mut seed = 0x1234_5678_9abc_def1;
        for i in 0..3000 {
            let data = random_bytes(&mut seed, i % 70, b"--\n\r\nab-");
            let boundary: &[u8] = [&b"a"[..], b"ab", b"-a", b"", b"b\n"][i % 5];
            check(&data, boundary);
        }
        // Real messages, cut short (each start of a whole message would take too long), around
        // their first boundary line.
        for message in corpus_messages() {
            let Some(&boundary) = declared_boundaries(&message).first() else {
                continue;
            };
            let len = boundary.len();
            let Some(line) = message
                .windows(len + 2)
                .position(|w| w.starts_with(b"--") && &w[2..] == boundary)
            else {
                continue;
            };
            let from = line.saturating_sub(60);
            check(&message[from..message.len().min(line + len + 60)], boundary);
        }
    }
}
