//! Our reading of a Received field's value, for the three things a report keeps of it: the
//! sending host (or its HELO name), the receiving host and the sender's IP address.
//!
//! It reads them exactly as mail-parser 0.11's `parse_received` does (its tokens, their classes
//! and its quirks, which the tests hold equal on the corpus and on mutations of it), without the
//! rest of what that parser builds: its tokenizer was among the largest costs of a bounce.

use std::net::IpAddr;

use crate::report::ReceivedHop;

/// The hop a Received value names; `None` where mail-parser finds nothing at all in it (no
/// host, address, protocol, id, date...), as such a field then has no hop.
pub fn hop(value: &[u8]) -> Option<ReceivedHop> {
    let mut tokens = Tokens::new(value);
    let mut read = Read::default();
    while let Some(token) = tokens.next() {
        read.take(token, &mut tokens);
    }
    let found = read.from.is_some()
        || read.helo.is_some()
        || read.by.is_some()
        || read.from_ip.is_some()
        || read.something_else
        || read.date_parts >= DATE_PARTS;
    found.then(|| ReceivedHop {
        from_host: read.from.or(read.helo).map(|h| h.text(value)),
        by_host: read.by.map(|h| h.text(value)),
        ip: read.from_ip.map(|h| h.text(value)),
    })
}

/// Numbers and month names after the `;` that make a date: day, month, year, hour, minute,
/// second (the zone is optional).
const DATE_PARTS: usize = 6;

/// The clause the reading is in, named by the last keyword (or `;`) read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Clause {
    #[default]
    None,
    From,
    Other,
    Date,
}

/// A host as a token's byte range in the value: its text, or the address it spells.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Host {
    Name(usize, usize),
    Ip(usize, usize),
}

impl Host {
    fn text(self, value: &[u8]) -> String {
        match self {
            // A name that is not UTF-8 reads as empty, as mail-parser reads it.
            Host::Name(start, end) => {
                std::str::from_utf8(value.get(start..end).unwrap_or_default()).unwrap_or_default().to_string()
            }
            // Written as the standard library writes it (IPv6 shortened).
            Host::Ip(start, end) => {
                parsed::<IpAddr>(value.get(start..end).unwrap_or_default()).map(|ip| ip.to_string()).unwrap_or_default()
            }
        }
    }
}

/// What the reading has found so far.
#[derive(Default)]
struct Read {
    clause: Clause,
    from: Option<Host>,
    helo: Option<Host>,
    by: Option<Host>,
    /// Always a `Host::Ip`.
    from_ip: Option<Host>,
    /// Whether mail-parser would have set any of the fields we do not keep (`for`, `with`,
    /// `id`, `via`, ident, reverse name, HELO command, TLS version or cipher).
    something_else: bool,
    tls_version: bool,
    cipher: bool,
    date_parts: usize,
}

impl Read {
    /// One token, with what its keyword takes from the tokens after it.
    fn take(&mut self, token: Token, tokens: &mut Tokens<'_>) {
        let in_comment = token.comment_depth > 0;
        match token.kind {
            Kind::From if self.from.is_none() => {
                self.from = tokens.host(&[Kind::BracketOpen]);
                self.clause = Clause::From;
            }
            Kind::By if !in_comment => {
                // A later `by` replaces an earlier one, unless nothing follows it.
                if let Some(host) = tokens.host(&[Kind::BracketOpen, Kind::AngleOpen]) {
                    self.by = Some(host);
                }
                self.clause = Clause::Other;
            }
            Kind::For if !in_comment => {
                while let Some(next) = tokens.peek() {
                    match next.kind {
                        Kind::Equal | Kind::AngleOpen => tokens.skip(),
                        Kind::Email => {
                            tokens.skip();
                            self.something_else = true;
                            break;
                        }
                        _ => break,
                    }
                }
                self.clause = Clause::Other;
            }
            // A separator is never in a comment, as mail-parser marks them.
            Kind::Semicolon => self.clause = Clause::Date,
            Kind::Id if !in_comment => {
                self.something_else |= tokens.word(&[Kind::Equal, Kind::AngleOpen, Kind::BracketOpen, Kind::Colon]);
                self.clause = Clause::Other;
            }
            Kind::With if !in_comment => {
                while let Some(next) = tokens.peek() {
                    match next.kind {
                        Kind::Protocol => {
                            tokens.skip();
                            self.something_else = true;
                            break;
                        }
                        Kind::Semicolon
                        | Kind::TlsVersion
                        | Kind::By
                        | Kind::For
                        | Kind::From
                        | Kind::Id
                        | Kind::Via
                        | Kind::With => break,
                        _ => tokens.skip(),
                    }
                }
                self.clause = Clause::Other;
            }
            Kind::Via if !in_comment => {
                self.something_else |= tokens.word(&[Kind::Equal]);
                self.clause = Clause::Other;
            }
            Kind::Ident if in_comment => {
                self.something_else |= tokens.word(&[Kind::Equal, Kind::AngleOpen, Kind::BracketOpen, Kind::Colon]);
            }
            Kind::Greeting if self.clause == Clause::From && in_comment => {
                self.something_else = true;
                if let Some(host) = tokens.host(&[Kind::Equal, Kind::BracketOpen, Kind::Colon]) {
                    self.helo = Some(host);
                }
            }
            Kind::Ip
                if self.clause == Clause::From
                    && (token.bracket_depth > 0 || (in_comment && self.from_ip.is_none())) =>
            {
                self.from_ip = Some(Host::Ip(token.start, token.end));
            }
            Kind::Domain if self.clause == Clause::From && in_comment => self.something_else = true,
            Kind::Email if self.clause == Clause::From => self.something_else = true,
            Kind::Integer | Kind::Month if self.clause == Clause::Date => self.date_parts += 1,
            Kind::Cipher if in_comment || !self.cipher => {
                self.cipher = true;
                self.something_else = true;
            }
            Kind::TlsVersion if in_comment && !self.tls_version => {
                self.tls_version = true;
                self.something_else = true;
            }
            _ => (),
        }
    }
}

