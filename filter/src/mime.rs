//! The one adapter around mail-parser: everything else in the crate sees only these types,
//! so that a change of parser (mail-parser 1.0 rewrites its API) touches this file alone.

use std::borrow::Cow;
use std::sync::LazyLock;

use mail_parser::parsers::MessageStream;
use mail_parser::{Address, HeaderName, HeaderValue, MessageParser, MessagePart, MimeHeaders, PartType};

use crate::config::Limits;

/// A parsed message: decoded headers and its MIME leaves in document order.
pub struct Mail<'m> {
    /// The header fields in order, read by name through [`Mail::header`].
    headers: Vec<Field<'m>>,
    /// The fields' names in lower case, one after another (one buffer, not one per field).
    names: Vec<u8>,
    /// Header values are read cut to this many bytes (`max_header_bytes`).
    value_limit: usize,
    /// The bytes the fields' offsets count in (for the values parsed when read).
    raw: &'m [u8],
    /// The Received fields' raw values, parsed only when asked for ([`Mail::received_hops`]).
    received: Vec<&'m [u8]>,
    /// Raw Received values standing among a MIME part's own headers. A part never has Received
    /// fields of its own: these belong to an original pasted as the part, header block and all
    /// (X1's and Bigfoot's reports do this).
    pub part_received: Vec<&'m [u8]>,
    pub leaves: Vec<Leaf<'m>>,
    /// Multipart containers seen: `(content type, report-type parameter)`.
    pub containers: Vec<(String, Option<String>)>,
    /// The report's human-readable text, computed once (`formats::human::report_text`).
    pub report_text: std::cell::OnceCell<String>,
    /// What the limits left out (whole tree, on the outermost message only).
    pub cuts: Cuts,
    /// For a view of only some header fields ([`crate::scan::select_head`]): the names it
    /// holds. Tests fail when a reader asks for another.
    pub only: Option<&'static crate::scan::FieldNames>,
}

/// What [`view`] left out because of the limits.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Cuts {
    /// MIME parts past `max_parts` (counted over the whole tree).
    pub parts: usize,
    /// Header fields past `max_headers` in a header block.
    pub headers: usize,
    /// Header values cut to `max_header_bytes`.
    pub header_values: usize,
    /// Nested messages deeper than `max_nesting`, not read.
    pub nested: usize,
}

/// One header field of a [`Mail`]. Readers ask for a few fields of the dozens a message has,
/// so a value is parsed, and its text made, on its first read only.
struct Field<'m> {
    /// Where the name (in lower case) starts in [`Mail::names`], and its length (a length
    /// apart, as most fields are passed over on the length alone).
    name_at: usize,
    name_len: usize,
    /// The field as mail-parser read it: its value unfolded and decoded (RFC 2047), or empty
    /// when the parse passed over it ([`PARSER`]); an empty value is parsed when read
    /// ([`whole_text`]; one the parse found empty stays empty).
    header: &'m mail_parser::Header<'m>,
    /// The value's text (cut to the limit), made on first read for values the parse did not
    /// leave as text (owned: a cell holding a borrowed text would tie [`Mail`]'s lifetime).
    text: std::cell::OnceCell<String>,
}

/// One of mail-parser's field parsers (`MessageStream::parse_address`, ...).
type ValueParser = for<'x> fn(&mut MessageStream<'x>) -> HeaderValue<'x>;

/// The whole text (not cut) of the value of `field`, of a message whose bytes are `raw`: the
/// parsed value's, or, for a value the parse passed over, that of the value parsed now.
fn whole_text<'m>(raw: &'m [u8], field: &'m mail_parser::Header<'m>) -> Cow<'m, str> {
    match &field.value {
        HeaderValue::Text(t) => Cow::Borrowed(t.as_ref()),
        HeaderValue::Empty => match value_parser(&field.name) {
            Some(parser) => match read_value(raw, field.offset_start as usize, parser) {
                HeaderValue::Text(t) => t,
                value => Cow::Owned(value_text(&value)),
            },
            None => Cow::Borrowed(""),
        },
        value => Cow::Owned(value_text(value)),
    }
}

/// Whether the text of the value of `field` (of a message whose bytes are `raw`) is longer
/// than `max` bytes. A value the parse passed over is parsed only when its field is long
/// enough for that to be possible ([`TEXT_BYTES_PER_FIELD_BYTE`]), and then its text, cut to
/// `max`, is kept in `text`.
fn field_longer_than<'m>(
    raw: &'m [u8],
    field: &'m mail_parser::Header<'m>,
    max: usize,
    text: &std::cell::OnceCell<String>,
) -> bool {
    if !matches!(field.value, HeaderValue::Empty) {
        return text_longer_than(&field.value, max);
    }
    let len = field.offset_end.saturating_sub(field.offset_start) as usize;
    if len.saturating_mul(TEXT_BYTES_PER_FIELD_BYTE) <= max {
        return false;
    }
    let whole = whole_text(raw, field);
    let longer = whole.len() > max;
    let _ = text.set(clipped(whole, max));
    longer
}

/// Parse the value of a field that [`PARSER`] passed over: `parser` reads from byte `at` of
/// `raw`, the bytes the parse read, where the parse stood after the field's name, so it sees
/// what it would have seen there (an empty value if `at` is past them, which the parse never
/// gives).
fn read_value<'m>(raw: &'m [u8], at: usize, parser: ValueParser) -> HeaderValue<'m> {
    if at > raw.len() {
        return HeaderValue::Empty;
    }
    let mut stream = MessageStream::new(raw);
    stream.skip_bytes(at);
    parser(&mut stream)
}

