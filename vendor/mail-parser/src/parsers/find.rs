/*
 * SPDX-FileCopyrightText: 2020 Stalwart Labs LLC <hello@stalw.art>
 *
 * SPDX-License-Identifier: Apache-2.0 OR MIT
 */

// Not in the published crate: byte searches eight bytes a step (a u64 read as eight bytes,
// "SWAR"), for the loops that passed over long runs of uninteresting bytes one at a time
// (vendor/mail-parser/PATCHED.md). Plain Rust: the wasm module has no SIMD.

const ONES: u64 = u64::from_le_bytes([0x01; 8]);
const HIGH: u64 = u64::from_le_bytes([0x80; 8]);

/// The high bit of each zero byte of `x`, and no other bit (exact: no carry reaches a byte).
#[inline(always)]
fn zero_bytes(x: u64) -> u64 {
    !(((x & !HIGH) + !HIGH) | x | !HIGH)
}

/// `byte` in each of the eight bytes of a word.
#[inline(always)]
const fn splat(byte: u8) -> u64 {
    ONES * byte as u64
}

/// The offset in `hay` of its first byte whose high bit `marks` sets in the little-endian word
/// of eight bytes it stands in (the last, short word is filled up with zeros, so `marks` must
/// not mark a zero byte there: the offset is checked against the length).
#[inline(always)]
fn find_marked(hay: &[u8], marks: impl Fn(u64) -> u64) -> Option<usize> {
    let mut words = hay.chunks_exact(8);
    let mut at = 0;
    for word in &mut words {
        let mut bytes = [0u8; 8];
        bytes.copy_from_slice(word);
        let found = marks(u64::from_le_bytes(bytes));
        if found != 0 {
            return Some(at + (found.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    let rest = words.remainder();
    let mut tail = [0u8; 8];
    tail[..rest.len()].copy_from_slice(rest);
    let found = marks(u64::from_le_bytes(tail));
    let offset = at + (found.trailing_zeros() / 8) as usize;
    (found != 0 && offset < hay.len()).then_some(offset)
}

/// The offset of the first `byte` in `hay` (`byte` not zero).
#[inline]
pub(crate) fn find_byte(hay: &[u8], byte: u8) -> Option<usize> {
    debug_assert!(byte != 0);
    find_marked(hay, |x| zero_bytes(x ^ splat(byte)))
}

/// The offset of the first byte in `hay` that quoted-printable text may need a decision on:
/// '=', '\n', '\r' or '-'. Also 0x1D, which the cheaper test lets through: '\r', 0x1D, '-' and
/// '=' are the bytes 0x0D | 0x10 * (0 to 3). A caller must only take the bytes before it as
/// plain text, which stays true when a run ends early.
#[inline]
pub(crate) fn find_qp_special(hay: &[u8]) -> Option<usize> {
    find_marked(hay, |x| {
        zero_bytes((x & splat(!0x30)) ^ splat(b'\r')) | zero_bytes(x ^ splat(b'\n'))
    })
}

/// The high bit of each byte of `x` below `n` (at most 0x80), and no other bit (exact: the low
/// seven bits plus `0x80 - n` carry into no other byte).
#[inline(always)]
fn bytes_below(x: u64, n: u8) -> u64 {
    !((x & !HIGH) + splat(0x80 - n)) & !x & HIGH
}

/// The length of the header field name `hay` starts with when it is the plain kind: one or more
/// bytes, none of them a space or a control byte, then ':'. `None` for any other start.
#[inline]
pub(crate) fn plain_name_len(hay: &[u8]) -> Option<usize> {
    let end = find_marked(hay, |x| zero_bytes(x ^ splat(b':')) | bytes_below(x, b'!'))?;
    (end > 0 && hay[end] == b':').then_some(end)
}

/// How many bytes `bytes` starts with that are ASCII, counted in whole words of eight (the
/// word holding the first other byte, and a last word shorter than eight, are not counted).
#[inline]
pub(crate) fn ascii_words_len(bytes: &[u8]) -> usize {
    let mut len = 0;
    for word in bytes.chunks_exact(8) {
        let mut word_bytes = [0u8; 8];
        word_bytes.copy_from_slice(word);
        if u64::from_le_bytes(word_bytes) & HIGH != 0 {
            break;
        }
        len += 8;
    }
    len
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Pseudo-random bytes (xorshift), drawn mostly from `alphabet`.
    pub(crate) fn random_bytes(seed: &mut u64, len: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..len)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                if (*seed).is_multiple_of(16) {
                    (*seed >> 24) as u8
                } else {
                    alphabet[(*seed >> 32) as usize % alphabet.len()]
                }
            })
            .collect()
    }

    /// Where `needle` (ASCII lowercase) first occurs in `hay`, ignoring ASCII case.
    pub(crate) fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
        hay.windows(needle.len())
            .position(|w| w.eq_ignore_ascii_case(needle))
    }

    /// The value of each `boundary=` parameter in `message`, in order (quoted or not).
    pub(crate) fn declared_boundaries(message: &[u8]) -> Vec<&[u8]> {
        let mut boundaries = Vec::new();
        let mut at = 0;
        while let Some(found) = find_ci(&message[at..], b"boundary=") {
            at += found + 9;
            let value = &message[at..];
            let value = value.strip_prefix(b"\"").unwrap_or(value);
            let len = value
                .iter()
                .position(|&ch| b"\"\r\n; ".contains(&ch))
                .unwrap_or(value.len());
            boundaries.push(&value[..len]);
        }
        boundaries
    }

    /// Messages to test on: this repository's corpus (tests/corpus/**/eml, two levels up from
    /// the crate) and the crate's own resources/eml when present; none when neither is.
    pub(crate) fn corpus_messages() -> Vec<Vec<u8>> {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let mut dirs = vec![root.join("resources"), root.join("../../tests/corpus")];
        let mut messages = Vec::new();
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "eml") {
                    messages.extend(std::fs::read(&path));
                }
            }
        }
        messages
    }

    #[test]
    fn plain_name_len_is_plain() {
        let mut seed = 0x0123_4567_89ab_cdef;
        for len in 0..60 {
            for _ in 0..200 {
                let hay = random_bytes(&mut seed, len, b"aB-::: \t\r\n\x0c\x01\x20\x21\x7f");
                let end = hay.iter().position(|&b| b == b':' || b < b'!');
                let want = end.filter(|&end| end > 0 && hay[end] == b':');
                assert_eq!(plain_name_len(&hay), want, "{hay:?}");
            }
        }
    }

    #[test]
    fn ascii_words_len_is_plain() {
        let mut seed = 0x7f4a_7c15_9e37_79b9;
        for len in 0..70 {
            for _ in 0..100 {
                let hay = random_bytes(&mut seed, len, b"abc \n\x7f");
                let first = hay.iter().position(|b| !b.is_ascii()).unwrap_or(len);
                assert_eq!(ascii_words_len(&hay), first / 8 * 8, "{hay:?}");
            }
        }
    }

    #[test]
    fn find_qp_special_is_plain() {
        let mut seed = 0x2545_f491_4f6c_dd1d;
        for len in 0..80 {
            for _ in 0..100 {
                let hay = random_bytes(&mut seed, len, b"ab =-\r\n\t\x1d\x4d\x8d\xcd\x0c\0");
                let want = hay.iter().position(|b| b"=\n\r-\x1d".contains(b));
                assert_eq!(find_qp_special(&hay), want, "{hay:?}");
            }
        }
    }

    #[test]
    fn find_byte_is_plain() {
        let mut seed = 0x9e37_79b9_7f4a_7c15;
        for len in 0..80 {
            for _ in 0..40 {
                let hay = random_bytes(&mut seed, len, b"ab\n\0 -");
                for byte in [b'\n', b'-', 0x80, 0xff] {
                    assert_eq!(
                        find_byte(&hay, byte),
                        hay.iter().position(|&b| b == byte),
                        "{hay:?} {byte}"
                    );
                }
            }
        }
    }
}