/// A token's class, as mail-parser's tokenizer classes it (keeping apart only what the
/// reading needs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    BracketOpen,
    AngleOpen,
    Equal,
    Colon,
    Semicolon,
    /// `] > ( ) / " ,`.
    OtherSeparator,
    /// An IPv4 or IPv6 address (read again from the text where it is kept).
    Ip,
    Integer,
    Month,
    Email,
    Domain,
    Protocol,
    Greeting,
    TlsVersion,
    Cipher,
    By,
    For,
    From,
    Id,
    Via,
    With,
    Ident,
    Text,
}

impl Kind {
    fn is_separator(self) -> bool {
        matches!(
            self,
            Kind::BracketOpen | Kind::AngleOpen | Kind::Equal | Kind::Colon | Kind::Semicolon | Kind::OtherSeparator
        )
    }
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Kind,
    /// The token's text, as a byte range of the value (empty for a separator).
    start: usize,
    end: usize,
    /// Parentheses and brackets open where the token starts (0 for a separator).
    comment_depth: u32,
    bracket_depth: u32,
}

impl Token {
    fn separator(kind: Kind) -> Token {
        Token { kind, start: 0, end: 0, comment_depth: 0, bracket_depth: 0 }
    }
}

/// The tokens of a value, with one token of look-ahead.
struct Tokens<'v> {
    value: &'v [u8],
    pos: usize,
    /// The separator that ended the last word, given as the next token.
    separator: Option<Kind>,
    peeked: Option<Option<Token>>,
    /// A line break not followed by a blank ends the value.
    ended: bool,
    in_quote: bool,
    comment_depth: u32,
    bracket_depth: u32,
    /// Past a `;` outside comments, where `:` separates the parts of a time.
    in_date: bool,
}

/// What a word is made of, counted as mail-parser counts it to class the word.
#[derive(Debug, Default)]
struct Counts {
    /// Letters `g`-`z` of either case.
    alpha: usize,
    digit: usize,
    /// Letters `a`-`f` of either case.
    hex: usize,
    dot: usize,
    at: usize,
    /// Any other byte below 0x7f (`_` among them).
    other: usize,
    colon: usize,
    plus: usize,
    minus: usize,
    /// Bytes from 0x7f up.
    utf: usize,
    uppercase: usize,
    underscore: usize,
}

impl Counts {
    fn new(tally: &[usize; COUNTED], colon: usize) -> Counts {
        let n = |role: Role| tally[role as usize];
        Counts {
            alpha: n(Role::Alpha) + n(Role::AlphaUpper),
            digit: n(Role::Digit),
            hex: n(Role::HexLower) + n(Role::HexUpper),
            dot: n(Role::Dot),
            at: n(Role::At),
            other: n(Role::Other) + n(Role::Underscore),
            colon,
            plus: n(Role::Plus),
            minus: n(Role::Minus),
            utf: n(Role::Utf),
            uppercase: n(Role::AlphaUpper) + n(Role::HexUpper),
            underscore: n(Role::Underscore),
        }
    }
}

/// What a byte is to the tokenizer: the kinds of byte a word is counted by (the first
/// `COUNTED`, numbered for a tally; digits and hex letters first, as a colon looks for
/// anything else), or what ends a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Digit,
    HexLower,
    HexUpper,
    Alpha,
    AlphaUpper,
    At,
    Dot,
    Plus,
    Minus,
    Utf,
    Underscore,
    Other,
    /// Counted apart, and part of a word only while it may be an IPv6 address.
    Colon,
    Blank,
    LineEnd,
    ParenOpen,
    ParenClose,
    BracketOpen,
    BracketClose,
    AngleOpen,
    Semicolon,
    Equal,
    Quote,
    /// `> / ,`
    Separator,
}

