//! Our reading of a Received field's value, for the three things a report keeps of it: the
//! sending host (or its HELO name), the receiving host and the sender's IP address.
//!
//! It reads them exactly as mail-parser 0.11's `parse_received` does (its tokens, their classes
//! and its quirks, which the tests hold equal on the corpus and on mutations of it), without the
//! rest of what that parser builds: its tokenizer was among the largest costs of a bounce. Bytes
//! are looked up in tables, keywords compared as numbers, and a word that is no keyword is
//! classed only where its class can change the answer.

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
    read.found().then(|| ReceivedHop {
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
            Host::Ip(start, end) => {
                let text = value.get(start..end).unwrap_or_default();
                if text.contains(&b':') {
                    // Written as the standard library writes it (shortened).
                    parsed::<IpAddr>(text).map(|ip| ip.to_string()).unwrap_or_default()
                } else {
                    // An IPv4 address the standard library read (no leading zeros) is written
                    // as it was read.
                    String::from_utf8_lossy(text).into_owned()
                }
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
                        Kind::Word if is_email(tokens.text(next)) => {
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
            Kind::Month if self.clause == Clause::Date => self.date_parts += 1,
            Kind::TlsVersion if in_comment && !self.tls_version => {
                self.tls_version = true;
                self.something_else = true;
            }
            Kind::Word => self.take_word(token, tokens.text(token)),
            _ => (),
        }
    }

    /// A word that is no keyword: its class matters for the sender's address, and else only
    /// to tell whether mail-parser finds anything at all, so it is worked out only then.
    fn take_word(&mut self, token: Token, text: &[u8]) {
        let in_comment = token.comment_depth > 0;
        let address_wanted =
            self.clause == Clause::From && (token.bracket_depth > 0 || (in_comment && self.from_ip.is_none()));
        if address_wanted && is_address(text) {
            self.from_ip = Some(Host::Ip(token.start, token.end));
            return;
        }
        if self.found() {
            return;
        }
        match class(text) {
            Class::Domain if self.clause == Clause::From && in_comment => self.something_else = true,
            Class::Email if self.clause == Clause::From => self.something_else = true,
            Class::Integer if self.clause == Clause::Date => self.date_parts += 1,
            Class::Cipher if in_comment || !self.cipher => {
                self.cipher = true;
                self.something_else = true;
            }
            _ => (),
        }
    }

    /// Whether mail-parser would have found anything in the value (else it has no hop).
    fn found(&self) -> bool {
        self.from.is_some()
            || self.helo.is_some()
            || self.by.is_some()
            || self.from_ip.is_some()
            || self.something_else
            || self.date_parts >= DATE_PARTS
    }
}

/// What a token is to the reading: a separator, one of mail-parser's keywords, or another
/// word (whose [`Class`] is worked out only where it matters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    BracketOpen,
    AngleOpen,
    Equal,
    Colon,
    Semicolon,
    /// `] > ( ) / " ,`.
    OtherSeparator,
    Month,
    Protocol,
    Greeting,
    TlsVersion,
    By,
    For,
    From,
    Id,
    Via,
    With,
    Ident,
    Word,
}

/// The class mail-parser gives a word that is no keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// An IPv4 or IPv6 address (kept as its text: see `Host::text`).
    Ip,
    Integer,
    Email,
    Domain,
    Cipher,
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
    fn of(word: &[u8]) -> Counts {
        let mut tally = [0; Role::Colon as usize + 1];
        for &byte in word {
            if let Some(count) = tally.get_mut(role(byte) as usize) {
                *count += 1;
            }
        }
        let n = |role: Role| tally[role as usize];
        Counts {
            alpha: n(Role::Alpha) + n(Role::AlphaUpper),
            digit: n(Role::Digit),
            hex: n(Role::HexLower) + n(Role::HexUpper),
            dot: n(Role::Dot),
            at: n(Role::At),
            other: n(Role::Other) + n(Role::Underscore),
            colon: n(Role::Colon),
            plus: n(Role::Plus),
            minus: n(Role::Minus),
            utf: n(Role::Utf),
            uppercase: n(Role::AlphaUpper) + n(Role::HexUpper),
            underscore: n(Role::Underscore),
        }
    }
}