/// The most bytes of text an unread field's value makes per byte of the field. Every parser's
/// text is made of pieces of the field, each byte of which decodes to at most 3 bytes (an
/// invalid byte to U+FFFD; a single-byte charset's character; a charset's 2 or more bytes to
/// at most 4), joined by `", "` or `" "` only where the field has a separator, a blank or an
/// encoded word's 9 bytes of markers.
const TEXT_BYTES_PER_FIELD_BYTE: usize = 3;

/// One non-multipart MIME part.
pub struct Leaf<'m> {
    /// `type/subtype` in lower case (`text/plain` when absent).
    pub content_type: String,
    /// The decoded text for text parts (charset converted to UTF-8).
    pub text: Option<Cow<'m, str>>,
    /// The decoded bytes of the part (for text parts, the UTF-8 text).
    pub bytes: &'m [u8],
    /// A nested message (`message/rfc822`, `message/global`), parsed.
    pub message: Option<Box<Mail<'m>>>,
}

impl<'m> Mail<'m> {
    /// The first value of a header (name in lower case).
    // Inlined into every reader: with the name a constant there, the name test compiles to a
    // few compares (else a `memcmp` call per field of the same length).
    #[inline(always)]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.header_values(name).next()
    }

    /// Every value of a header, in order (name in lower case).
    #[inline(always)]
    pub fn header_values<'s>(&'s self, name: &str) -> impl Iterator<Item = &'s str> {
        if cfg!(any(test, debug_assertions)) {
            assert!(
                self.only.is_none_or(|only| only.contains_str(name)),
                "{name} is not among the selected header fields"
            );
        }
        self.headers
            .iter()
            .filter(move |f| f.name_len == name.len() && self.names_from(f.name_at, name.len()) == name.as_bytes())
            .map(|f| self.text(f))
    }

    /// Whether the message has any header field (within the limits).
    pub fn has_headers(&self) -> bool {
        !self.headers.is_empty()
    }

    /// Every header field as a reader would see it: the name in lower case and the value's
    /// text, in order. For tests that compare two views of a message; not API.
    #[doc(hidden)]
    pub fn fields_read(&self) -> Vec<(String, String)> {
        let name = |f: &Field<'_>| String::from_utf8_lossy(self.name(f)).into_owned();
        self.headers.iter().map(|f| (name(f), self.text(f).to_string())).collect()
    }

    /// A field's name in lower case.
    fn name(&self, field: &Field<'m>) -> &[u8] {
        self.names_from(field.name_at, field.name_len)
    }

    /// `len` bytes of [`Self::names`] from `at`.
    #[inline(always)]
    fn names_from(&self, at: usize, len: usize) -> &[u8] {
        self.names.get(at..).and_then(|names| names.get(..len)).unwrap_or_default()
    }

    /// The text of a field's value, cut to the limit: a parsed text value as it stands, any
    /// other made once.
    fn text<'s>(&'s self, field: &'s Field<'m>) -> &'s str {
        match &field.header.value {
            HeaderValue::Text(t) => clip(t, self.value_limit),
            _ => field.text.get_or_init(|| clipped(whole_text(self.raw, field.header), self.value_limit)),
        }
    }

    /// The hops of the Received fields, in header order.
    pub fn received_hops(&self) -> Vec<crate::report::ReceivedHop> {
        self.received.iter().filter_map(|raw| crate::received::hop(raw)).collect()
    }

    /// The text of every `text/plain` leaf (and HTML as a last resort), joined.
    pub fn text_parts(&self) -> impl Iterator<Item = &Leaf<'m>> {
        self.leaves.iter().filter(|l| l.content_type.starts_with("text/") && l.text.is_some())
    }
}

/// Parse a message; `None` for empty input.
/// A header-like text with its RFC 2047 encoded words (`=?utf-8?Q?...?=`) decoded.
pub fn decode_encoded_words(text: &str) -> String {
    let line = format!("{text}\n");
    match MessageStream::new(line.as_bytes()).parse_unstructured() {
        HeaderValue::Text(t) => t.into_owned(),
        _ => text.to_string(),
    }
}

pub fn parse(raw: &[u8]) -> Option<mail_parser::Message<'_>> {
    if raw.is_empty() {
        return None;
    }
    PARSER.parse(raw)
}

/// Parse only the header block; `None` for empty input or input without a header field.
pub fn parse_head(raw: &[u8]) -> Option<mail_parser::Message<'_>> {
    if raw.is_empty() {
        return None;
    }
    PARSER.parse_headers(raw)
}

/// [`parse_head`] for a block of only the fields some reader asks for
/// ([`crate::scan::select_head`]): each value is parsed now, as most would be on their first
/// read anyway, and a later parse would pass over each field twice.
pub fn parse_selected_head(block: &[u8]) -> Option<mail_parser::Message<'_>> {
    if block.is_empty() {
        return None;
    }
    EAGER_PARSER.parse_headers(block)
}

/// Whether the top header block declares a report, a digest or a message/* type: then the
/// message is no ordinary mail, and a header-only parse would be wasted (a bounce's headers cost
/// as much to parse as a tenth of the whole). A shortcut only: "no" proves nothing.
pub fn declares_structure(raw: &[u8]) -> bool {
    let mut start = 0;
    while start < raw.len() {
        let end = memchr::memchr(b'\n', &raw[start..]).map_or(raw.len(), |e| start + e);
        let line = &raw[start..end];
        start = end + 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            break;
        }
        if let Some(report) = declares_report(line) {
            return report;
        }
    }
    false
}