const COUNTED: usize = Role::Colon as usize;

/// Each byte's role, looked up rather than matched: most of the reading is this.
const ROLES: [Role; 256] = {
    let mut roles = [Role::Other; 256];
    let mut byte = 0;
    while byte < 256 {
        roles[byte] = match byte as u8 {
            b'0'..=b'9' => Role::Digit,
            b'a'..=b'f' => Role::HexLower,
            b'g'..=b'z' => Role::Alpha,
            b'A'..=b'F' => Role::HexUpper,
            b'G'..=b'Z' => Role::AlphaUpper,
            b'@' => Role::At,
            b'.' => Role::Dot,
            b'+' => Role::Plus,
            b'-' => Role::Minus,
            b'\n' => Role::LineEnd,
            b' ' | b'\t' | b'\r' => Role::Blank,
            b'(' => Role::ParenOpen,
            b')' => Role::ParenClose,
            b'[' => Role::BracketOpen,
            b']' => Role::BracketClose,
            b'<' => Role::AngleOpen,
            b'>' | b'/' | b',' => Role::Separator,
            b':' => Role::Colon,
            b'=' => Role::Equal,
            b';' => Role::Semicolon,
            b'"' => Role::Quote,
            0x7f..=0xff => Role::Utf,
            b'_' => Role::Underscore,
            _ => Role::Other,
        };
        byte += 1;
    }
    roles
};

impl<'v> Tokens<'v> {
    fn new(value: &'v [u8]) -> Self {
        Tokens {
            value,
            pos: 0,
            separator: None,
            peeked: None,
            ended: false,
            in_quote: false,
            comment_depth: 0,
            bracket_depth: 0,
            in_date: false,
        }
    }

    fn next(&mut self) -> Option<Token> {
        match self.peeked.take() {
            Some(peeked) => peeked,
            None => self.read(),
        }
    }

    fn peek(&mut self) -> Option<Token> {
        if self.peeked.is_none() {
            self.peeked = Some(self.read());
        }
        self.peeked.flatten()
    }

    fn skip(&mut self) {
        self.next();
    }

    /// The host after a keyword, skipping the separators in `skip`: an address, or the next
    /// token's text unless that is a separator (which is left to be read).
    fn host(&mut self, skip: &[Kind]) -> Option<Host> {
        while let Some(next) = self.peek() {
            match next.kind {
                kind if skip.contains(&kind) => self.skip(),
                Kind::Ip => {
                    self.skip();
                    return Some(Host::Ip(next.start, next.end));
                }
                kind if kind.is_separator() => return None,
                _ => {
                    self.skip();
                    return Some(Host::Name(next.start, next.end));
                }
            }
        }
        None
    }

    /// Whether a word follows a keyword (past the separators in `skip`); takes it if so.
    fn word(&mut self, skip: &[Kind]) -> bool {
        while let Some(next) = self.peek() {
            match next.kind {
                kind if skip.contains(&kind) => self.skip(),
                kind if kind.is_separator() => return false,
                _ => {
                    self.skip();
                    return true;
                }
            }
        }
        false
    }

