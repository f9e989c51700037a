//! An answer document as JSON, byte for byte as `serde_json::to_vec` writes it, but with the
//! field names of structs written as they stand. serde_json escapes every name byte by byte:
//! in the wasm module that was most of the cost of writing a report (a fixed cost of every
//! call). Field names are Rust identifiers, which need no escaping (a test checks every
//! field a report can have). Strings are escaped as serde_json escapes them, with the runs
//! that need no escaping found eight bytes a step ([`write_str`]). Other values are written by
//! serde_json itself; a value of a shape this writer does not take (a map, a tuple, an enum
//! with data) is written whole by serde_json.

use serde::Serialize;
use serde::ser::{self, Impossible};

type Error = serde_json::Error;

/// `value` as serde_json writes it.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(1024);
    write(&mut out, value)?;
    Ok(out)
}

/// Append `value` to `out`: through [`PlainNames`], or by serde_json when it has a shape
/// [`PlainNames`] refuses.
fn write<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    let mark = out.len();
    if value.serialize(PlainNames { out }).is_ok() {
        return Ok(());
    }
    out.truncate(mark);
    value.serialize(&mut serde_json::Serializer::new(out))
}

/// A serializer that writes structs, sequences, options and scalars; scalars by serde_json.
struct PlainNames<'a> {
    out: &'a mut Vec<u8>,
}

/// A shape [`PlainNames`] leaves to serde_json.
fn refused<T>() -> Result<T, Error> {
    Err(ser::Error::custom("left to serde_json"))
}

macro_rules! by_serde_json {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method(self, v: $ty) -> Result<(), Error> {
            ser::Serializer::$method(&mut serde_json::Serializer::new(self.out), v)
        })*
    };
}

impl<'a> ser::Serializer for PlainNames<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Impossible<(), Error>;
    type SerializeTupleStruct = Impossible<(), Error>;
    type SerializeTupleVariant = Impossible<(), Error>;
    type SerializeMap = Impossible<(), Error>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Impossible<(), Error>;

    by_serde_json!(
        serialize_bool(bool),
        serialize_i8(i8),
        serialize_i16(i16),
        serialize_i32(i32),
        serialize_i64(i64),
        serialize_u8(u8),
        serialize_u16(u16),
        serialize_u32(u32),
        serialize_u64(u64),
        serialize_f32(f32),
        serialize_f64(f64),
        serialize_char(char),
        serialize_bytes(&[u8]),
    );

    fn serialize_str(self, v: &str) -> Result<(), Error> {
        write_str(self.out, v);
        Ok(())
    }

    fn serialize_none(self) -> Result<(), Error> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }

    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }

    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<(), Error> {
        self.serialize_str(variant)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _: &'static str, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }

    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        refused()
    }

    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(Compound::open(self.out, b'['))
    }

    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        refused()
    }

    fn serialize_tuple_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeTupleStruct, Error> {
        refused()
    }

    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        refused()
    }

    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Error> {
        refused()
    }

    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        Ok(Compound::open(self.out, b'{'))
    }

    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        refused()
    }
}

/// `s` as a JSON string, escaped as serde_json escapes it: `"` and `\\` and the control bytes
/// below 0x20 (`\b \f \n \r \t` by name, the others as `\u00XX` in lower-case hex); nothing
/// else. serde_json looks up every byte in a table, which cost most of writing an answer in the
/// wasm module; here the bytes that need escaping are found eight at a step, and the runs
/// between them copied whole.
fn write_str(out: &mut Vec<u8>, s: &str) {
    use crate::scan::{any_byte_below, splat, visit_marked};
    let b = s.as_bytes();
    // Not 0 where a byte is below 0x20, or is `"` or `\\`; rarely also on a byte just above one
    // of those (the cheap test's false marks), which the visit passes over.
    let marks =
        |x: u64| any_byte_below(x, 0x20) | any_byte_below(x ^ splat(b'"'), 1) | any_byte_below(x ^ splat(b'\\'), 1);
    out.reserve(b.len() + 2);
    out.push(b'"');
    // Most strings of an answer are short and need no escape: told so first, in a loop that
    // costs less to start than a visit (the last word filled up with spaces, which need none).
    let mut words = b.chunks_exact(8);
    let plain = words.by_ref().all(|w| marks(u64::from_le_bytes(w.try_into().unwrap_or([0; 8]))) == 0) && {
        let mut tail = [b' '; 8];
        tail[..words.remainder().len()].copy_from_slice(words.remainder());
        marks(u64::from_le_bytes(tail)) == 0
    };
    if plain {
        out.extend_from_slice(b);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    visit_marked(b, marks, |at| {
        let Some(&byte) = b.get(at) else { return false };
        let named = match byte {
            b'"' => b'"',
            b'\\' => b'\\',
            0x08 => b'b',
            0x0c => b'f',
            b'\n' => b'n',
            b'\r' => b'r',
            b'\t' => b't',
            0..0x20 => b'u',
            _ => return true,
        };
        out.extend_from_slice(&b[start..at]);
        out.extend_from_slice(&[b'\\', named]);
        if named == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[b'0', b'0', HEX[usize::from(byte >> 4)], HEX[usize::from(byte & 15)]]);
        }
        start = at + 1;
        true
    });
    out.extend_from_slice(&b[start..]);
    out.push(b'"');
}