/// For a header line (without its line end) that is a `Content-Type:` field: whether it
/// declares a report, a digest or a message/* type. `None` for other lines.
pub fn declares_report(line: &[u8]) -> Option<bool> {
    if line.len() > 13 && line[..13].eq_ignore_ascii_case(b"content-type:") {
        let value = line[13..].trim_ascii_start();
        let starts = |p: &[u8]| value.len() >= p.len() && value[..p.len()].eq_ignore_ascii_case(p);
        return Some(starts(b"multipart/report") || starts(b"multipart/digest") || starts(b"message/"));
    }
    None
}

/// The body of a message as the header gate may search it for ASCII words without parsing it:
/// one text part, or a multipart whose parts [`crate::scan`] found searchable as they stand.
pub struct PlainBody<'m> {
    /// The body bytes as they stand.
    raw: &'m [u8],
    /// Some part (or the message) may be quoted-printable: the body must be searched decoded
    /// too, as the full parse decodes it.
    quoted_printable: bool,
    /// The decoded body, made on the first question that needs it; `None` inside when the
    /// decoder gave up (then every word counts as present: the body must be parsed).
    decoded: std::cell::OnceCell<Option<Cow<'m, [u8]>>>,
    /// The words the gates ask for, all found in one reading of the body ([`Self::with_words`]).
    words: Option<&'static GateWords>,
    /// Which of `words` the body holds (their tags), read on the first question.
    found: std::cell::OnceCell<Vec<usize>>,
    /// A quick reading of the body for the gates ([`Self::with_quick`]), and its bits.
    quick_reader: Option<fn(&[u8]) -> u8>,
    quick: std::cell::OnceCell<u8>,
}

/// The words the header gates may ask a body for, and a set that finds them in one pass.
pub struct GateWords {
    pub words: Vec<&'static str>,
    pub set: crate::text::PhraseSet,
}

impl GateWords {
    pub fn new(words: Vec<&'static str>) -> GateWords {
        let set = crate::text::PhraseSet::of(&words);
        GateWords { words, set }
    }
}

impl PlainBody<'_> {
    /// No body: what a detector's gate sees when only the headers are known.
    pub fn empty() -> PlainBody<'static> {
        PlainBody {
            raw: b"",
            quoted_printable: false,
            decoded: std::cell::OnceCell::new(),
            words: None,
            found: std::cell::OnceCell::new(),
            quick_reader: None,
            quick: std::cell::OnceCell::new(),
        }
    }
}

impl<'m> PlainBody<'m> {
    /// The body quoted-printable decoded, when it may be quoted-printable; `Err` when the
    /// decoder gave up.
    fn decoded(&self) -> Result<Option<&[u8]>, ()> {
        if !self.quoted_printable {
            return Ok(None);
        }
        let decoded = self.decoded.get_or_init(|| {
            // mail-parser's own decoder: soft breaks, `=XX` escapes and dropped CRs as in the parse.
            let (end, decoded) = MessageStream::new(self.raw).decode_quoted_printable_mime(b"");
            (end != usize::MAX).then_some(decoded)
        });
        decoded.as_deref().map(Some).ok_or(())
    }

    /// Read the body with `reader` on the first call of [`Self::quick`]: a reading cheaper
    /// than the one for all the words, that the gates ask before they ask for words.
    pub fn with_quick(mut self, reader: fn(&[u8]) -> u8) -> Self {
        self.quick_reader = Some(reader);
        self
    }

    /// The bits the quick reader gives for the body, or for its decoded text too (when it may
    /// be quoted-printable); every bit when there is no reader or the decoder gave up.
    pub fn quick(&self) -> u8 {
        *self.quick.get_or_init(|| {
            let Some(read) = self.quick_reader else {
                return u8::MAX;
            };
            match self.decoded() {
                Ok(Some(decoded)) => read(self.raw) | read(decoded),
                Ok(None) => read(self.raw),
                Err(()) => u8::MAX,
            }
        })
    }

    /// Answer [`Self::mentions`] for all of `words` from one reading of the body.
    pub fn with_words(mut self, words: &'static GateWords) -> Self {
        self.words = Some(words);
        self
    }

    /// Whether the body holds `word` (ASCII, compared ignoring case). Wherever the decoded text
    /// holds an ASCII word, so does this body, so a "no" is certain.
    pub fn mentions(&self, word: &str) -> bool {
        if let Some(known) = self.words {
            let tag = known.words.iter().position(|w| *w == word);
            if cfg!(any(test, debug_assertions)) {
                assert!(tag.is_some(), "{word} is not among the gates' words");
            }
            if let Some(tag) = tag {
                let found = self.found.get_or_init(|| {
                    let mut seen = Vec::new();
                    known.set.add_tags_in_bytes(self.raw, &mut seen);
                    match self.decoded() {
                        Ok(Some(decoded)) => known.set.add_tags_in_bytes(decoded, &mut seen),
                        Ok(None) => {}
                        Err(()) => seen = (0..known.words.len()).collect(),
                    }
                    seen
                });
                return found.contains(&tag);
            }
        }
        let found = |b: &[u8]| crate::text::find_ci_bytes(b, word.as_bytes()).is_some();
        found(self.raw) || self.decoded().map_or(true, |d| d.is_some_and(found))
    }
}