    /// The next token: a separator, or a word ended by a blank, a separator or the end.
    fn read(&mut self) -> Option<Token> {
        if let Some(separator) = self.separator.take() {
            return Some(Token::separator(separator));
        }
        if self.ended {
            return None;
        }
        let (comment_depth, bracket_depth) = (self.comment_depth, self.bracket_depth);
        let mut tally = [0; COUNTED];
        let mut colons = 0;
        let mut start = self.pos;
        let mut end = start;
        while let Some(&byte) = self.value.get(self.pos) {
            self.pos += 1;
            let role = ROLES[usize::from(byte)];
            if let Some(count) = tally.get_mut(role as usize) {
                *count += 1;
                // The word's bytes run on without a gap from `start`.
                end = self.pos;
                continue;
            }
            let separator = match role {
                Role::LineEnd => {
                    if !matches!(self.value.get(self.pos), Some(b' ' | b'\t')) {
                        self.ended = true;
                        break;
                    }
                    self.pos += 1;
                    if end > start {
                        break;
                    }
                    start = self.pos;
                    end = start;
                    continue;
                }
                Role::Blank => {
                    if end > start {
                        break;
                    }
                    start = self.pos;
                    end = start;
                    continue;
                }
                // Part of the word while it may still be an IPv6 address.
                Role::Colon => {
                    let only_hex = tally.get(Role::Alpha as usize..).is_some_and(|rest| rest.iter().all(|&n| n == 0));
                    if self.in_date || !only_hex || colons == 7 {
                        Kind::Colon
                    } else {
                        colons += 1;
                        end = self.pos;
                        continue;
                    }
                }
                Role::ParenOpen => {
                    if !self.in_quote {
                        self.comment_depth = self.comment_depth.saturating_add(1);
                    }
                    Kind::OtherSeparator
                }
                Role::ParenClose => {
                    if !self.in_quote {
                        self.comment_depth = self.comment_depth.saturating_sub(1);
                    }
                    Kind::OtherSeparator
                }
                // mail-parser sets the bracket depth from the comment depth.
                Role::BracketOpen => {
                    if !self.in_quote {
                        self.bracket_depth = self.comment_depth.saturating_add(1);
                    }
                    Kind::BracketOpen
                }
                Role::BracketClose => {
                    if !self.in_quote {
                        self.bracket_depth = self.comment_depth.saturating_sub(1);
                    }
                    Kind::OtherSeparator
                }
                Role::AngleOpen => Kind::AngleOpen,
                Role::Equal => Kind::Equal,
                Role::Semicolon => {
                    if self.comment_depth == 0 {
                        self.in_date = true;
                    }
                    Kind::Semicolon
                }
                Role::Quote => {
                    self.in_quote = !self.in_quote;
                    Kind::OtherSeparator
                }
                // `> / ,` (the counted roles were taken above).
                _ => Kind::OtherSeparator,
            };
            self.separator = Some(separator);
            break;
        }
        if end == start {
            return self.separator.take().map(Token::separator);
        }
        let text = self.value.get(start..end).unwrap_or_default();
        Some(Token { kind: class(&Counts::new(&tally, colons), text), start, end, comment_depth, bracket_depth })
    }
}

/// A word's class, in the order mail-parser tries them.
fn class(c: &Counts, text: &[u8]) -> Kind {
    let digits_only = c.alpha == 0 && c.at == 0 && c.other == 0 && c.utf == 0;
    let no_sign = c.plus == 0 && c.minus == 0;
    if digits_only && (4..=12).contains(&c.digit) && c.hex == 0 && c.dot == 3 && c.colon == 0 && no_sign {
        return if parsed::<std::net::Ipv4Addr>(text).is_some() { Kind::Ip } else { Kind::Text };
    }
    let ipv6 = c.dot == 0 && c.colon >= 2 && ((1..=32).contains(&c.hex) || (1..=32).contains(&c.digit));
    let ipv4_in_ipv6 = (4..=12).contains(&c.digit) && c.hex == 4 && c.dot == 3 && c.colon == 3;
    if digits_only && no_sign && (ipv6 || ipv4_in_ipv6) {
        return if parsed::<std::net::Ipv6Addr>(text).is_some() { Kind::Ip } else { Kind::Text };
    }
    let one_sign = (c.plus == 0 && c.minus <= 1) || (c.plus == 1 && c.minus == 0);
    if digits_only && c.digit > 0 && c.hex == 0 && c.dot == 0 && c.colon == 0 && one_sign {
        return if is_i64(text) { Kind::Integer } else { Kind::Text };
    }
    let letters = c.alpha > 0 || c.hex > 0;
    if c.at == 1 && letters {
        return Kind::Email;
    }
    if let Some(kind) = keyword(c, text) {
        return kind;
    }
    if letters && c.dot > 0 && c.at == 0 && c.other == 0 && c.colon == 0 && c.plus == 0 {
        return Kind::Domain;
    }
    if is_cipher(c, text) {
        return Kind::Cipher;
    }
    Kind::Text
}

fn parsed<T: std::str::FromStr>(text: &[u8]) -> Option<T> {
    std::str::from_utf8(text).ok()?.parse().ok()
}

/// Whether digits with at most one sign read as an `i64`, as `str::parse` reads them (a sign
/// only in front, no overflow), without its UTF-8 check.
fn is_i64(text: &[u8]) -> bool {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let significant = digits.iter().position(|&d| d != b'0').and_then(|p| digits.get(p..)).unwrap_or_default();
    // Up to 19 digits make a u64 without overflow (and without 128-bit arithmetic in wasm).
    significant.len() <= 19
        && significant.iter().fold(0u64, |v, &d| v * 10 + u64::from(d - b'0')) <= i64::MAX as u64 + u64::from(negative)
}

/// The longest keyword mail-parser knows (`localesmtps`).
const KEYWORD_MAX: usize = 11;

/// What a keyword may hold besides its letters and digits (mail-parser compares only those,
/// lowered, and counts the rest).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Besides {
    Nothing,
    Minus,
    /// Dots, minus signs and other punctuation (`TLS_1.2`).
    Punctuation,
    /// Dots and other punctuation (`TLSv1.2`).
    PunctuationButMinus,
}

