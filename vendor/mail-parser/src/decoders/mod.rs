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
mod tests {
    use crate::parsers::find::tests::random_bytes;

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