/// The body of the message whose headers are `head` when it is a single
/// `text/plain` or `text/html` part (or has no Content-Type) in a charset whose decoding keeps
/// ASCII as it is ([`keeps_ascii`]) and not in base64, or a multipart (not a report or digest)
/// whose parts [`crate::scan::searchable_multipart`] finds searchable; `None` for every other
/// message, whose body must be parsed.
pub fn plain_body<'m>(head: &mail_parser::Message<'_>, body: &'m [u8], limits: &Limits) -> Option<PlainBody<'m>> {
    let root = head.root_part();
    let mut multipart = false;
    if let Some(ct) = root.content_type() {
        let sub = |s: &str| ct.subtype().is_some_and(|t| t.eq_ignore_ascii_case(s));
        let text = ct.ctype().eq_ignore_ascii_case("text") && (sub("plain") || sub("html"));
        multipart = ct.ctype().eq_ignore_ascii_case("multipart") && !sub("report") && !sub("digest");
        if !(text || multipart) || !ct.attribute("charset").is_none_or(keeps_ascii) {
            return None;
        }
    }
    let encoding = root.content_transfer_encoding().map(|e| e.trim().to_ascii_lowercase());
    let mut quoted_printable = match encoding.as_deref() {
        None | Some("7bit" | "8bit" | "binary") => false,
        Some("quoted-printable") if !multipart => true,
        Some(_) => return None,
    };
    if multipart {
        quoted_printable = crate::scan::searchable_multipart(body, limits.max_parts)?.quoted_printable;
    }
    Some(PlainBody {
        raw: body,
        quoted_printable,
        decoded: Default::default(),
        words: None,
        found: Default::default(),
        quick_reader: None,
        quick: Default::default(),
    })
}

/// The body after the header block of `head` (parsed by [`parse_head`] from `raw`). The
/// header-only parse does not say where the body starts: after the last field's end.
pub fn body_after<'m>(head: &mail_parser::Message<'_>, raw: &'m [u8]) -> &'m [u8] {
    let end = head.root_part().headers().iter().map(|h| h.offset_end as usize).max().unwrap_or(0);
    raw.get(end..).unwrap_or_default()
}

/// Whether text in `charset` decodes to the same ASCII characters its bytes show, and makes
/// none that are not there: ASCII-compatible single-byte sets, UTF-8, and the multi-byte sets
/// whose ASCII bytes stand for themselves. Not UTF-16/32 or UTF-7 (other bytes), nor
/// ISO-2022 (escape sequences vanish inside words); unknown names are not trusted either.
pub(crate) fn keeps_ascii(charset: &str) -> bool {
    const NAMES: &[&str] = &[
        "us-ascii",
        "ascii",
        "utf-8",
        "utf8",
        "shift-jis",
        "sjis",
        "x-sjis",
        "cp932",
        "ms932",
        "windows-31j",
        "euc-jp",
        "euc-kr",
        "ks-c-5601-1987",
        "gb2312",
        "gbk",
        "gb18030",
        "big5",
        "big5-hkscs",
        "tis-620",
    ];
    const FAMILIES: &[&str] = &["iso-8859-", "iso8859-", "latin", "windows-125", "cp125", "koi8-"];
    // mail-parser reads `_` as `-` and ignores case (compared so, without a lowered copy).
    let name = charset.trim().as_bytes();
    let same = |a: &[u8], b: &[u8]| {
        a.iter().zip(b).all(|(&x, &y)| (if x == b'_' { b'-' } else { x.to_ascii_lowercase() }) == y)
    };
    NAMES.iter().any(|n| n.len() == name.len() && same(name, n.as_bytes()))
        || FAMILIES.iter().any(|f| name.len() >= f.len() && same(name, f.as_bytes()))
}

/// mail-parser's reading of only the fields its MIME walk reads (Content-Type,
/// Content-Disposition, Content-Transfer-Encoding) and of the dates; every other field is
/// passed over, and its value parsed when a reader asks for it ([`value_parser`]): a bounce's
/// readers ask for about a third of its fields (outer and returned message). The dates are
/// parsed here because the date parser may read on past a line end (after a zone's letter),
/// so where a Date field ends depends on its parse. Received fields are never parsed into
/// values (their own reader is `crate::received`).
static PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    MessageParser::new()
        .default_header_ignore()
        .header_content_type(HeaderName::ContentType)
        .header_content_type(HeaderName::ContentDisposition)
        .header_text(HeaderName::ContentTransferEncoding)
        .with_date_headers()
});

/// The parser that reads a field [`PARSER`] passed over: the one [`EAGER_PARSER`] gives the
/// name; `None` for the fields [`PARSER`] parses itself, and for Received, whose value stays
/// empty.
fn value_parser(name: &HeaderName<'_>) -> Option<ValueParser> {
    use HeaderName::*;
    let parser: ValueParser = match name {
        ContentType | ContentDisposition | ContentTransferEncoding | Date | ResentDate | Received => return None,
        Subject | Comments | ContentDescription | ContentLocation => |s| s.parse_unstructured(),
        From | Sender | ReplyTo | To | Cc | Bcc | ResentFrom | ResentSender | ResentTo | ResentCc | ResentBcc
        | ListArchive | ListHelp | ListId | ListOwner | ListPost | ListSubscribe | ListUnsubscribe => {
            |s| s.parse_address()
        }
        MessageId | InReplyTo | References | ResentMessageId | ReturnPath | ContentId => |s| s.parse_id(),
        Keywords | ContentLanguage => |s| s.parse_comma_separared(),
        _ => |s| s.parse_raw(),
    };
    Some(parser)
}

/// The reading [`PARSER`] and [`value_parser`] give together, all parsed at once: mail-parser's
/// default reading of each field, except Received (most messages carry several, and only a
/// returned original's are read). For a block of only the fields readers ask for
/// ([`parse_selected_head`]), and the reference for the tests.
static EAGER_PARSER: LazyLock<MessageParser> = LazyLock::new(|| {
    MessageParser::new()
        .with_mime_headers()
        .with_date_headers()
        .with_address_headers()
        .with_message_ids()
        .header_id(HeaderName::ReturnPath)
        .header_text(HeaderName::Subject)
        .header_text(HeaderName::Comments)
        .header_address(HeaderName::ListArchive)
        .header_address(HeaderName::ListHelp)
        .header_address(HeaderName::ListId)
        .header_address(HeaderName::ListOwner)
        .header_address(HeaderName::ListPost)
        .header_address(HeaderName::ListSubscribe)
        .header_address(HeaderName::ListUnsubscribe)
        .header_comma_separated(HeaderName::Keywords)
        .header_comma_separated(HeaderName::ContentLanguage)
        .ignore_header(HeaderName::Received)
});