/// The keyword a word is, if any.
fn keyword(c: &Counts, text: &[u8]) -> Option<Kind> {
    if c.at + c.colon + c.plus + c.utf > 0 || c.alpha + c.digit + c.hex > KEYWORD_MAX {
        return None;
    }
    let mut word = 0;
    for &byte in text.iter().filter(|b| b.is_ascii_alphanumeric()) {
        word = word * 37 + symbol(byte);
    }
    let &(_, kind, besides) = KEYWORDS.get(KEYWORDS.binary_search_by_key(&word, |k| k.0).ok()?)?;
    let allowed = match besides {
        Besides::Nothing => c.dot + c.other + c.minus == 0,
        Besides::Minus => c.dot + c.other == 0,
        Besides::Punctuation => true,
        Besides::PunctuationButMinus => c.minus == 0,
    };
    allowed.then_some(kind)
}

/// A word of up to `KEYWORD_MAX` letters and digits as one number (as `keyword` reads a word):
/// each a digit of base 37 (none is 0), so that words compare in one step.
const fn packed(word: &[u8]) -> u64 {
    let (mut key, mut i) = (0, 0);
    while i < word.len() {
        key = key * 37 + symbol(word[i]);
        i += 1;
    }
    key
}

/// A letter (either case) or digit as a digit of base 37, from 1.
const fn symbol(byte: u8) -> u64 {
    match byte {
        b'0'..=b'9' => (byte - b'0' + 1) as u64,
        _ => (byte.to_ascii_lowercase() - b'a' + 11) as u64,
    }
}

/// mail-parser's keywords, sorted by their packed form for a binary search.
const KEYWORDS: [(u64, Kind, Besides); 78] = {
    use Besides::*;
    use Kind::*;
    let mut table = [
        (packed(b"apr"), Month, Nothing),
        (packed(b"asmtp"), Protocol, Nothing),
        (packed(b"aug"), Month, Nothing),
        (packed(b"bsmtp"), Protocol, Nothing),
        (packed(b"by"), By, Nothing),
        (packed(b"dec"), Month, Nothing),
        (packed(b"dtls10"), TlsVersion, PunctuationButMinus),
        (packed(b"dtls12"), TlsVersion, PunctuationButMinus),
        (packed(b"dtls13"), TlsVersion, PunctuationButMinus),
        (packed(b"dtlsv10"), TlsVersion, PunctuationButMinus),
        (packed(b"dtlsv12"), TlsVersion, PunctuationButMinus),
        (packed(b"dtlsv13"), TlsVersion, PunctuationButMinus),
        (packed(b"ehlo"), Greeting, Nothing),
        (packed(b"esmtp"), Protocol, Nothing),
        (packed(b"esmtpa"), Protocol, Nothing),
        (packed(b"esmtps"), Protocol, Nothing),
        (packed(b"esmtpsa"), Protocol, Nothing),
        (packed(b"esmtptls"), Protocol, Minus),
        (packed(b"feb"), Month, Nothing),
        (packed(b"for"), For, Nothing),
        (packed(b"from"), From, Nothing),
        (packed(b"helo"), Greeting, Nothing),
        (packed(b"http"), Protocol, Nothing),
        (packed(b"httprest"), Protocol, Nothing),
        (packed(b"https"), Protocol, Nothing),
        (packed(b"httpu"), Protocol, Nothing),
        (packed(b"id"), Id, Nothing),
        (packed(b"ident"), Ident, Nothing),
        (packed(b"imap"), Protocol, Nothing),
        (packed(b"jan"), Month, Nothing),
        (packed(b"jul"), Month, Nothing),
        (packed(b"jun"), Month, Nothing),
        (packed(b"lhlo"), Greeting, Nothing),
        (packed(b"lmtp"), Protocol, Nothing),
        (packed(b"lmtpa"), Protocol, Nothing),
        (packed(b"lmtps"), Protocol, Nothing),
        (packed(b"lmtpsa"), Protocol, Nothing),
        (packed(b"local"), Protocol, Nothing),
        (packed(b"localbsmtp"), Protocol, Minus),
        (packed(b"localesmtp"), Protocol, Minus),
        (packed(b"localesmtps"), Protocol, Minus),
        (packed(b"lsmtp"), Protocol, Nothing),
        (packed(b"mar"), Month, Nothing),
        (packed(b"may"), Month, Nothing),
        (packed(b"mms"), Protocol, Nothing),
        (packed(b"nov"), Month, Nothing),
        (packed(b"oct"), Month, Nothing),
        (packed(b"pop3"), Protocol, Nothing),
        (packed(b"sep"), Month, Nothing),
        (packed(b"smtp"), Protocol, Nothing),
        (packed(b"smtpd"), Protocol, Nothing),
        (packed(b"smtpsvc"), Protocol, Nothing),
        (packed(b"socket"), Protocol, Nothing),
        (packed(b"ssl2"), TlsVersion, Nothing),
        (packed(b"ssl3"), TlsVersion, Nothing),
        (packed(b"sslv2"), TlsVersion, Nothing),
        (packed(b"sslv3"), TlsVersion, Nothing),
        (packed(b"stdin"), Protocol, Nothing),
        (packed(b"tls1"), TlsVersion, Nothing),
        (packed(b"tls10"), TlsVersion, Punctuation),
        (packed(b"tls11"), TlsVersion, Punctuation),
        (packed(b"tls12"), TlsVersion, Punctuation),
        (packed(b"tls13"), TlsVersion, Punctuation),
        (packed(b"tlsv1"), TlsVersion, Nothing),
        (packed(b"tlsv10"), TlsVersion, PunctuationButMinus),
        (packed(b"tlsv11"), TlsVersion, PunctuationButMinus),
        (packed(b"tlsv12"), TlsVersion, PunctuationButMinus),
        (packed(b"tlsv13"), TlsVersion, PunctuationButMinus),
        (packed(b"utf8lmtp"), Protocol, Nothing),
        (packed(b"utf8lmtpa"), Protocol, Nothing),
        (packed(b"utf8lmtps"), Protocol, Nothing),
        (packed(b"utf8lmtpsa"), Protocol, Nothing),
        (packed(b"utf8smtp"), Protocol, Nothing),
        (packed(b"utf8smtpa"), Protocol, Nothing),
        (packed(b"utf8smtps"), Protocol, Nothing),
        (packed(b"utf8smtpsa"), Protocol, Nothing),
        (packed(b"via"), Via, Nothing),
        (packed(b"with"), With, Nothing),
    ];
    // An insertion sort, at compile time.
    let mut i = 1;
    while i < table.len() {
        let mut j = i;
        while j > 0 && table[j - 1].0 > table[j].0 {
            let moved = table[j];
            table[j] = table[j - 1];
            table[j - 1] = moved;
            j -= 1;
        }
        i += 1;
    }
    table
};