/// An open sequence or struct: its closing bracket, and whether an item was written.
struct Compound<'a> {
    out: &'a mut Vec<u8>,
    first: bool,
}

impl<'a> Compound<'a> {
    fn open(out: &'a mut Vec<u8>, bracket: u8) -> Compound<'a> {
        out.push(bracket);
        Compound { out, first: true }
    }

    /// The separator before an item.
    fn item(&mut self) {
        if !std::mem::take(&mut self.first) {
            self.out.push(b',');
        }
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item();
        write(self.out, value)
    }

    fn end(self) -> Result<(), Error> {
        self.out.push(b']');
        Ok(())
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;

    fn serialize_field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result<(), Error> {
        self.item();
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
        write(self.out, value)
    }

    fn end(self) -> Result<(), Error> {
        self.out.push(b'}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::{Config, Envelope, classify};

    /// Every report of the corpus, under a configuration that fills the verdict and the
    /// recipient checks too, is written byte for byte as serde_json writes it.
    #[test]
    fn reports_are_written_as_serde_json_writes_them() {
        let site = serde_json::json!({
            "site": {"domains": ["example.com", "example.org", "example.net"], "relays": ["192.0.2.0/24"]},
            "batv": {"keys": [{"digit": 0, "secret": "secret"}], "mode": "exact"},
            "srs": {"domain": "example.com", "secrets": ["tops3cr3t"]}
        });
        let site: Config = serde_json::from_value(site).unwrap();
        let tags = ["prvs=02694aa88d=userx@example.com", "SRS0=XjO9=2V=example.org=test@example.com"];
        let null_sender =
            Envelope { mail_from: Some(String::new()), rcpt_to: tags.map(String::from).to_vec(), ..Default::default() };
        let mut written = 0;
        for path in crate::tests::corpus_files() {
            let raw = std::fs::read(&path).unwrap();
            for report in [
                classify(&raw, None, &Config::default(), 1577836860),
                classify(&raw, Some(&null_sender), &site, 1577836860),
            ] {
                let ours = String::from_utf8(super::to_vec(&report).unwrap()).unwrap();
                assert_eq!(ours, serde_json::to_string(&report).unwrap(), "{}", path.display());
                written += 1;
            }
        }
        assert!(written > 4000, "{written}");
        let value = serde_json::json!({"a": [1, {"b\"": null}], "c": 1.5});
        assert_eq!(super::to_vec(&value).unwrap(), serde_json::to_vec(&value).unwrap());
    }

    /// Strings of every ASCII byte and of multi-byte characters, escapes next to each other,
    /// at both ends and across eight-byte words, are escaped as serde_json escapes them.
    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let ascii: Vec<String> = (0..0x80u8).map(|b| char::from(b).to_string()).collect();
        let mut pieces: Vec<&str> = ascii.iter().map(String::as_str).collect();
        let wide = ["é", "\u{7f}", "\u{80}", "\u{2028}", "配信", "\u{10ffff}", "\\\"", "\"#", "\\]", "\u{1f} "];
        pieces.extend(wide);
        let mut texts = crate::text::random_joins(&pieces, 6000, 40);
        texts.extend(crate::text::random_joins(&["\"", "\\", "\n", "\u{0}", " ", "#", "]", "a"], 3000, 20));
        texts.extend(crate::text::random_joins(&wide, 2000, 12));
        for text in &texts {
            let mut ours = Vec::new();
            super::write_str(&mut ours, text);
            assert_eq!(ours, serde_json::to_vec(text).unwrap(), "{text:?}");
            assert_eq!(super::to_vec(&[text]).unwrap(), serde_json::to_vec(&[text]).unwrap(), "{text:?}");
        }
    }
}