/// Build our view of a parsed message, within the limits (what they cut is in `cuts`).
pub fn view<'m>(msg: &'m mail_parser::Message<'m>, limits: &Limits) -> Mail<'m> {
    let mut walk = Walk { limits, parts_left: limits.max_parts, cuts: Cuts::default() };
    let mut mail = walk.message(msg, limits.max_nesting);
    mail.cuts = walk.cuts;
    mail
}

/// The state of one [`view`]: the limits and what is left of them.
struct Walk<'l> {
    limits: &'l Limits,
    parts_left: usize,
    cuts: Cuts,
}

impl Walk<'_> {
    fn message<'m>(&mut self, msg: &'m mail_parser::Message<'m>, depth_left: usize) -> Mail<'m> {
        let root = msg.root_part();
        let all = root.headers();
        let kept = all.len().min(self.limits.max_headers);
        self.cuts.headers += all.len() - kept;
        let value_limit = self.limits.max_header_bytes;
        // Room for the names of a usual header block without growing (most names are short).
        let mut names = Vec::with_capacity(kept * 12);
        let raw: &'m [u8] = &msg.raw_message;
        let headers: Vec<Field<'m>> = all[..kept]
            .iter()
            .map(|h| {
                let (name_at, name) = (names.len(), h.name());
                names.extend_from_slice(name.as_bytes());
                Field { name_at, name_len: name.len(), header: h, text: std::cell::OnceCell::new() }
            })
            .collect();
        // Counted here, where the limits' warnings expect them, though the texts are made later.
        self.cuts.header_values +=
            headers.iter().filter(|f| field_longer_than(raw, f.header, value_limit, &f.text)).count();
        crate::scan::make_ascii_lowercase(&mut names);
        let received = received_values(&all[..kept], msg).collect();
        let mut mail = Mail {
            headers,
            names,
            value_limit,
            raw,
            received,
            part_received: Vec::new(),
            leaves: Vec::new(),
            containers: Vec::new(),
            report_text: Default::default(),
            cuts: Cuts::default(),
            only: None,
        };
        for (i, part) in msg.parts.iter().enumerate() {
            if self.parts_left == 0 {
                self.cuts.parts += 1;
                continue;
            }
            self.parts_left -= 1;
            self.add_part(&mut mail, part, depth_left);
            // Part 0 is the message's own header block.
            if i > 0 {
                let headers = part.headers();
                mail.part_received.extend(received_values(&headers[..headers.len().min(self.limits.max_headers)], msg));
            }
        }
        if mail.leaves.is_empty() {
            // A multipart whose boundary never occurs: its body is plain text to the reader.
            let body = msg.raw_message.get(root.offset_body as usize..root.offset_end as usize).unwrap_or_default();
            mail.leaves.push(Leaf {
                content_type: "text/plain".into(),
                text: Some(String::from_utf8_lossy(body)),
                bytes: body,
                message: None,
            });
        }
        mail
    }

    fn add_part<'m>(&mut self, mail: &mut Mail<'m>, part: &'m MessagePart<'m>, depth_left: usize) {
        let content_type = part
            .content_type()
            .map(|ct| {
                let mut media = media_type(ct);
                media.make_ascii_lowercase();
                media
            })
            .unwrap_or_else(|| "text/plain".to_string());
        match &part.body {
            PartType::Multipart(_) => {
                let report_type =
                    part.content_type().and_then(|ct| ct.attribute("report-type")).map(|s| s.to_ascii_lowercase());
                mail.containers.push((content_type, report_type));
            }
            PartType::Message(nested) => {
                let message = if depth_left > 0 {
                    Some(Box::new(self.message(nested, depth_left - 1)))
                } else {
                    self.cuts.nested += 1;
                    None
                };
                mail.leaves.push(Leaf { content_type, text: None, bytes: nested.raw_message(), message });
            }
            PartType::Text(t) | PartType::Html(t) => {
                // A multipart whose boundary is missing comes back as text: it reads as plain text.
                let content_type =
                    if content_type.starts_with("multipart/") { "text/plain".to_string() } else { content_type };
                mail.leaves.push(Leaf {
                    content_type,
                    text: Some(Cow::Borrowed(t.as_ref())),
                    bytes: t.as_bytes(),
                    message: None,
                });
            }
            PartType::Binary(b) | PartType::InlineBinary(b) if content_type.starts_with("multipart/") => {
                // A multipart whose boundary parameter is broken: its body is text to the reader.
                let text = Some(String::from_utf8_lossy(b.as_ref()));
                let content_type = "text/plain".to_string();
                mail.leaves.push(Leaf { content_type, text, bytes: b.as_ref(), message: None });
            }
            PartType::Binary(b) | PartType::InlineBinary(b) => {
                mail.leaves.push(Leaf { content_type, text: None, bytes: b.as_ref(), message: None });
            }
        }
    }
}

/// The raw values of the Received fields among `headers` (of a part of `msg`).
fn received_values<'m>(
    headers: &'m [mail_parser::Header<'m>],
    msg: &'m mail_parser::Message<'m>,
) -> impl Iterator<Item = &'m [u8]> {
    headers
        .iter()
        .filter(|h| h.name == HeaderName::Received)
        .filter_map(|h| msg.raw_message.get(h.offset_start as usize..h.offset_end as usize))
}