/// What a byte is to the tokenizer: the kinds of byte a word is made of and counted by (up
/// to `Colon`, numbered for a tally; digits and hex letters first, as a colon looks for
/// anything else), or what ends a word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
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

fn role(byte: u8) -> Role {
    ROLES[usize::from(byte)]
}

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

    fn text(&self, token: Token) -> &'v [u8] {
        self.value.get(token.start..token.end).unwrap_or_default()
    }

    /// The host after a keyword, skipping the separators in `skip`: an address, or the next
    /// token's text unless that is a separator (which is left to be read).
    fn host(&mut self, skip: &[Kind]) -> Option<Host> {
        while let Some(next) = self.peek() {
            match next.kind {
                kind if skip.contains(&kind) => self.skip(),
                Kind::Word if is_address(self.text(next)) => {
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

    /// A parenthesis outside quotes: the comment depth one level in or out.
    fn nest_comment(&mut self, opens: bool) -> Kind {
        if !self.in_quote {
            self.comment_depth = step(self.comment_depth, opens);
        }
        Kind::OtherSeparator
    }

    /// A square bracket outside quotes: mail-parser sets the bracket depth from the comment
    /// depth, not from the bracket depth before.
    fn nest_bracket(&mut self, opens: bool) -> Kind {
        if !self.in_quote {
            self.bracket_depth = step(self.comment_depth, opens);
        }
        if opens { Kind::BracketOpen } else { Kind::OtherSeparator }
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
        let mut start = self.pos;
        let mut colons = 0;
        let end = loop {
            let rest = self.value.get(self.pos..).unwrap_or_default();
            let end = self.pos + rest.iter().take_while(|&&b| role(b) < Role::Colon).count();
            let Some(&byte) = self.value.get(end) else {
                self.pos = end;
                break end;
            };
            self.pos = end + 1;
            let in_word = end > start;
            let separator = match role(byte) {
                Role::LineEnd => {
                    if !matches!(self.value.get(self.pos), Some(b' ' | b'\t')) {
                        self.ended = true;
                        break end;
                    }
                    self.pos += 1;
                    if in_word {
                        break end;
                    }
                    start = self.pos;
                    continue;
                }
                Role::Blank => {
                    if in_word {
                        break end;
                    }
                    start = self.pos;
                    continue;
                }
                // Part of the word while it may still be an IPv6 address.
                Role::Colon => {
                    let word = self.value.get(start..end).unwrap_or_default();
                    if !self.in_date && colons < 7 && word.iter().all(|&b| role(b) <= Role::HexUpper || b == b':') {
                        colons += 1;
                        continue;
                    }
                    Kind::Colon
                }
                Role::ParenOpen => self.nest_comment(true),
                Role::ParenClose => self.nest_comment(false),
                Role::BracketOpen => self.nest_bracket(true),
                Role::BracketClose => self.nest_bracket(false),
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
                // `> / ,` (a word's own bytes were taken above).
                _ => Kind::OtherSeparator,
            };
            self.separator = Some(separator);
            break end;
        };
        if end == start {
            return self.separator.take().map(Token::separator);
        }
        let kind = keyword(self.value.get(start..end).unwrap_or_default()).unwrap_or(Kind::Word);
        Some(Token { kind, start, end, comment_depth, bracket_depth })
    }
}

/// A nesting depth one level in (`opens`) or out from `depth`, never below 0.
fn step(depth: u32, opens: bool) -> u32 {
    if opens { depth.saturating_add(1) } else { depth.saturating_sub(1) }
}

/// A word's class, in the order mail-parser tries them (its keywords, tried between e-mail
/// addresses and domains, are never one of these).
fn class(text: &[u8]) -> Class {
    let c = &Counts::of(text);
    let digits_only = c.alpha == 0 && c.at == 0 && c.other == 0 && c.utf == 0;
    let no_sign = c.plus == 0 && c.minus == 0;
    if digits_only && (4..=12).contains(&c.digit) && c.hex == 0 && c.dot == 3 && c.colon == 0 && no_sign {
        return if parsed::<std::net::Ipv4Addr>(text).is_some() { Class::Ip } else { Class::Text };
    }
    let ipv6 = c.dot == 0 && c.colon >= 2 && ((1..=32).contains(&c.hex) || (1..=32).contains(&c.digit));
    let ipv4_in_ipv6 = (4..=12).contains(&c.digit) && c.hex == 4 && c.dot == 3 && c.colon == 3;
    if digits_only && no_sign && (ipv6 || ipv4_in_ipv6) {
        return if parsed::<std::net::Ipv6Addr>(text).is_some() { Class::Ip } else { Class::Text };
    }
    let one_sign = (c.plus == 0 && c.minus <= 1) || (c.plus == 1 && c.minus == 0);
    if digits_only && c.digit > 0 && c.hex == 0 && c.dot == 0 && c.colon == 0 && one_sign {
        return if is_i64(text) { Class::Integer } else { Class::Text };
    }
    let letters = c.alpha > 0 || c.hex > 0;
    if c.at == 1 && letters {
        return Class::Email;
    }
    if letters && c.dot > 0 && c.at == 0 && c.other == 0 && c.colon == 0 && c.plus == 0 {
        return Class::Domain;
    }
    if is_cipher(c, text) {
        return Class::Cipher;
    }
    Class::Text
}

/// Whether a word is an IPv4 or IPv6 address to mail-parser; most words fail at their first
/// letter.
fn is_address(text: &[u8]) -> bool {
    let address_bytes = |b: &u8| role(*b) <= Role::HexUpper || matches!(b, b'.' | b':');
    text.iter().all(address_bytes) && class(text) == Class::Ip
}

/// Whether a word is an e-mail address to mail-parser: one `@` (which no class tried before
/// allows) and a letter.
fn is_email(text: &[u8]) -> bool {
    text.iter().filter(|&&b| b == b'@').count() == 1 && text.iter().any(u8::is_ascii_alphabetic)
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

/// The keyword a word is, if any: mail-parser compares its letters and digits, lowered,
/// and allows no `@ + :` or byte from 0x7f.
fn keyword(text: &[u8]) -> Option<Kind> {
    // A word that starts with a letter or digit starts as a keyword does. A word longer than
    // any keyword holds punctuation, which only some keywords allow.
    let first = text.first().map_or(NEVER, |&b| SYMBOLS[usize::from(b)]);
    let starts = if text.len() > KEYWORD_MAX { STARTS_WITH_PUNCTUATION } else { STARTS };
    if first < DOT_OR_OTHER && starts & (1 << first) == 0 {
        return None;
    }
    let (mut word, mut letters) = (0, 0);
    let (mut dot_or_other, mut minus) = (false, false);
    for &byte in text {
        match SYMBOLS[usize::from(byte)] {
            DOT_OR_OTHER => dot_or_other = true,
            MINUS => minus = true,
            NEVER => return None,
            symbol => {
                letters += 1;
                if letters > KEYWORD_MAX {
                    return None;
                }
                word = word * 37 + u64::from(symbol);
            }
        }
    }
    let &(_, kind, besides) = KEYWORDS.get(KEYWORDS.binary_search_by_key(&word, |k| k.0).ok()?)?;
    let allowed = match besides {
        Besides::Nothing => !dot_or_other && !minus,
        Besides::Minus => !dot_or_other,
        Besides::Punctuation => true,
        Besides::PunctuationButMinus => !minus,
    };
    allowed.then_some(kind)
}

/// Each byte's part in a keyword: a letter (either case) or digit as a digit of base 37, from 1
/// (so that a word of up to `KEYWORD_MAX` of them makes one u64, compared in one step), or
/// the punctuation it is.
const SYMBOLS: [u8; 256] = {
    let mut symbols = [NEVER; 256];
    let mut byte = 0;
    while byte < 256 {
        let b = byte as u8;
        symbols[byte] = match ROLES[byte] {
            Role::Digit => b - b'0' + 1,
            Role::HexLower | Role::Alpha => b - b'a' + 11,
            Role::HexUpper | Role::AlphaUpper => b - b'A' + 11,
            Role::Dot | Role::Other | Role::Underscore => DOT_OR_OTHER,
            Role::Minus => MINUS,
            _ => NEVER,
        };
        byte += 1;
    }
    symbols
};
const DOT_OR_OTHER: u8 = 37;
const MINUS: u8 = 38;
/// A byte no keyword holds.
const NEVER: u8 = 39;

/// A word's letters and digits as [`keyword`] packs them.
const fn packed(word: &[u8]) -> u64 {
    let (mut key, mut i) = (0, 0);
    while i < word.len() {
        key = key * 37 + SYMBOLS[word[i] as usize] as u64;
        i += 1;
    }
    key
}

/// mail-parser's keywords (its tokenizer's table), with what else they may hold.
const KEYWORD_LIST: [(&[u8], Kind, Besides); 78] = {
    use Besides::*;
    use Kind::*;
    [
        (b"apr", Month, Nothing),
        (b"asmtp", Protocol, Nothing),
        (b"aug", Month, Nothing),
        (b"bsmtp", Protocol, Nothing),
        (b"by", By, Nothing),
        (b"dec", Month, Nothing),
        (b"dtls10", TlsVersion, PunctuationButMinus),
        (b"dtls12", TlsVersion, PunctuationButMinus),
        (b"dtls13", TlsVersion, PunctuationButMinus),
        (b"dtlsv10", TlsVersion, PunctuationButMinus),
        (b"dtlsv12", TlsVersion, PunctuationButMinus),
        (b"dtlsv13", TlsVersion, PunctuationButMinus),
        (b"ehlo", Greeting, Nothing),
        (b"esmtp", Protocol, Nothing),
        (b"esmtpa", Protocol, Nothing),
        (b"esmtps", Protocol, Nothing),
        (b"esmtpsa", Protocol, Nothing),
        (b"esmtptls", Protocol, Minus),
        (b"feb", Month, Nothing),
        (b"for", For, Nothing),
        (b"from", From, Nothing),
        (b"helo", Greeting, Nothing),
        (b"http", Protocol, Nothing),
        (b"httprest", Protocol, Nothing),
        (b"https", Protocol, Nothing),
        (b"httpu", Protocol, Nothing),
        (b"id", Id, Nothing),
        (b"ident", Ident, Nothing),
        (b"imap", Protocol, Nothing),
        (b"jan", Month, Nothing),
        (b"jul", Month, Nothing),
        (b"jun", Month, Nothing),
        (b"lhlo", Greeting, Nothing),
        (b"lmtp", Protocol, Nothing),
        (b"lmtpa", Protocol, Nothing),
        (b"lmtps", Protocol, Nothing),
        (b"lmtpsa", Protocol, Nothing),
        (b"local", Protocol, Nothing),
        (b"localbsmtp", Protocol, Minus),
        (b"localesmtp", Protocol, Minus),
        (b"localesmtps", Protocol, Minus),
        (b"lsmtp", Protocol, Nothing),
        (b"mar", Month, Nothing),
        (b"may", Month, Nothing),
        (b"mms", Protocol, Nothing),
        (b"nov", Month, Nothing),
        (b"oct", Month, Nothing),
        (b"pop3", Protocol, Nothing),
        (b"sep", Month, Nothing),
        (b"smtp", Protocol, Nothing),
        (b"smtpd", Protocol, Nothing),
        (b"smtpsvc", Protocol, Nothing),
        (b"socket", Protocol, Nothing),
        (b"ssl2", TlsVersion, Nothing),
        (b"ssl3", TlsVersion, Nothing),
        (b"sslv2", TlsVersion, Nothing),
        (b"sslv3", TlsVersion, Nothing),
        (b"stdin", Protocol, Nothing),
        (b"tls1", TlsVersion, Nothing),
        (b"tls10", TlsVersion, Punctuation),
        (b"tls11", TlsVersion, Punctuation),
        (b"tls12", TlsVersion, Punctuation),
        (b"tls13", TlsVersion, Punctuation),
        (b"tlsv1", TlsVersion, Nothing),
        (b"tlsv10", TlsVersion, PunctuationButMinus),
        (b"tlsv11", TlsVersion, PunctuationButMinus),
        (b"tlsv12", TlsVersion, PunctuationButMinus),
        (b"tlsv13", TlsVersion, PunctuationButMinus),
        (b"utf8lmtp", Protocol, Nothing),
        (b"utf8lmtpa", Protocol, Nothing),
        (b"utf8lmtps", Protocol, Nothing),
        (b"utf8lmtpsa", Protocol, Nothing),
        (b"utf8smtp", Protocol, Nothing),
        (b"utf8smtpa", Protocol, Nothing),
        (b"utf8smtps", Protocol, Nothing),
        (b"utf8smtpsa", Protocol, Nothing),
        (b"via", Via, Nothing),
        (b"with", With, Nothing),
    ]
};

/// The keywords packed, and sorted for a binary search.
const KEYWORDS: [(u64, Kind, Besides); 78] = {
    let mut table = [(0, Kind::Word, Besides::Nothing); 78];
    let mut i = 0;
    while i < table.len() {
        let (word, kind, besides) = KEYWORD_LIST[i];
        table[i] = (packed(word), kind, besides);
        i += 1;
    }
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

/// The first letters of the keywords, and of those that may hold punctuation, as sets of
/// symbols.
const STARTS: u64 = first_symbols(false);
const STARTS_WITH_PUNCTUATION: u64 = first_symbols(true);

const fn first_symbols(punctuated_only: bool) -> u64 {
    let (mut set, mut i) = (0u64, 0);
    while i < KEYWORD_LIST.len() {
        let (word, _, besides) = KEYWORD_LIST[i];
        if !punctuated_only || !matches!(besides, Besides::Nothing) {
            set |= 1 << SYMBOLS[word[0] as usize];
        }
        i += 1;
    }
    set
}

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
        assert!(KEYWORD_LIST.iter().all(|k| k.0.len() <= KEYWORD_MAX && k.0.iter().all(u8::is_ascii_alphanumeric)));
        assert!(packed(b"zzzzzzzzzzz") < u64::MAX / 37, "no overflow");
    }

    /// Every keyword, in capitals and with punctuation inside, where its class shows.
    #[test]
    fn the_keywords_are_classed_as_mail_parser_classes_them() {
        let templates: [&[u8]; 8] =
            [b"with #", b"(#)", b"; 1 # 3 4 5 6", b"# x", b"from x (# y) by z", b"# <a@b>", b"(a # b)", b"#"];
        for (word, ..) in KEYWORD_LIST {
            let (start, end) = word.split_at(word.len() / 2);
            let forms = [
                word.to_vec(),
                word.to_ascii_uppercase(),
                [start, b"-", end].concat(),
                [start, b".", end].concat(),
                [start, b"_", end].concat(),
                [start, b"_-", end].concat(),
                [start, b"@", end].concat(),
                [start, b"\x01!", end].concat(),
                [start, "é".as_bytes(), end].concat(),
                [start, b"+", end].concat(),
                [word, &b"x"[..]].concat(),
                // Longer than any keyword: punctuation first, inside, last.
                [&b"-.-.-.-.-.-."[..], word].concat(),
                [start, b"_._._._._._.", end].concat(),
                [word, &b"------------"[..]].concat(),
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