/// A TLS cipher suite name (`TLS_AES_256_GCM_SHA384`, `ECDHE-RSA-AES128-GCM-SHA256`): capitals,
/// digits and `_` or `-`, starting as mail-parser's known suites start.
fn is_cipher(c: &Counts, text: &[u8]) -> bool {
    const STARTS: [&[u8]; 8] = [b"rsa", b"ecd", b"dhe", b"psk", b"srp", b"aes", b"des", b"tls"];
    let shape = c.alpha + c.hex == c.uppercase
        && text.len() > 6
        && (c.underscore > 0 || c.minus > 0)
        && c.digit > 0
        && c.dot + c.at + c.plus + c.colon + c.utf == 0
        && (c.other == 0 || c.other == c.underscore);
    if !shape {
        return false;
    }
    let mut start = text.iter().filter(|b| b.is_ascii_alphanumeric()).map(u8::to_ascii_lowercase);
    let first = [start.next(), start.next(), start.next()];
    STARTS.iter().any(|s| s.iter().map(|&b| Some(b)).eq(first))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use mail_parser::parsers::MessageStream;
    use mail_parser::{HeaderName, HeaderValue, PartType};

    use super::*;

    /// mail-parser's reading of the value, kept as the reference.
    fn reference(value: &[u8]) -> Option<ReceivedHop> {
        let text = |h: &mail_parser::Host<'_>| match h {
            mail_parser::Host::Name(n) => n.to_string(),
            mail_parser::Host::IpAddr(ip) => ip.to_string(),
        };
        match MessageStream::new(value).parse_received() {
            HeaderValue::Received(r) => Some(ReceivedHop {
                from_host: r.from.as_ref().or(r.helo.as_ref()).map(text),
                by_host: r.by.as_ref().map(text),
                ip: r.from_ip.map(|ip| ip.to_string()),
            }),
            _ => None,
        }
    }

    fn assert_same(value: &[u8]) {
        assert_eq!(hop(value), reference(value), "{:?}", String::from_utf8_lossy(value));
    }

    /// Every Received value of the corpus: those of every header block the parse finds (the
    /// values `Mail::received_hops` reads), and every line of any file or decoded part that
    /// starts (after blanks and quote marks) with `Received:`, with its continuation lines.
    fn corpus_values() -> BTreeSet<Vec<u8>> {
        let mut values = BTreeSet::new();
        for path in crate::tests::corpus_files() {
            let raw = std::fs::read(&path).unwrap();
            pasted_values(&raw, &mut values);
            if let Some(msg) = crate::mime::parse(&raw) {
                parsed_values(&msg, &mut values);
            }
        }
        values
    }

    fn parsed_values(msg: &mail_parser::Message<'_>, values: &mut BTreeSet<Vec<u8>>) {
        for part in &msg.parts {
            for h in part.headers().iter().filter(|h| h.name == HeaderName::Received) {
                let value = msg.raw_message.get(h.offset_start as usize..h.offset_end as usize).unwrap();
                values.insert(value.to_vec());
            }
            match &part.body {
                PartType::Message(nested) => parsed_values(nested, values),
                PartType::Text(t) | PartType::Html(t) => pasted_values(t.as_bytes(), values),
                PartType::Binary(b) | PartType::InlineBinary(b) => pasted_values(b, values),
                PartType::Multipart(_) => (),
            }
        }
    }

    /// The values of lines `[> ]*Received:` in a text: with the continuation lines that start
    /// with a blank, and with those that repeat the line's quote marks before a blank (marks
    /// dropped); each with and without its last line end.
    fn pasted_values(text: &[u8], values: &mut BTreeSet<Vec<u8>>) {
        let lines: Vec<&[u8]> = text.split_inclusive(|&b| b == b'\n').collect();
        for (i, line) in lines.iter().enumerate() {
            let quote = line.iter().take_while(|b| matches!(b, b'>' | b' ' | b'\t')).count();
            let Some(rest) = line.get(quote..) else { continue };
            if rest.len() < 9 || !rest[..9].eq_ignore_ascii_case(b"received:") {
                continue;
            }
            let first = &rest[9..];
            let mut folded = first.to_vec();
            for next in &lines[i + 1..] {
                if !next.starts_with(b" ") && !next.starts_with(b"\t") {
                    break;
                }
                folded.extend_from_slice(next);
            }
            let mut quoted = first.to_vec();
            let marks = line[..quote].trim_ascii_end();
            if !marks.is_empty() {
                for next in &lines[i + 1..] {
                    match next.strip_prefix(marks) {
                        Some(more) if more.starts_with(b" ") || more.starts_with(b"\t") => {
                            quoted.extend_from_slice(more)
                        }
                        _ => break,
                    }
                }
            }
            for value in [folded, quoted] {
                let unended = value.trim_ascii_end().to_vec();
                values.insert(value);
                values.insert(unended);
            }
        }
    }

    #[test]
    fn the_corpus_values_read_as_mail_parser_reads_them() {
        let values = corpus_values();
        let (mut hops, mut with_ip) = (0, 0);
        for value in &values {
            assert_same(value);
            let read = hop(value);
            hops += read.is_some() as usize;
            with_ip += read.is_some_and(|h| h.ip.is_some()) as usize;
        }
        println!("{} corpus Received values compared, {hops} with a hop, {with_ip} with an address", values.len());
        assert!(values.len() > 10_000 && with_ip > 1_000, "{} values, {with_ip} with an address", values.len());
    }

    /// Pieces the mutations insert: keywords and classes of every kind, separators, line
    /// breaks, odd and non-ASCII bytes.
    fn pieces() -> Vec<&'static [u8]> {
        const WORDS: &str = "from by with id for via ident HELO EHLO= helo= ESMTPS esmtp SMTP LMTP local-esmtp \
            TLS1.2 TLSv1.3 tls_1_0 DTLSv1.2 SSLv3 TLS_AES_256_GCM_SHA384 ECDHE-RSA-AES128-GCM-SHA256 \
            ( ) [ ] < > ; : = \" , / IPv6: 1.2.3.4 010.1.2.3 256.1.1.1 ::1 2001:db8::1 ::ffff:1.2.3.4 \
            fe80::1:2:3:4:5:6:7 1:2:3:4:5:6:7:8:9 12 -0700 +0000 Jan Dec 10:11:12 user@host user@ @ \
            host.example.com mx-1.example é 12345678901234567890 a:b:c 1:2 :: ::::::::: Feb _ + - . A-B_1";
        const ODD: [&[u8]; 8] = [b"\n", b"\n ", b"\r\n\t", b"\r", b" ", b"\xff", b"\x80", b"\x00"];
        WORDS.split_ascii_whitespace().map(str::as_bytes).chain(ODD).collect()
    }

    /// A deterministic xorshift sequence.
    struct Random(u64);

    impl Random {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n.max(1) as u64) as usize
        }
    }

    /// A copy of `value` with one change: a blank-separated word dropped or repeated, a piece
    /// or a random byte put in, or the end cut off.
    fn mutated(value: &[u8], pieces: &[&[u8]], random: &mut Random) -> Vec<u8> {
        let mut out = value.to_vec();
        let at = random.below(out.len() + 1);
        let word = |at: usize| {
            let start = value[..at].iter().rposition(|b| b.is_ascii_whitespace()).map_or(0, |p| p + 1);
            let end = value[at..].iter().position(|b| b.is_ascii_whitespace()).map_or(value.len(), |p| at + p);
            start..end
        };
        match random.below(6) {
            0 => {
                out.drain(word(at));
            }
            1 => {
                let range = word(at);
                let copy = [b" ", &value[range.clone()]].concat();
                out.splice(range.end..range.end, copy);
            }
            2 | 3 => {
                let piece = pieces[random.below(pieces.len())];
                out.splice(at..at, piece.iter().copied());
            }
            4 => out.insert(at, random.below(256) as u8),
            _ => out.truncate(at),
        }
        out
    }

    #[test]
    fn mutated_corpus_values_read_as_mail_parser_reads_them() {
        let values: Vec<Vec<u8>> = corpus_values().into_iter().collect();
        let pieces = pieces();
        let mut random = Random(0x9e37_79b9_7f4a_7c15);
        let mut hops = 0;
        for _ in 0..300_000 {
            let mut value = values[random.below(values.len())].clone();
            for _ in 0..=random.below(3) {
                value = mutated(&value, &pieces, &mut random);
            }
            assert_same(&value);
            hops += hop(&value).is_some() as usize;
        }
        assert!(hops > 200_000, "{hops}");
    }

    #[test]
    fn the_keywords_are_sorted_and_no_longer_than_the_longest() {
        assert!(KEYWORDS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(KEYWORDS.iter().all(|k| k.0 < 37u64.pow(KEYWORD_MAX as u32) && packed(&unpacked(k.0)) == k.0));
        assert_eq!(unpacked(packed(b"localesmtps")), b"localesmtps");
    }

    /// Every keyword, in capitals and with punctuation inside, where its class shows.
    #[test]
    fn the_keywords_are_classed_as_mail_parser_classes_them() {
        let templates: [&[u8]; 8] =
            [b"with #", b"(#)", b"; 1 # 3 4 5 6", b"# x", b"from x (# y) by z", b"# <a@b>", b"(a # b)", b"#"];
        for (key, ..) in KEYWORDS {
            let word = unpacked(key);
            let word = &word[..];
            let (start, end) = word.split_at(word.len() / 2);
            let forms = [
                word.to_vec(),
                word.to_ascii_uppercase(),
                [start, b"-", end].concat(),
                [start, b".", end].concat(),
                [start, b"_", end].concat(),
                [start, b"_-", end].concat(),
                [start, b"@", end].concat(),
                [word, &b"x"[..]].concat(),
            ];
            for form in &forms {
                for template in templates {
                    let value: Vec<u8> =
                        template.iter().flat_map(|&b| if b == b'#' { form.clone() } else { vec![b] }).collect();
                    assert_same(&value);
                }
            }
        }
    }

    /// The word a packed keyword stands for.
    fn unpacked(mut key: u64) -> Vec<u8> {
        let mut word = Vec::new();
        while key > 0 {
            let digit = (key - 1) % 37 + 1;
            word.insert(0, if digit <= 10 { b'0' + digit as u8 - 1 } else { b'a' + digit as u8 - 11 });
            key = (key - digit) / 37;
        }
        word
    }

    #[test]
    fn an_integer_is_what_str_parse_reads_as_one() {
        for text in [
            "0",
            "-0",
            "+0",
            "12",
            "+0000",
            "-0700",
            "0000000000000000000000001",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775808",
            "-9223372036854775809",
            "+9223372036854775807",
            "18446744073709551616",
            "99999999999999999999999",
            "-",
            "+",
            "",
            "1-",
            "1+2",
            "--1",
            "+-1",
            "1 ",
        ] {
            assert_eq!(is_i64(text.as_bytes()), text.parse::<i64>().is_ok(), "{text:?}");
        }
    }

    #[test]
    fn the_quirks_of_mail_parser_are_kept() {
        // A bracketed address after `from` is the host, not the sender's address.
        assert_same(b"from [1.2.3.4] by mx.example.org");
        // `IPv6:` before an address reads as a name.
        assert_same(b"from [IPv6:2001:db8::1] (helo=x) by y");
        // An address in a comment, a later one in brackets wins.
        assert_same(b"from a (b [10.0.0.1]) (c [10.0.0.2]) by d");
        // Nothing but a qmail comment and a date.
        assert_same(b"(qmail 123 invoked by uid 89); 12 Jan 2020 10:00:00 -0000\r\n");
        assert_same(b"(qmail 123 invoked by uid 89)\r\n");
        // A name that is not UTF-8 reads as empty.
        assert_same(b"from h\xff.example by x");
        assert_eq!(hop(b"from h\xff.example by x").unwrap().from_host.as_deref(), Some(""));
        assert_eq!(hop(b""), None);
    }
}