/// A header value's text cut to `max` bytes, on a character boundary: no real header is that
/// long, and every detector scans them.
fn clip(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// [`clip`] made owned (the borrowed text copied only as far as the cut).
fn clipped(text: Cow<'_, str>, max: usize) -> String {
    match text {
        Cow::Borrowed(t) => clip(t, max).to_string(),
        Cow::Owned(mut t) => {
            t.truncate(clip(&t, max).len());
            t
        }
    }
}

/// A header value as one line of text.
fn value_text(v: &HeaderValue<'_>) -> String {
    match v {
        HeaderValue::Text(t) => t.to_string(),
        HeaderValue::TextList(l) => l.join(", "),
        HeaderValue::Address(a) => {
            let mut text = String::with_capacity(addresses_len(a));
            let mut first = true;
            for_each_address(a, |address| {
                if !first {
                    text.push_str(", ");
                }
                first = false;
                text.push_str(address);
            });
            text
        }
        HeaderValue::DateTime(d) => d.to_rfc822(),
        HeaderValue::ContentType(ct) => media_type(ct),
        // Received fields are not parsed into values (see `PARSER`); nothing reads them by name.
        HeaderValue::Received(_) | HeaderValue::Empty => String::new(),
    }
}

/// The longest text [`value_text`] makes of a date: every number in it is at most five digits.
const LONGEST_DATE_TEXT: usize = 64;

/// Whether [`value_text`] of `v` is longer than `max` bytes, told without making the text
/// (a date's is made only under a limit shorter than any date).
fn text_longer_than(v: &HeaderValue<'_>, max: usize) -> bool {
    match v {
        HeaderValue::Text(t) => t.len() > max,
        HeaderValue::TextList(l) => joined_len(l.iter().map(|t| t.len()).sum(), l.len()) > max,
        HeaderValue::Address(a) => addresses_len(a) > max,
        HeaderValue::DateTime(d) => max < LONGEST_DATE_TEXT && d.to_rfc822().len() > max,
        HeaderValue::ContentType(ct) => ct.ctype().len() + ct.subtype().map_or(0, |s| 1 + s.len()) > max,
        HeaderValue::Received(_) | HeaderValue::Empty => false,
    }
}

/// The length of `count` pieces of `sum` bytes in all joined with ", ".
fn joined_len(sum: usize, count: usize) -> usize {
    sum + 2 * count.saturating_sub(1)
}

/// The length of [`value_text`] of an address header: its bare addresses joined with ", ".
fn addresses_len(a: &Address<'_>) -> usize {
    let (mut sum, mut count) = (0, 0);
    for_each_address(a, |address| {
        sum += address.len();
        count += 1;
    });
    joined_len(sum, count)
}

/// `type/subtype` as a Content-Type field gives them (the type alone when it has no subtype),
/// joined without the formatting machinery (every message has one or two).
fn media_type(ct: &mail_parser::ContentType<'_>) -> String {
    let mut media = ct.ctype().to_string();
    if let Some(sub) = ct.subtype() {
        media.push('/');
        media.push_str(sub);
    }
    media
}

/// Each bare address of an address header, in order (loops over the lists, cheaper in the
/// wasm module than one chained iterator).
fn for_each_address<'a>(a: &'a Address<'_>, mut each: impl FnMut(&'a str)) {
    let mut list = |list: &'a [mail_parser::Addr<'_>]| {
        for address in list.iter().filter_map(|x| x.address.as_deref()) {
            each(address);
        }
    };
    match a {
        Address::List(addresses) => list(addresses),
        Address::Group(groups) => groups.iter().for_each(|g| list(&g.addresses)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field of each kind of value mail-parser makes: text (with a character past the ASCII
    /// range), address lists and groups, a date, media types with and without a subtype, lists
    /// of IDs and keywords, an empty field, a Received field.
    const EVERY_KIND: &str = "Subject: =?utf-8?Q?caf=C3=A9_d=C3=A9j=C3=A0_vu?= and more\n\
        From: Alice <alice@example.com>\n\
        To: a@example.com, Bob <bob@example.org>, c@example.net\n\
        Cc: friends: d@example.com, e@example.com;, others: f@example.com;\n\
        Date: Tue, 1 Jul 2003 10:52:37 +0200\n\
        Content-Type: text/plain; charset=utf-8\n\
        Content-Disposition: inline\n\
        References: <one@example.com> <two@example.com>\n\
        Keywords: first, second, third\n\
        X-Empty:\n\
        Received: from a.example.com by b.example.com; Tue, 1 Jul 2003 10:52:37 +0200\n\n";

    #[test]
    fn a_value_is_told_too_long_exactly_when_its_text_is() {
        let msg = EAGER_PARSER.parse(EVERY_KIND.as_bytes()).unwrap();
        let headers = msg.root_part().headers();
        assert_eq!(headers.len(), 11);
        for h in headers {
            let text = value_text(h.value());
            for max in 0..=text.len() + 2 {
                assert_eq!(text_longer_than(h.value(), max), text.len() > max, "{} at {max}: {text:?}", h.name());
            }
        }
    }

    #[test]
    fn values_are_read_cut_to_the_limit_and_counted_when_the_view_is_made() {
        let msg = parse(EVERY_KIND.as_bytes()).unwrap();
        let whole = view(&msg, &Limits::default());
        assert_eq!(whole.cuts, Cuts::default());
        assert_eq!(whole.header("subject"), Some("café déjà vu and more"));
        assert_eq!(whole.header("to"), Some("a@example.com, bob@example.org, c@example.net"));
        assert_eq!(whole.header("cc"), Some("d@example.com, e@example.com, f@example.com"));
        assert_eq!(whole.header("date"), Some("Tue, 1 Jul 2003 10:52:37 +0200"));
        assert_eq!(whole.header("content-type"), Some("text/plain"));
        assert_eq!(whole.header("x-empty"), Some(""));
        assert_eq!(whole.header("received"), Some(""));
        assert_eq!(whole.header("Subject"), None, "names are asked in lower case");
        // `é` spans bytes 3 and 4: a cut at 4 keeps `caf`.
        let limits = Limits { max_header_bytes: 4, ..Limits::default() };
        let cut = view(&msg, &limits);
        // Every value but the empty ones (X-Empty, Received) is longer than 4 bytes.
        assert_eq!(cut.cuts.header_values, 9);
        assert_eq!(cut.header("subject"), Some("caf"));
        assert_eq!(cut.header("from"), Some("alic"));
        assert_eq!(cut.header("date"), Some("Tue,"));
        assert_eq!(cut.header_values("references").collect::<Vec<_>>(), ["one@"]);
        let read = cut.fields_read();
        assert_eq!(read.len(), 11);
        assert!(read.iter().all(|(name, value)| value.len() <= 4 && name.bytes().all(|b| !b.is_ascii_uppercase())));
    }

    /// Every header block of `msg` and of the messages nested in it, with the message whose
    /// bytes the fields' offsets count in.
    fn header_blocks<'m>(
        msg: &'m mail_parser::Message<'m>,
        blocks: &mut Vec<(&'m mail_parser::Message<'m>, &'m [mail_parser::Header<'m>])>,
    ) {
        for part in &msg.parts {
            blocks.push((msg, part.headers()));
            if let PartType::Message(nested) = &part.body {
                header_blocks(nested, blocks);
            }
        }
    }

    /// Compare, field by field, the parse of `raw` by `parse` (PARSER's) with the one by
    /// `reference` (REFERENCE's): the same fields at the same places, and each value passed
    /// over read on demand as the reference parsed it, its text within the bound the cut count
    /// trusts. Returns how many values were read on demand.
    fn assert_values_read_as_the_reference_parses_them(
        parse: Option<mail_parser::Message<'_>>,
        reference: Option<mail_parser::Message<'_>>,
        what: &str,
    ) -> usize {
        let (Some(msg), Some(reference)) = (parse, reference) else {
            return 0;
        };
        let (mut blocks, mut reference_blocks) = (Vec::new(), Vec::new());
        header_blocks(&msg, &mut blocks);
        header_blocks(&reference, &mut reference_blocks);
        assert_eq!(blocks.len(), reference_blocks.len(), "{what}: header blocks");
        let mut read = 0;
        for ((msg, fields), (_, reference_fields)) in blocks.iter().zip(&reference_blocks) {
            assert_eq!(fields.len(), reference_fields.len(), "{what}: fields");
            for (field, expected) in fields.iter().zip(reference_fields.iter()) {
                let place = |h: &mail_parser::Header<'_>| (h.offset_field, h.offset_start, h.offset_end);
                assert_eq!((&field.name, place(field)), (&expected.name, place(expected)), "{what}");
                let Some(parser) = value_parser(&field.name) else {
                    assert_eq!(field.value, expected.value, "{what}: {}", field.name);
                    continue;
                };
                read += 1;
                let at = field.offset_start as usize;
                assert_eq!(read_value(&msg.raw_message, at, parser), expected.value, "{what}: {}", field.name);
                let len = (field.offset_end - field.offset_start) as usize;
                let text = value_text(&expected.value);
                assert!(text.len() <= len * TEXT_BYTES_PER_FIELD_BYTE, "{what}: {} {text:?}", field.name);
            }
        }
        read
    }

    /// Every message of the corpus (and the messages nested in them), whole and its header
    /// block alone: the values passed over by the parse are read as the full reading parses them.
    #[test]
    fn values_read_on_demand_are_those_the_full_reading_gives_on_the_corpus() {
        let mut read = 0;
        for path in crate::tests::corpus_files() {
            let raw = std::fs::read(&path).unwrap();
            let what = path.display().to_string();
            read += assert_values_read_as_the_reference_parses_them(parse(&raw), EAGER_PARSER.parse(&raw), &what);
            let head = (parse_head(&raw), EAGER_PARSER.parse_headers(&raw));
            read += assert_values_read_as_the_reference_parses_them(head.0, head.1, &what);
        }
        assert!(read > 50_000, "{read} values read on demand");
    }

    /// Fields at the edges of the parse: folded, ending at the end of the input with or without
    /// a line end, with CRLF, encoded words (also across a fold and in an address), 8-bit bytes
    /// in UTF-8 and not, empty values, a Date with a zone letter before its line end (which the
    /// date parser reads past), and a message/rfc822 part nested as it stands and in base64.
    #[test]
    fn values_read_on_demand_are_those_the_full_reading_gives_at_the_edges() {
        let nested = "From: =?iso-8859-1?q?J=F6rg?= <j@example.com>\r\nSubject: inner\r\n\r\nbody\r\n";
        let base64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, nested);
        let samples = [
            format!("{EVERY_KIND}body"),
            "Subject: one\r\n two\r\n\tthree\r\nTo: a@example.com,\r\n b@example.com\r\n\r\n".into(),
            "Subject: at the end without a line end".into(),
            "Subject: at the end\n".into(),
            "To: a@example.com\nX-Last: =?utf-8?B?w6k=?=".into(),
            "Subject: =?utf-8?Q?caf=C3=A9?=\n =?utf-8?Q?_cr=C3=A8me?=\nFrom: =?utf-8?B?w6k=?= <e@example.com>\n\n"
                .into(),
            "Subject: d\u{e9}j\u{e0} 8-bit\nX-Raw: \u{fc}ber\n\n".into(),
            "Subject:\nTo:\nMessage-ID:\nKeywords:\nX-Empty:\n\n".into(),
            "Date: Tue, 1 Jul 2003 10:52:37 UT\nSubject: after the date\nTo: a@example.com\n\n".into(),
            "Keywords: a, =?utf-8?q?b?=, c\nReferences: <a@x> <b@x>\nIn-Reply-To: not an id\n\n".into(),
            "To: \"quoted\r\n name\" <q@example.com>, (comment) c@example.com\nCc: g: a@x, b@x;\n\n".into(),
            format!("Content-Type: message/rfc822\n\n{nested}"),
            format!("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n{base64}\n"),
            format!(
                "Content-Type: multipart/report; boundary=b\n\n--b\nContent-Type: text/plain\n\nx\n--b\n\
                 Content-Type: message/rfc822\n\n{nested}\n--b--\n"
            ),
        ];
        let mut raws: Vec<Vec<u8>> = samples.iter().map(|s| s.as_bytes().to_vec()).collect();
        // Bytes not in UTF-8 (Latin-1) in a raw field, a subject and an address.
        raws.push(b"X-Raw: \xfcber\nSubject: \xe9t\xe9\nFrom: \xe9 <\xe9@example.com>\n\n".to_vec());
        for raw in &raws {
            let what = String::from_utf8_lossy(raw).into_owned();
            let whole = assert_values_read_as_the_reference_parses_them(parse(raw), EAGER_PARSER.parse(raw), &what);
            assert!(whole > 0, "{what}");
            let head = (parse_head(raw), EAGER_PARSER.parse_headers(raw));
            assert_values_read_as_the_reference_parses_them(head.0, head.1, &what);
        }
    }

    /// The text of an unread value is at most [`TEXT_BYTES_PER_FIELD_BYTE`] times its field's
    /// length, for the values that come closest: bytes not in UTF-8 (each one a U+FFFD), one
    /// address or keyword per two bytes, a single-byte charset's 3-byte characters; and it is
    /// cut and counted as the full reading's would be, at every limit.
    #[test]
    fn an_unread_value_is_cut_and_counted_as_a_parsed_one() {
        let raws: [&[u8]; 5] = [
            b"X-Raw:\x80\x80\x80\x80\x80\x80\x80\x80\n\n",
            b"To:\xff,\xff,\xff,\xff\n\n",
            b"Keywords:\xff,\xff,\xff\n\n",
            b"Subject:\xff\xff \xff\xff\n\n",
            b"Subject:=?windows-1252?q?\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80?=\n\n",
        ];
        for raw in raws {
            let (msg, reference) = (parse(raw).unwrap(), EAGER_PARSER.parse(raw).unwrap());
            let header = &reference.root_part().headers()[0];
            let len = (header.offset_end - header.offset_start) as usize;
            let text = value_text(&header.value);
            assert!(text.len() <= len * TEXT_BYTES_PER_FIELD_BYTE, "{text:?} from {len} bytes");
            for max in 0..=text.len() + 1 {
                let limits = Limits { max_header_bytes: max, ..Limits::default() };
                let (mail, expected) = (view(&msg, &limits), view(&reference, &limits));
                assert_eq!(mail.cuts, expected.cuts, "{text:?} at {max}");
                assert_eq!(mail.fields_read(), expected.fields_read(), "{text:?} at {max}");
            }
        }
    }

    #[test]
    fn a_declared_structure_is_seen_in_the_top_header_block_only() {
        assert!(declares_structure(b"From: a\r\nContent-Type: Multipart/Report; x\r\n\r\nbody"));
        assert!(declares_structure(b"Content-Type:message/rfc822\n\n"));
        assert!(declares_structure(b"Content-Type: multipart/digest; boundary=x\n\n"));
        // Other multiparts go through the header gate (`plain_body`).
        assert!(!declares_structure(b"Content-Type: multipart/mixed; boundary=x\n\n"));
        assert!(!declares_structure(b"From: a\nContent-Type: text/plain\n\nContent-Type: multipart/mixed\n"));
        assert!(!declares_structure(b"From: a\n\nContent-Type: multipart/mixed\n"));
        assert!(!declares_structure(b""));
    }

    #[test]
    fn a_quoted_printable_body_is_searched_as_the_parse_decodes_it() {
        // A soft break (with trailing blanks), an `=3A` escape, a lone CR the decoder drops.
        for body in ["Final-Recip=\r\nient:", "Final-Recip= \nient:", "Final-Recipient=3A", "Final-Recip\rient:"] {
            let raw = format!("From: a\nContent-Transfer-Encoding: Quoted-Printable\n\n{body} x\n");
            let head = parse_head(raw.as_bytes()).unwrap();
            let body = body_after(&head, raw.as_bytes());
            assert!(plain_body(&head, body, &Limits::default()).unwrap().mentions("recipient:"), "{body:?}");
        }
    }

    #[test]
    fn only_charsets_that_keep_ascii_are_searched_undecoded() {
        for ok in [
            "us-ascii",
            "UTF-8",
            "iso-8859-1",
            "ISO_8859-15",
            "windows-1252",
            "Shift_JIS",
            "euc-jp",
            "koi8-r",
            " utf8 ",
            "LATIN1",
            "cp1251",
            "Big5",
        ] {
            assert!(keeps_ascii(ok), "{ok}");
        }
        for no in [
            "utf-16",
            "UTF_16LE",
            "csUnicode",
            "utf-7",
            "iso-2022-jp",
            "ucs-2",
            "x-unknown",
            "hz-gb-2312",
            "utf-8x",
            "iso-8859",
            "",
            "utf_8_",
            "lati",
        ] {
            assert!(!keeps_ascii(no), "{no}");
        }
    }
}
