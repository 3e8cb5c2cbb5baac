//! STIX Patterning (STIX 2.1 specification, section 9): a lexer and a
//! recursive-descent parser that turn a pattern into an [`ObservationExpr`]
//! tree, plus the semantic checks the Python reference (`stix2-patterns` and
//! `stix2-validator`'s `patterns` MUST check) applies.
//!
//! The lexer reproduces the ANTLR grammar `STIXPattern.g4` exactly (longest
//! match, earlier rule wins ties), so what is and is not a token matches the
//! reference: keywords are upper-case only, `true`/`false` lower-case only,
//! strings are single-quoted with only `\'` and `\\` escapes, `b'…'` must be
//! padded base64, `h'…'` an even number of hex digits and `t'…'` a
//! `YYYY-MM-DDTHH:MM:SS[.s+]Z` timestamp. Whitespace, `/* … */` and `// …`
//! comments are skipped.
//!
//! * [`parse_pattern`] / [`parse_pattern_version`] check the grammar only.
//! * [`validate_pattern`] also applies the checks that make the reference
//!   validator reject a pattern whose grammar is fine (hash literal formats,
//!   duplicate qualifiers, object type and property names, …).
//!
//! Hostile input never panics and never recurses without bound: nesting of
//! parentheses and brackets, and the height of the resulting tree, are capped
//! at [`MAX_DEPTH`]. Lexing is linear in the input length; capping the length
//! is the caller's job.

use std::fmt;

/// Deepest nesting accepted, counted both as nested `(`/`[` groups while
/// parsing and as the height of the resulting tree (qualifiers and `AND`/`OR`
/// groups each add one level).
pub const MAX_DEPTH: usize = 64;

/// Which edition of the patterning grammar to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternVersion {
    /// STIX 2.0: no `EXISTS` operator (the word is an ordinary identifier)
    /// and no duplicate-qualifier check.
    V20,
    /// STIX 2.1.
    V21,
}

// ---------------------------------------------------------------------------
// AST
// ---------------------------------------------------------------------------

/// A parsed pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub expression: ObservationExpr,
}

/// An observation expression. `And`, `Or` and `FollowedBy` hold two or more
/// operands of one unparenthesised chain (`a AND b AND c` is one `And` of
/// three); a parenthesised group stays a nested node.
#[derive(Debug, Clone, PartialEq)]
pub enum ObservationExpr {
    /// `[ comparison-expression ]`
    Observation(ComparisonExpr),
    And(Vec<ObservationExpr>),
    Or(Vec<ObservationExpr>),
    FollowedBy(Vec<ObservationExpr>),
    /// An expression followed by one qualifier; several qualifiers nest, the
    /// innermost being the one written first.
    Qualified(Box<ObservationExpr>, Qualifier),
}

/// A qualifier on an observation expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Qualifier {
    /// `WITHIN n SECONDS` (an integer or decimal literal, never negative).
    Within(f64),
    /// `REPEATS n TIMES`. Counts beyond `u64::MAX` saturate.
    Repeats(u64),
    /// `START t'…' STOP t'…'`: the two timestamps without the `t'`/`'`.
    StartStop(String, String),
}

/// A comparison expression inside `[ … ]`. Chains are flattened like
/// [`ObservationExpr`]'s; parentheses leave no node of their own.
#[derive(Debug, Clone, PartialEq)]
pub enum ComparisonExpr {
    And(Vec<ComparisonExpr>),
    Or(Vec<ComparisonExpr>),
    Comparison(Comparison),
}

/// One property test, e.g. `file:name NOT = 'x'` or `EXISTS file:name`.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub path: ObjectPath,
    /// `NOT` was written (`path NOT op value`, or `NOT EXISTS path`).
    pub negated: bool,
    pub op: Op,
    /// The right-hand side; `None` exactly when `op` is [`Op::Exists`].
    pub value: Option<Literal>,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// `=` or `==`
    Eq,
    /// `!=` or `<>`
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Like,
    Matches,
    IsSubset,
    IsSuperset,
    /// STIX 2.1 only.
    Exists,
}

/// `object-type:first.step[0][*]…`
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectPath {
    pub object_type: String,
    /// The first component is always a [`PathComponent::Property`].
    pub components: Vec<PathComponent>,
}

/// One step of an [`ObjectPath`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum PathComponent {
    /// A property or dictionary key (quoted keys are unescaped).
    Property(String),
    /// `[n]`; indexes beyond `u64::MAX` saturate. Negative indexes are
    /// refused (the reference crashes on them).
    Index(u64),
    /// `[*]`
    AnyIndex,
}

/// A literal on the right-hand side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// The unescaped content of `'…'`.
    String(String),
    /// An integer literal. One too large for `i64` becomes [`Literal::Float`].
    Int(i64),
    Float(f64),
    Bool(bool),
    /// The base64 text inside `b'…'` (already checked to be valid padded
    /// base64).
    Binary(String),
    /// The hex digits inside `h'…'` (an even number of them).
    Hex(String),
    /// The timestamp inside `t'…'`.
    Timestamp(String),
    /// `( a, b, … )`, the operand of `IN`; its members are never sets.
    Set(Vec<Literal>),
}

impl Pattern {
    /// Every comparison in the pattern, in source order.
    pub fn comparisons(&self) -> Vec<&Comparison> {
        let mut out = Vec::new();
        self.expression.collect_comparisons(&mut out);
        out
    }
}

impl ObservationExpr {
    fn collect_comparisons<'a>(&'a self, out: &mut Vec<&'a Comparison>) {
        match self {
            ObservationExpr::Observation(c) => c.collect_comparisons(out),
            ObservationExpr::And(v) | ObservationExpr::Or(v) | ObservationExpr::FollowedBy(v) => {
                v.iter().for_each(|e| e.collect_comparisons(out))
            }
            ObservationExpr::Qualified(e, _) => e.collect_comparisons(out),
        }
    }
}

impl ComparisonExpr {
    fn collect_comparisons<'a>(&'a self, out: &mut Vec<&'a Comparison>) {
        match self {
            ComparisonExpr::And(v) | ComparisonExpr::Or(v) => {
                v.iter().for_each(|e| e.collect_comparisons(out))
            }
            ComparisonExpr::Comparison(c) => out.push(c),
        }
    }
}

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// What kind of problem a [`PatternError`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PatternErrorKind {
    /// The text does not follow the patterning grammar.
    Syntax,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// The grammar is fine but a semantic rule is broken (only reported by
    /// [`validate_pattern`]).
    Invalid,
}

/// Why a pattern was refused: a message and the byte offset it refers to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at offset {offset}")]
pub struct PatternError {
    pub kind: PatternErrorKind,
    /// Byte offset into the pattern text.
    pub offset: usize,
    pub message: String,
}

impl PatternError {
    fn new(kind: PatternErrorKind, offset: usize, message: impl Into<String>) -> Self {
        PatternError {
            kind,
            offset,
            message: message.into(),
        }
    }
}

// ---------------------------------------------------------------------------
// Public entry points
// ---------------------------------------------------------------------------

/// Parse a STIX 2.1 pattern (grammar only; see [`validate_pattern`]).
pub fn parse_pattern(input: &str) -> Result<Pattern, PatternError> {
    parse_pattern_version(input, PatternVersion::V21)
}

/// Parse a pattern against the grammar of `version` (grammar only).
pub fn parse_pattern_version(
    input: &str,
    version: PatternVersion,
) -> Result<Pattern, PatternError> {
    run(input, version, false)
}

/// Parse a pattern and apply the semantic checks that make the reference
/// validator (`stix2-patterns` plus `stix2-validator`'s `patterns` MUST
/// check) reject it:
///
/// * the pattern must begin with `[` after any `(` and whitespace (a leading
///   comment is refused);
/// * a comparison whose path contains a `hashes` component and ends in a
///   known algorithm name (`MD5`, `SHA-1`, `SHA-256`, `SHA3-512`, `SSDEEP`,
///   …; compared upper-cased without `-`) must compare against a literal of
///   that algorithm's format;
/// * (2.1 only) the same kind of qualifier may not appear twice directly on
///   one `[ … ]` observation;
/// * each compared object type is one of the 18 STIX 2.1 cyber-observable
///   types or matches `^-?[a-z0-9]+(-[a-z0-9]+)*-?$` with 3 to 250
///   characters, and each first path component matches `^[a-z0-9_]{3,250}$`
///   (or is `id` on one of the 18 types);
/// * (2.0 only) `EXISTS` may not be used as a name, because the reference
///   re-parses 2.0 patterns with the 2.1 grammar for the checks above.
///
/// Like the reference, paths used with `EXISTS` are not name- or
/// hash-checked. Grammar errors are reported before semantic ones.
pub fn validate_pattern(input: &str, version: PatternVersion) -> Result<Pattern, PatternError> {
    run(input, version, true)
}

fn run(input: &str, version: PatternVersion, validate: bool) -> Result<Pattern, PatternError> {
    let tokens = Lexer::new(input, version).tokenize();
    let mut parser = Parser {
        src: input,
        toks: tokens,
        pos: 0,
        depth: 0,
        version,
        issues: Vec::new(),
    };
    let (expression, _) = parser.observation_expressions()?;
    parser.expect(
        Tok::Eof,
        "an observation operator (AND, OR, FOLLOWEDBY), a qualifier or the end of the pattern",
    )?;
    if validate {
        if let Some(offset) = missing_leading_bracket(input) {
            return Err(PatternError::new(
                PatternErrorKind::Invalid,
                offset,
                "the pattern must begin with '[' (after any '(' and whitespace); a comment may not come first",
            ));
        }
        if version == PatternVersion::V20 {
            // The reference re-parses 2.0 patterns with the 2.1 grammar for
            // its name checks, where EXISTS is a keyword.
            if let Some(t) = parser
                .toks
                .iter()
                .find(|t| t.kind == Tok::Ident && &input[t.start..t.end] == "EXISTS")
            {
                return Err(PatternError::new(
                    PatternErrorKind::Invalid,
                    t.start,
                    "EXISTS is a keyword in STIX 2.1 patterning and cannot be used as a name",
                ));
            }
        }
        if let Some(first) = parser.issues.into_iter().next() {
            return Err(first);
        }
    }
    Ok(Pattern { expression })
}

/// The reference's `brackets_check`: skipping `(` and whitespace, the first
/// character must be `[`. For text that parsed, only a comment can break it.
fn missing_leading_bracket(input: &str) -> Option<usize> {
    for (i, c) in input.char_indices() {
        if c == '(' || is_ws(c) {
            continue;
        }
        return if c == '[' { None } else { Some(i) };
    }
    Some(input.len())
}

// ---------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    IntNeg,
    IntPos,
    FloatNeg,
    FloatPos,
    Hex,
    Binary,
    Str,
    Bool,
    Timestamp,
    And,
    Or,
    Not,
    FollowedBy,
    Like,
    Matches,
    IsSuperset,
    IsSubset,
    Exists,
    Last,
    In,
    Start,
    Stop,
    Seconds,
    Within,
    Repeats,
    Times,
    Ident,
    IdentHyphen,
    Eq,
    Neq,
    Lt,
    Le,
    Gt,
    Ge,
    Quote,
    Colon,
    Dot,
    Comma,
    RParen,
    LParen,
    RBrack,
    LBrack,
    Plus,
    Hyphen,
    PowerOp,
    Divide,
    Asterisk,
    Invalid,
    /// Whitespace or a comment: matched, then dropped.
    Skip,
    Eof,
}

#[derive(Debug, Clone, Copy)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

/// Keywords in grammar order (`TRUE`/`FALSE` are left out: the earlier
/// `BoolLiteral` rule always wins over them).
const KEYWORDS: [(&str, Tok); 17] = [
    ("AND", Tok::And),
    ("OR", Tok::Or),
    ("NOT", Tok::Not),
    ("FOLLOWEDBY", Tok::FollowedBy),
    ("LIKE", Tok::Like),
    ("MATCHES", Tok::Matches),
    ("ISSUPERSET", Tok::IsSuperset),
    ("ISSUBSET", Tok::IsSubset),
    ("EXISTS", Tok::Exists),
    ("LAST", Tok::Last),
    ("IN", Tok::In),
    ("START", Tok::Start),
    ("STOP", Tok::Stop),
    ("SECONDS", Tok::Seconds),
    ("WITHIN", Tok::Within),
    ("REPEATS", Tok::Repeats),
    ("TIMES", Tok::Times),
];

/// The grammar's `WS` character set.
fn is_ws(c: char) -> bool {
    matches!(
        c,
        ' ' | '\t'
            | '\r'
            | '\n'
            | '\u{0B}'
            | '\u{0C}'
            | '\u{85}'
            | '\u{A0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200A}' | '\u{2028}' | '\u{2029}' | '\u{202F}' | '\u{205F}' | '\u{3000}'
    )
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/'
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

struct Lexer<'a> {
    src: &'a str,
    b: &'a [u8],
    version: PatternVersion,
    /// Memo for digit runs: the run containing `digits_from` ends at
    /// `digits_to` (keeps repeated float attempts on long digit runs linear).
    digits_from: usize,
    digits_to: usize,
    /// A string literal starting before this offset is known not to close.
    string_dead_until: usize,
    /// No `*/` follows this offset: block comments starting later fail.
    comment_dead_from: Option<usize>,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str, version: PatternVersion) -> Self {
        Lexer {
            src,
            b: src.as_bytes(),
            version,
            digits_from: usize::MAX,
            digits_to: 0,
            string_dead_until: 0,
            comment_dead_from: None,
        }
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn tokenize(mut self) -> Vec<Token> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < self.b.len() {
            let (len, kind) = self.longest_match(i);
            if kind != Tok::Skip {
                out.push(Token {
                    kind,
                    start: i,
                    end: i + len,
                });
            }
            i += len;
        }
        out.push(Token {
            kind: Tok::Eof,
            start: self.b.len(),
            end: self.b.len(),
        });
        out
    }

    /// End of the run of ASCII digits starting at `j` (`j` itself if none).
    fn digits_end(&mut self, j: usize) -> usize {
        if j >= self.digits_from && j < self.digits_to {
            return self.digits_to;
        }
        let mut k = j;
        while self.at(k).is_some_and(|c| c.is_ascii_digit()) {
            k += 1;
        }
        if k > j {
            self.digits_from = j;
            self.digits_to = k;
        }
        k
    }

    /// `'0' | [1-9][0-9]*` at `j`: its end.
    fn unsigned_int(&mut self, j: usize) -> Option<usize> {
        match self.at(j)? {
            b'0' => Some(j + 1),
            b'1'..=b'9' => Some(self.digits_end(j)),
            _ => None,
        }
    }

    /// `[0-9]* '.' [0-9]+` at `j`: its end.
    fn unsigned_float(&mut self, j: usize) -> Option<usize> {
        let k = self.digits_end(j);
        if self.at(k) != Some(b'.') {
            return None;
        }
        let e = self.digits_end(k + 1);
        (e > k + 1).then_some(e)
    }

    fn string_at(&mut self, i: usize) -> Option<usize> {
        if self.at(i) != Some(b'\'') || i < self.string_dead_until {
            return None;
        }
        let mut k = i + 1;
        loop {
            match self.at(k) {
                None => break,
                Some(b'\'') => return Some(k + 1),
                Some(b'\\') => match self.at(k + 1) {
                    Some(b'\'' | b'\\') => k += 2,
                    _ => break,
                },
                Some(_) => k += 1,
            }
        }
        // Any quote between here and the failure point is the second half of
        // an escape, so a string starting there fails the same way.
        self.string_dead_until = k.max(i + 1);
        None
    }

    fn hex_at(&self, i: usize) -> Option<usize> {
        if self.at(i) != Some(b'h') || self.at(i + 1) != Some(b'\'') {
            return None;
        }
        let mut k = i + 2;
        while self.at(k).is_some_and(|c| c.is_ascii_hexdigit())
            && self.at(k + 1).is_some_and(|c| c.is_ascii_hexdigit())
        {
            k += 2;
        }
        (self.at(k) == Some(b'\'')).then_some(k + 1)
    }

    fn binary_at(&self, i: usize) -> Option<usize> {
        if self.at(i) != Some(b'b') || self.at(i + 1) != Some(b'\'') {
            return None;
        }
        let mut k = i + 2;
        while self.at(k).is_some_and(is_b64) {
            k += 1;
        }
        let n = k - (i + 2);
        let mut pad = 0;
        while pad < 2 && self.at(k) == Some(b'=') {
            k += 1;
            pad += 1;
        }
        let ok = match pad {
            0 => n > 0 && n.is_multiple_of(4),
            1 => n % 4 == 3,
            _ => n % 4 == 2,
        };
        (ok && self.at(k) == Some(b'\'')).then_some(k + 1)
    }

    fn timestamp_at(&mut self, i: usize) -> Option<usize> {
        if self.at(i) != Some(b't') || self.at(i + 1) != Some(b'\'') {
            return None;
        }
        let d = |k: usize| self.at(k).filter(u8::is_ascii_digit);
        let lit = |k: usize, c: u8| self.at(k) == Some(c);
        let mut k = i + 2;
        // YYYY-
        for _ in 0..4 {
            d(k)?;
            k += 1;
        }
        lit(k, b'-').then_some(())?;
        // MM: 0[1-9] | 1[012]
        match (self.at(k + 1)?, self.at(k + 2)?) {
            (b'0', b'1'..=b'9') | (b'1', b'0'..=b'2') => {}
            _ => return None,
        }
        lit(k + 3, b'-').then_some(())?;
        // DD: 0[1-9] | [12][0-9] | 3[01]
        match (self.at(k + 4)?, self.at(k + 5)?) {
            (b'0', b'1'..=b'9') | (b'1' | b'2', b'0'..=b'9') | (b'3', b'0' | b'1') => {}
            _ => return None,
        }
        lit(k + 6, b'T').then_some(())?;
        // hh: [01][0-9] | 2[0-3]
        match (self.at(k + 7)?, self.at(k + 8)?) {
            (b'0' | b'1', b'0'..=b'9') | (b'2', b'0'..=b'3') => {}
            _ => return None,
        }
        lit(k + 9, b':').then_some(())?;
        // mm: [0-5][0-9]
        match (self.at(k + 10)?, self.at(k + 11)?) {
            (b'0'..=b'5', b'0'..=b'9') => {}
            _ => return None,
        }
        lit(k + 12, b':').then_some(())?;
        // ss: [0-5][0-9] | 60
        match (self.at(k + 13)?, self.at(k + 14)?) {
            (b'0'..=b'5', b'0'..=b'9') | (b'6', b'0') => {}
            _ => return None,
        }
        k += 15;
        if lit(k, b'.') {
            let e = self.digits_end(k + 1);
            if e == k + 1 {
                return None;
            }
            k = e;
        }
        (self.at(k) == Some(b'Z') && self.at(k + 1) == Some(b'\'')).then_some(k + 2)
    }

    fn ident_at(&self, i: usize, hyphen: bool) -> Option<usize> {
        if !self.at(i).is_some_and(is_ident_start) {
            return None;
        }
        let mut k = i + 1;
        while self
            .at(k)
            .is_some_and(|c| is_ident_char(c) || (hyphen && c == b'-'))
        {
            k += 1;
        }
        Some(k)
    }

    fn block_comment_at(&mut self, i: usize) -> Option<usize> {
        if !self.src[i..].starts_with("/*") {
            return None;
        }
        if self.comment_dead_from.is_some_and(|d| i >= d) {
            return None;
        }
        match self.src[i + 2..].find("*/") {
            Some(p) => Some(i + 2 + p + 2),
            None => {
                self.comment_dead_from = Some(i);
                None
            }
        }
    }

    /// ANTLR semantics: the longest match wins; on equal length the rule
    /// listed first in the grammar wins. Returns (length, kind).
    fn longest_match(&mut self, i: usize) -> (usize, Tok) {
        let mut best = (0usize, Tok::Invalid);
        let mut consider = |end: Option<usize>, kind: Tok| {
            if let Some(end) = end
                && end - i > best.0
            {
                best = (end - i, kind);
            }
        };
        let c = self.b[i];
        // Numbers.
        if c == b'-' {
            let e = self.unsigned_int(i + 1);
            consider(e, Tok::IntNeg);
        }
        if c == b'+' || c.is_ascii_digit() {
            let j = if c == b'+' { i + 1 } else { i };
            let e = self.unsigned_int(j);
            consider(e, Tok::IntPos);
        }
        if c == b'-' {
            let e = self.unsigned_float(i + 1);
            consider(e, Tok::FloatNeg);
        }
        if c == b'+' || c == b'.' || c.is_ascii_digit() {
            let j = if c == b'+' { i + 1 } else { i };
            let e = self.unsigned_float(j);
            consider(e, Tok::FloatPos);
        }
        // Prefixed literals, strings, booleans.
        if c == b'h' {
            consider(self.hex_at(i), Tok::Hex);
        }
        if c == b'b' {
            consider(self.binary_at(i), Tok::Binary);
        }
        if c == b'\'' {
            let e = self.string_at(i);
            consider(e, Tok::Str);
        }
        let rest = &self.src[i..];
        if rest.starts_with("true") {
            consider(Some(i + 4), Tok::Bool);
        } else if rest.starts_with("false") {
            consider(Some(i + 5), Tok::Bool);
        }
        if c == b't' {
            let e = self.timestamp_at(i);
            consider(e, Tok::Timestamp);
        }
        // Keywords, then identifiers.
        if c.is_ascii_uppercase() {
            for (word, kind) in KEYWORDS {
                if kind == Tok::Exists && self.version == PatternVersion::V20 {
                    continue;
                }
                if rest.starts_with(word) {
                    consider(Some(i + word.len()), kind);
                }
            }
        }
        consider(self.ident_at(i, false), Tok::Ident);
        consider(self.ident_at(i, true), Tok::IdentHyphen);
        // Operators and punctuation.
        let two = |s: &str| rest.starts_with(s).then_some(i + 2);
        let one = |ch: u8| (c == ch).then_some(i + 1);
        consider(two("==").or(one(b'=')), Tok::Eq);
        consider(two("!=").or(two("<>")), Tok::Neq);
        consider(one(b'<'), Tok::Lt);
        consider(two("<="), Tok::Le);
        consider(one(b'>'), Tok::Gt);
        consider(two(">="), Tok::Ge);
        for (ch, kind) in [
            (b'\'', Tok::Quote),
            (b':', Tok::Colon),
            (b'.', Tok::Dot),
            (b',', Tok::Comma),
            (b')', Tok::RParen),
            (b'(', Tok::LParen),
            (b']', Tok::RBrack),
            (b'[', Tok::LBrack),
            (b'+', Tok::Plus),
            (b'-', Tok::Hyphen),
            (b'^', Tok::PowerOp),
            (b'/', Tok::Divide),
            (b'*', Tok::Asterisk),
        ] {
            consider(one(ch), kind);
        }
        // Whitespace and comments.
        let mut ws_end = i;
        for (off, ch) in rest.char_indices() {
            if !is_ws(ch) {
                break;
            }
            ws_end = i + off + ch.len_utf8();
        }
        if ws_end > i {
            consider(Some(ws_end), Tok::Skip);
        }
        if c == b'/' {
            let e = self.block_comment_at(i);
            consider(e, Tok::Skip);
            if rest.starts_with("//") {
                let e = rest.find(['\r', '\n']).unwrap_or(rest.len());
                consider(Some(i + e), Tok::Skip);
            }
        }
        if best.0 == 0 {
            // InvalidCharacter: exactly one character.
            let len = rest.chars().next().map_or(1, char::len_utf8);
            best = (len, Tok::Invalid);
        }
        best
    }
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

use crate::kind::SCO_TYPES;

/// Words that cannot be written as bare property names.
const RESERVED: [&str; 19] = [
    "AND",
    "OR",
    "NOT",
    "FOLLOWEDBY",
    "LIKE",
    "MATCHES",
    "ISSUPERSET",
    "ISSUBSET",
    "EXISTS",
    "LAST",
    "IN",
    "START",
    "STOP",
    "SECONDS",
    "WITHIN",
    "REPEATS",
    "TIMES",
    "true",
    "false",
];

type Parsed<T> = Result<(T, usize), PatternError>;

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
    depth: usize,
    version: PatternVersion,
    /// Semantic problems found on the way, in source order.
    issues: Vec<PatternError>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum QualKind {
    Within,
    Repeats,
    StartStop,
}

impl QualKind {
    fn name(self) -> &'static str {
        match self {
            QualKind::Within => "WITHIN",
            QualKind::Repeats => "REPEATS",
            QualKind::StartStop => "START/STOP",
        }
    }
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Token {
        self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn kind(&self) -> Tok {
        self.peek().kind
    }

    fn advance(&mut self) -> Token {
        let t = self.peek();
        if t.kind != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn eat(&mut self, kind: Tok) -> bool {
        if self.kind() == kind {
            self.advance();
            true
        } else {
            false
        }
    }

    fn text(&self, t: Token) -> &'a str {
        &self.src[t.start..t.end]
    }

    fn expect(&mut self, kind: Tok, what: &str) -> Result<Token, PatternError> {
        if self.kind() == kind {
            Ok(self.advance())
        } else {
            Err(self.unexpected(what))
        }
    }

    /// "expected X but found Y", with a hint for common mistakes.
    fn unexpected(&self, what: &str) -> PatternError {
        let t = self.peek();
        let found = if t.kind == Tok::Eof {
            "the end of the pattern".to_string()
        } else {
            let text = self.text(t);
            let shown: String = text.chars().take(40).collect();
            let ellipsis = if shown.len() < text.len() { "…" } else { "" };
            format!("'{shown}{ellipsis}'")
        };
        let hint = self.hint(t);
        PatternError::new(
            PatternErrorKind::Syntax,
            t.start,
            format!("expected {what} but found {found}{hint}"),
        )
    }

    fn hint(&self, t: Token) -> String {
        let text = self.text(t);
        let next = self.toks.get(self.pos + 1).copied();
        let glued_quote =
            next.is_some_and(|n| n.start == t.end && matches!(n.kind, Tok::Str | Tok::Quote));
        match t.kind {
            Tok::Ident | Tok::IdentHyphen => {
                let upper = text.to_ascii_uppercase();
                if text == "EXISTS" && self.version == PatternVersion::V20 {
                    "; EXISTS is not part of STIX 2.0 patterning".into()
                } else if text != upper && KEYWORDS.iter().any(|(w, _)| *w == upper) {
                    format!("; keywords are upper-case only ('{upper}')")
                } else if upper == "TRUE" || upper == "FALSE" {
                    format!(
                        "; booleans are lower-case only ('{}')",
                        text.to_ascii_lowercase()
                    )
                } else if glued_quote && text == "b" {
                    "; a b'…' literal must be padded base64".into()
                } else if glued_quote && text == "h" {
                    "; an h'…' literal must hold an even number of hex digits".into()
                } else if glued_quote && text == "t" {
                    "; a t'…' literal must be a timestamp like t'2016-01-01T00:00:00Z'".into()
                } else {
                    String::new()
                }
            }
            Tok::Quote => {
                "; a string literal must end with ' and may only use the escapes \\' and \\\\"
                    .into()
            }
            Tok::Invalid if text == "\"" => "; string literals use single quotes".into(),
            _ => String::new(),
        }
    }

    fn enter(&mut self, offset: usize) -> Result<(), PatternError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(PatternError::new(
                PatternErrorKind::TooDeep,
                offset,
                format!("parentheses and brackets nest deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    fn check_height(height: usize, offset: usize) -> Result<(), PatternError> {
        if height > MAX_DEPTH {
            return Err(PatternError::new(
                PatternErrorKind::TooDeep,
                offset,
                format!("the pattern nests deeper than {MAX_DEPTH} levels"),
            ));
        }
        Ok(())
    }

    fn issue(&mut self, offset: usize, message: String) {
        self.issues.push(PatternError::new(
            PatternErrorKind::Invalid,
            offset,
            message,
        ));
    }

    // observationExpressions: FOLLOWEDBY < OR < AND < qualifiers.

    fn observation_expressions(&mut self) -> Parsed<ObservationExpr> {
        self.observation_chain(0)
    }

    /// Level 0: FOLLOWEDBY, 1: OR, 2: AND, then qualified atoms.
    fn observation_chain(&mut self, level: u8) -> Parsed<ObservationExpr> {
        if level == 3 {
            return self.observation_qualified();
        }
        let op = [Tok::FollowedBy, Tok::Or, Tok::And][usize::from(level)];
        let start = self.peek().start;
        let (first, mut height) = self.observation_chain(level + 1)?;
        if self.kind() != op {
            return Ok((first, height));
        }
        let mut items = vec![first];
        while self.eat(op) {
            let (e, h) = self.observation_chain(level + 1)?;
            height = height.max(h);
            items.push(e);
        }
        height += 1;
        Self::check_height(height, start)?;
        let node = match level {
            0 => ObservationExpr::FollowedBy(items),
            1 => ObservationExpr::Or(items),
            _ => ObservationExpr::And(items),
        };
        Ok((node, height))
    }

    fn observation_qualified(&mut self) -> Parsed<ObservationExpr> {
        let t = self.peek();
        let (mut expr, mut height, simple) = match t.kind {
            Tok::LBrack => {
                self.advance();
                self.enter(t.start)?;
                let (c, h) = self.comparison_chain(false)?;
                self.expect(Tok::RBrack, "']' (or AND/OR inside the brackets)")?;
                self.leave();
                Self::check_height(h + 1, t.start)?;
                (ObservationExpr::Observation(c), h + 1, true)
            }
            Tok::LParen => {
                self.advance();
                self.enter(t.start)?;
                let (e, h) = self.observation_expressions()?;
                self.expect(
                    Tok::RParen,
                    "')' or an observation operator (AND, OR, FOLLOWEDBY)",
                )?;
                self.leave();
                (e, h, false)
            }
            _ => return Err(self.unexpected("'[' or '('")),
        };
        let mut seen: Vec<QualKind> = Vec::new();
        loop {
            let q = self.peek();
            let (qualifier, kind) = match q.kind {
                Tok::Within => {
                    self.advance();
                    let n = self.peek();
                    let seconds = match n.kind {
                        Tok::IntPos | Tok::FloatPos => {
                            self.advance();
                            parse_f64(self.text(n))
                        }
                        _ => {
                            return Err(
                                self.unexpected("a non-negative number of seconds after WITHIN")
                            );
                        }
                    };
                    self.expect(Tok::Seconds, "SECONDS")?;
                    (Qualifier::Within(seconds), QualKind::Within)
                }
                Tok::Repeats => {
                    self.advance();
                    let n = self.expect(Tok::IntPos, "a non-negative integer after REPEATS")?;
                    let count = parse_u64_saturating(self.text(n));
                    self.expect(Tok::Times, "TIMES")?;
                    (Qualifier::Repeats(count), QualKind::Repeats)
                }
                Tok::Start => {
                    self.advance();
                    let a = self.expect(Tok::Timestamp, "a timestamp literal t'…' after START")?;
                    self.expect(Tok::Stop, "STOP")?;
                    let b = self.expect(Tok::Timestamp, "a timestamp literal t'…' after STOP")?;
                    let (a, b) = (
                        quoted_inner(&self.text(a)[1..]),
                        quoted_inner(&self.text(b)[1..]),
                    );
                    (
                        Qualifier::StartStop(a.to_string(), b.to_string()),
                        QualKind::StartStop,
                    )
                }
                _ => break,
            };
            if simple && self.version == PatternVersion::V21 {
                if seen.contains(&kind) {
                    self.issue(
                        q.start,
                        format!(
                            "duplicate {} qualifier on one observation (group it in parentheses)",
                            kind.name()
                        ),
                    );
                }
                seen.push(kind);
            }
            height += 1;
            Self::check_height(height, q.start)?;
            expr = ObservationExpr::Qualified(Box::new(expr), qualifier);
        }
        Ok((expr, height))
    }

    /// comparisonExpression (`and == false`: OR level) /
    /// comparisonExpressionAnd (`and == true`).
    fn comparison_chain(&mut self, and: bool) -> Parsed<ComparisonExpr> {
        let start = self.peek().start;
        let op = if and { Tok::And } else { Tok::Or };
        let (first, mut height) = if and {
            self.prop_test()?
        } else {
            self.comparison_chain(true)?
        };
        if self.kind() != op {
            return Ok((first, height));
        }
        let mut items = vec![first];
        while self.eat(op) {
            let (e, h) = if and {
                self.prop_test()?
            } else {
                self.comparison_chain(true)?
            };
            height = height.max(h);
            items.push(e);
        }
        height += 1;
        Self::check_height(height, start)?;
        Ok((
            if and {
                ComparisonExpr::And(items)
            } else {
                ComparisonExpr::Or(items)
            },
            height,
        ))
    }

    fn prop_test(&mut self) -> Parsed<ComparisonExpr> {
        let t = self.peek();
        match t.kind {
            Tok::LParen => {
                self.advance();
                self.enter(t.start)?;
                let r = self.comparison_chain(false)?;
                self.expect(Tok::RParen, "')' or a comparison operator (AND, OR)")?;
                self.leave();
                Ok(r)
            }
            Tok::Not | Tok::Exists => {
                let negated = self.eat(Tok::Not);
                self.expect(
                    Tok::Exists,
                    "EXISTS (NOT before a path is written after it: 'path NOT = value')",
                )?;
                let (path, _) = self.object_path()?;
                let c = Comparison {
                    path,
                    negated,
                    op: Op::Exists,
                    value: None,
                };
                Ok((ComparisonExpr::Comparison(c), 1))
            }
            Tok::Ident | Tok::IdentHyphen => {
                let (path, py_path) = self.object_path()?;
                let negated = self.eat(Tok::Not);
                let op = match self.kind() {
                    Tok::Eq => Op::Eq,
                    Tok::Neq => Op::Ne,
                    Tok::Lt => Op::Lt,
                    Tok::Le => Op::Le,
                    Tok::Gt => Op::Gt,
                    Tok::Ge => Op::Ge,
                    Tok::In => Op::In,
                    Tok::Like => Op::Like,
                    Tok::Matches => Op::Matches,
                    Tok::IsSubset => Op::IsSubset,
                    Tok::IsSuperset => Op::IsSuperset,
                    _ => {
                        return Err(self.unexpected(
                            "a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)",
                        ));
                    }
                };
                self.advance();
                let value_start = self.peek().start;
                let (value, raw) = match op {
                    Op::Eq | Op::Ne => self.literal(true, "a literal value")?,
                    Op::Lt | Op::Le | Op::Gt | Op::Ge => self.literal(
                        false,
                        "an orderable literal (number, string, binary, hex or timestamp)",
                    )?,
                    Op::In => self.set_literal()?,
                    _ => {
                        let s = self.expect(Tok::Str, "a string literal")?;
                        let text = self.text(s);
                        (
                            Literal::String(unescape(quoted_inner(text))),
                            text.replace('\'', ""),
                        )
                    }
                };
                self.check_comparison(t.start, &path, &py_path, value_start, &raw);
                let c = Comparison {
                    path,
                    negated,
                    op,
                    value: Some(value),
                };
                Ok((ComparisonExpr::Comparison(c), 1))
            }
            _ => Err(self.unexpected("an object path, '(', EXISTS or NOT EXISTS")),
        }
    }

    /// Returns the path and its components as the reference's inspector sees
    /// them (property names unescaped; `None` for `[*]`; indexes as text).
    fn object_path(&mut self) -> Result<(ObjectPath, Vec<PyComp>), PatternError> {
        let t = self.peek();
        if !matches!(t.kind, Tok::Ident | Tok::IdentHyphen) {
            return Err(self.unexpected("an object type"));
        }
        self.advance();
        let object_type = self.text(t).to_string();
        self.expect(Tok::Colon, "':' after the object type")?;
        let mut components = Vec::new();
        let mut py = Vec::new();
        let f = self.peek();
        match f.kind {
            Tok::Ident => {
                self.advance();
                let name = self.text(f).to_string();
                py.push(PyComp::Name(name.clone()));
                components.push(PathComponent::Property(name));
            }
            Tok::Str => {
                self.advance();
                let name = unescape(quoted_inner(self.text(f)));
                py.push(PyComp::Name(name.clone()));
                components.push(PathComponent::Property(name));
            }
            _ => {
                return Err(self.unexpected(
                    "a property name (letters, digits, '_', or a quoted string) after ':'",
                ));
            }
        }
        loop {
            match self.kind() {
                Tok::Dot => {
                    self.advance();
                    let k = self.peek();
                    let name = match k.kind {
                        Tok::Ident => self.text(k).to_string(),
                        Tok::Str => unescape(quoted_inner(self.text(k))),
                        _ => {
                            return Err(self.unexpected(
                                "a property name (letters, digits, '_', or a quoted string) after '.'",
                            ));
                        }
                    };
                    self.advance();
                    py.push(PyComp::Name(name.clone()));
                    components.push(PathComponent::Property(name));
                }
                Tok::LBrack => {
                    self.advance();
                    let k = self.peek();
                    match k.kind {
                        Tok::IntPos => {
                            self.advance();
                            components
                                .push(PathComponent::Index(parse_u64_saturating(self.text(k))));
                            py.push(PyComp::Index);
                        }
                        Tok::Asterisk => {
                            self.advance();
                            components.push(PathComponent::AnyIndex);
                            py.push(PyComp::Star);
                        }
                        Tok::IntNeg => {
                            return Err(PatternError::new(
                                PatternErrorKind::Syntax,
                                k.start,
                                "a list index may not be negative",
                            ));
                        }
                        _ => {
                            return Err(
                                self.unexpected("a list index (a non-negative integer or '*')")
                            );
                        }
                    }
                    self.expect(Tok::RBrack, "']' after the list index")?;
                }
                _ => break,
            }
        }
        Ok((
            ObjectPath {
                object_type,
                components,
            },
            py,
        ))
    }

    /// primitiveLiteral (`allow_bool`) or orderableLiteral. Also returns the
    /// reference's text for the hash check (token text without quotes).
    fn literal(&mut self, allow_bool: bool, what: &str) -> Result<(Literal, String), PatternError> {
        let t = self.peek();
        let text = self.text(t);
        let lit = match t.kind {
            Tok::IntPos | Tok::IntNeg => match text.parse::<i64>() {
                Ok(v) => Literal::Int(v),
                Err(_) => Literal::Float(parse_f64(text)),
            },
            Tok::FloatPos | Tok::FloatNeg => Literal::Float(parse_f64(text)),
            Tok::Str => Literal::String(unescape(quoted_inner(text))),
            Tok::Bool if allow_bool => Literal::Bool(text == "true"),
            Tok::Binary => Literal::Binary(quoted_inner(&text[1..]).to_string()),
            Tok::Hex => Literal::Hex(quoted_inner(&text[1..]).to_string()),
            Tok::Timestamp => Literal::Timestamp(quoted_inner(&text[1..]).to_string()),
            Tok::Bool => {
                return Err(self.unexpected(&format!(
                    "{what} (booleans can only be compared with = or !=)"
                )));
            }
            _ => return Err(self.unexpected(what)),
        };
        self.advance();
        Ok((lit, text.replace('\'', "")))
    }

    fn set_literal(&mut self) -> Result<(Literal, String), PatternError> {
        self.expect(Tok::LParen, "'(' starting the set of values after IN")?;
        let mut items = Vec::new();
        let mut raw = String::from("(");
        if !self.eat(Tok::RParen) {
            loop {
                let (lit, r) = self.literal(true, "a literal value in the set")?;
                items.push(lit);
                raw.push_str(&r);
                if self.eat(Tok::Comma) {
                    raw.push(',');
                    continue;
                }
                self.expect(Tok::RParen, "',' or ')' in the set of values")?;
                break;
            }
        }
        raw.push(')');
        Ok((Literal::Set(items), raw))
    }

    /// The reference's checks on one (non-EXISTS) comparison.
    fn check_comparison(
        &mut self,
        start: usize,
        path: &ObjectPath,
        py: &[PyComp],
        value_at: usize,
        raw: &str,
    ) {
        let ty = path.object_type.as_str();
        if !type_name_ok(ty) {
            self.issue(
                start,
                format!(
                    "'{ty}' is not a valid observable type name (lower-case letters, digits and single hyphens, 3 to 250 characters)"
                ),
            );
        }
        if let Some(PyComp::Name(first)) = py.first()
            && !property_name_ok(ty, first)
        {
            self.issue(
                start,
                format!(
                    "'{first}' is not a valid observable property name (lower-case letters, digits and '_', 3 to 250 characters)"
                ),
            );
        }
        if let Some(message) = hash_problem(py, raw) {
            self.issue(value_at, message);
        }
    }
}

/// A path component as the reference's inspector records it.
enum PyComp {
    Name(String),
    Index,
    Star,
}

fn type_name_ok(t: &str) -> bool {
    if SCO_TYPES.contains(&t) {
        return true;
    }
    if !(3..=250).contains(&t.chars().count()) {
        return false;
    }
    // ^\-?[a-z0-9]+(-[a-z0-9]+)*\-?$
    let s = t.strip_prefix('-').unwrap_or(t);
    let s = s.strip_suffix('-').unwrap_or(s);
    !s.is_empty()
        && s.split('-').all(|seg| {
            !seg.is_empty()
                && seg
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn property_name_ok(object_type: &str, prop: &str) -> bool {
    // Every listed property of the 18 types matches the regex except `id`.
    if prop == "id" && SCO_TYPES.contains(&object_type) {
        return true;
    }
    // Python's re.match with `$`, which also matches before a final newline.
    let p = prop.strip_suffix('\n').unwrap_or(prop);
    (3..=250).contains(&p.len())
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// `^[class]{min,max}$` as Python's `re.match` applies it.
fn py_full(value: &str, min: usize, max: usize, class: fn(u8) -> bool) -> bool {
    let v = value.strip_suffix('\n').unwrap_or(value);
    (min..=max).contains(&v.len()) && v.bytes().all(class)
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// The reference's hash literal check (`object_validator.verify_object`).
fn hash_problem(py: &[PyComp], raw: &str) -> Option<String> {
    if !py
        .iter()
        .any(|c| matches!(c, PyComp::Name(n) if n == "hashes"))
    {
        return None;
    }
    let selector = match py.last()? {
        PyComp::Star => return None,
        // The reference crashes on this (`int.upper()`).
        PyComp::Index => {
            return Some("a list index cannot name a hash algorithm after 'hashes'".into());
        }
        PyComp::Name(n) => n,
    };
    let algorithm = selector.to_uppercase().replace(['-', '\''], "");
    let ok = match algorithm.as_str() {
        "MD5" => py_full(raw, 32, 32, is_hex),
        "MD6" => {
            // The reference's MD6 regex, as written, accepts 32 leading hex
            // digits, or a newline, four spaces and 64 hex digits.
            let b = raw.as_bytes();
            (b.len() >= 32 && b[..32].iter().all(|&c| is_hex(c)))
                || raw
                    .strip_prefix("\n    ")
                    .is_some_and(|r| r.len() >= 64 && r.as_bytes()[..64].iter().all(|&c| is_hex(c)))
        }
        "RIPEMD160" | "SHA1" => py_full(raw, 40, 40, is_hex),
        "SHA224" | "SHA3224" => py_full(raw, 56, 56, is_hex),
        "SHA256" | "SHA3256" => py_full(raw, 64, 64, is_hex),
        "SHA384" | "SHA3384" => py_full(raw, 96, 96, is_hex),
        "SHA512" | "SHA3512" | "WHIRLPOOL" => py_full(raw, 128, 128, is_hex),
        "SSDEEP" => py_full(raw, 1, 128, |b| {
            b.is_ascii_alphanumeric() || matches!(b, b'/' | b'+' | b':' | b'.')
        }),
        _ => true,
    };
    (!ok).then(|| format!("'{raw}' is not a valid {selector} hash"))
}

/// The text between the first and last quote of a quoted token.
fn quoted_inner(text: &str) -> &str {
    let s = text.strip_prefix('\'').unwrap_or(text);
    s.strip_suffix('\'').unwrap_or(s)
}

/// Undo `\'` and `\\` (the only escapes the lexer lets through).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn parse_f64(text: &str) -> f64 {
    // The lexer only hands over `[+-]?[0-9]*(.[0-9]+)?`, which Rust parses
    // (overflow gives an infinity, never an error).
    text.parse::<f64>().unwrap_or(f64::INFINITY)
}

fn parse_u64_saturating(text: &str) -> u64 {
    text.trim_start_matches('+')
        .parse::<u64>()
        .unwrap_or(u64::MAX)
}

// ---------------------------------------------------------------------------
// Display: canonical pattern text that parses back to an equal tree
// ---------------------------------------------------------------------------

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.expression.fmt(f)
    }
}

impl fmt::Display for ObservationExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join =
            |f: &mut fmt::Formatter<'_>, items: &[ObservationExpr], op: &str| -> fmt::Result {
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, " {op} ")?;
                    }
                    match e {
                        ObservationExpr::And(_)
                        | ObservationExpr::Or(_)
                        | ObservationExpr::FollowedBy(_) => write!(f, "({e})")?,
                        _ => write!(f, "{e}")?,
                    }
                }
                Ok(())
            };
        match self {
            ObservationExpr::Observation(c) => write!(f, "[{c}]"),
            ObservationExpr::And(v) => join(f, v, "AND"),
            ObservationExpr::Or(v) => join(f, v, "OR"),
            ObservationExpr::FollowedBy(v) => join(f, v, "FOLLOWEDBY"),
            ObservationExpr::Qualified(..) => {
                // Collect the chain, innermost qualifier first.
                let mut quals = Vec::new();
                let mut base = self;
                while let ObservationExpr::Qualified(inner, q) = base {
                    quals.push(q);
                    base = inner;
                }
                quals.reverse();
                // Split into runs without a repeated kind; each further run
                // gets its own parentheses so the output stays valid.
                let kind = |q: &Qualifier| std::mem::discriminant(q);
                let mut breaks = Vec::new();
                let mut run: Vec<std::mem::Discriminant<Qualifier>> = Vec::new();
                for (i, q) in quals.iter().enumerate() {
                    if run.contains(&kind(q)) {
                        breaks.push(i);
                        run.clear();
                    }
                    run.push(kind(q));
                }
                let base_is_simple = matches!(base, ObservationExpr::Observation(_));
                for _ in 0..breaks.len() {
                    f.write_str("(")?;
                }
                if base_is_simple {
                    write!(f, "{base}")?
                } else {
                    write!(f, "({base})")?
                }
                for (i, q) in quals.iter().enumerate() {
                    if breaks.contains(&i) {
                        f.write_str(")")?;
                    }
                    write!(f, " {q}")?;
                }
                Ok(())
            }
        }
    }
}

fn write_number(f: &mut fmt::Formatter<'_>, v: f64, force_decimal: bool) -> fmt::Result {
    if v.is_infinite() {
        // No exponent syntax exists; a literal past f64::MAX reads back as
        // infinity.
        let sign = if v < 0.0 { "-" } else { "" };
        return write!(f, "{sign}1{}.0", "0".repeat(309));
    }
    let s = v.to_string();
    if force_decimal && !s.contains('.') {
        write!(f, "{s}.0")
    } else {
        f.write_str(&s)
    }
}

impl fmt::Display for Qualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Qualifier::Within(s) => {
                f.write_str("WITHIN ")?;
                write_number(f, *s, false)?;
                f.write_str(" SECONDS")
            }
            Qualifier::Repeats(n) => write!(f, "REPEATS {n} TIMES"),
            Qualifier::StartStop(a, b) => write!(f, "START t'{a}' STOP t'{b}'"),
        }
    }
}

impl fmt::Display for ComparisonExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join =
            |f: &mut fmt::Formatter<'_>, items: &[ComparisonExpr], op: &str| -> fmt::Result {
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, " {op} ")?;
                    }
                    match e {
                        ComparisonExpr::Comparison(c) => write!(f, "{c}")?,
                        _ => write!(f, "({e})")?,
                    }
                }
                Ok(())
            };
        match self {
            ComparisonExpr::And(v) => join(f, v, "AND"),
            ComparisonExpr::Or(v) => join(f, v, "OR"),
            ComparisonExpr::Comparison(c) => write!(f, "{c}"),
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let not = if self.negated { "NOT " } else { "" };
        match (&self.op, &self.value) {
            (Op::Exists, _) | (_, None) => write!(f, "{not}EXISTS {}", self.path),
            (op, Some(v)) => write!(f, "{} {not}{op} {v}", self.path),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "IN",
            Op::Like => "LIKE",
            Op::Matches => "MATCHES",
            Op::IsSubset => "ISSUBSET",
            Op::IsSuperset => "ISSUPERSET",
            Op::Exists => "EXISTS",
        })
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    for c in s.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            '\\' => f.write_str("\\\\")?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("'")
}

impl fmt::Display for ObjectPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.object_type)?;
        for (i, c) in self.components.iter().enumerate() {
            match c {
                PathComponent::Property(name) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    let bare = name.as_bytes().first().is_some_and(|&b| is_ident_start(b))
                        && name.bytes().all(is_ident_char)
                        && !RESERVED.contains(&name.as_str());
                    if bare {
                        f.write_str(name)?
                    } else {
                        write_quoted(f, name)?
                    }
                }
                PathComponent::Index(n) => write!(f, "[{n}]")?,
                PathComponent::AnyIndex => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::String(s) => write_quoted(f, s),
            Literal::Int(v) => write!(f, "{v}"),
            Literal::Float(v) => write_number(f, *v, true),
            Literal::Bool(v) => write!(f, "{v}"),
            Literal::Binary(s) => write!(f, "b'{s}'"),
            Literal::Hex(s) => write!(f, "h'{s}'"),
            Literal::Timestamp(s) => write!(f, "t'{s}'"),
            Literal::Set(items) => {
                f.write_str("(")?;
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str(")")
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Pattern {
        match parse_pattern(s) {
            Ok(p) => p,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    fn v21(s: &str) -> Result<Pattern, PatternError> {
        validate_pattern(s, PatternVersion::V21)
    }

    fn prop(s: &str) -> PathComponent {
        PathComponent::Property(s.into())
    }

    fn path(t: &str, comps: Vec<PathComponent>) -> ObjectPath {
        ObjectPath {
            object_type: t.into(),
            components: comps,
        }
    }

    fn cmp(path: ObjectPath, negated: bool, op: Op, value: Literal) -> ComparisonExpr {
        ComparisonExpr::Comparison(Comparison {
            path,
            negated,
            op,
            value: Some(value),
        })
    }

    fn obs(c: ComparisonExpr) -> ObservationExpr {
        ObservationExpr::Observation(c)
    }

    fn s(v: &str) -> Literal {
        Literal::String(v.into())
    }

    /// Display must give text that parses back to the same tree, and
    /// validates the same way.
    fn roundtrip(src: &str) {
        for version in [PatternVersion::V20, PatternVersion::V21] {
            let Ok(a) = parse_pattern_version(src, version) else {
                continue;
            };
            let text = a.to_string();
            let b = parse_pattern_version(&text, version)
                .unwrap_or_else(|e| panic!("{src} -> {text}: {e}"));
            assert_eq!(a, b, "{src} -> {text}");
            let va = validate_pattern(src, version).is_ok();
            let vb = validate_pattern(&text, version).is_ok();
            if va {
                assert!(vb, "{src} valid but {text} is not");
            }
        }
    }

    #[test]
    fn spec_file_hash() {
        let pat = p(
            "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
        );
        assert_eq!(
            pat.expression,
            obs(cmp(
                path("file", vec![prop("hashes"), prop("SHA-256")]),
                false,
                Op::Eq,
                s("aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f"),
            ))
        );
        assert!(v21("[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']").is_ok());
    }

    #[test]
    fn spec_email_matches() {
        let src = r"[email-message:from_ref.value MATCHES '.+\\@example\\.com$' AND email-message:body_multipart[*].body_raw_ref.name MATCHES '^Final Report.+\\.exe$']";
        let pat = p(src);
        assert_eq!(
            pat.expression,
            obs(ComparisonExpr::And(vec![
                cmp(
                    path("email-message", vec![prop("from_ref"), prop("value")]),
                    false,
                    Op::Matches,
                    s(r".+\@example\.com$")
                ),
                cmp(
                    path(
                        "email-message",
                        vec![
                            prop("body_multipart"),
                            PathComponent::AnyIndex,
                            prop("body_raw_ref"),
                            prop("name")
                        ]
                    ),
                    false,
                    Op::Matches,
                    s(r"^Final Report.+\.exe$"),
                ),
            ]))
        );
        assert!(v21(src).is_ok());
        roundtrip(src);
    }

    #[test]
    fn spec_within() {
        let src = r"([file:name = 'foo.dll'] AND [win-registry-key:key = 'HKEY_LOCAL_MACHINE\\foo\\bar']) WITHIN 300 SECONDS";
        let pat = p(src);
        assert_eq!(
            pat.expression,
            ObservationExpr::Qualified(
                Box::new(ObservationExpr::And(vec![
                    obs(cmp(
                        path("file", vec![prop("name")]),
                        false,
                        Op::Eq,
                        s("foo.dll")
                    )),
                    obs(cmp(
                        path("win-registry-key", vec![prop("key")]),
                        false,
                        Op::Eq,
                        s(r"HKEY_LOCAL_MACHINE\foo\bar")
                    )),
                ])),
                Qualifier::Within(300.0),
            )
        );
        assert!(v21(src).is_ok());
        roundtrip(src);
    }

    #[test]
    fn spec_in_set() {
        let pat = p("[network-traffic:dst_port IN (443, 80)]");
        assert_eq!(
            pat.expression,
            obs(cmp(
                path("network-traffic", vec![prop("dst_port")]),
                false,
                Op::In,
                Literal::Set(vec![Literal::Int(443), Literal::Int(80)])
            ))
        );
    }

    #[test]
    fn spec_examples_parse_and_validate() {
        let cases = [
            "[url:value = 'http://example.com/foo' OR url:value = 'http://example.com/bar']",
            "[ipv4-addr:value = '198.51.100.1/32' OR ipv4-addr:value = '203.0.113.33/32' OR ipv6-addr:value = '2001:0db8:dead:beef:dead:beef:dead:0001/128']",
            "[domain-name:value = 'example.com'] AND [ipv4-addr:value = '198.51.100.1/32']",
            "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f'] REPEATS 5 TIMES WITHIN 1800 SECONDS",
            "[file:hashes.MD5 = '79054025255fb1a26e4bc422aef54eb4'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
            "[network-traffic:dst_ref.type = 'domain-name' AND network-traffic:dst_ref.value = 'example.com'] REPEATS 5 TIMES",
            "[file:name = 'pdf.exe' AND file:size = 371712] FOLLOWEDBY [network-traffic:dst_ref.value = '198.51.100.43' AND network-traffic:dst_port = 80]",
            "[user-account:account_type = 'unix' AND user-account:user_id = '1007' AND user-account:account_login = 'Peter'] AND [user-account:account_type = 'unix' AND user-account:user_id = '1008' AND user-account:account_login = 'Paul']",
            "[artifact:mime_type = 'application/vnd.tcpdump.pcap' AND artifact:payload_bin MATCHES '\\\\xd4\\\\xc3\\\\xb2\\\\xa1\\\\x02\\\\x00\\\\x04\\\\x00']",
            "[file:created = t'2014-01-13T07:03:17Z']",
            "[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]",
            "[x509-certificate:issuer = 'CN=WEBMAIL' AND x509-certificate:serial_number = '4c:0b:1d:19:74:86:a7:66:b4:1a:bf:40:27:21:76:28']",
            "[windows-registry-key:key = 'HKEY_CURRENT_USER\\\\Software\\\\CYBERMESINFO' OR windows-registry-key:key = 'HKEY_LOCAL_MACHINE\\\\SOFTWARE\\\\Microsoft\\\\Windows\\\\CurrentVersion\\\\Run\\\\PDFReader']",
            "[ipv4-addr:value ISSUBSET '198.51.100.0/24']",
            "[ipv4-addr:value NOT ISSUPERSET '198.51.100.0/24']",
            "[process:name = 'x' AND NOT EXISTS process:command_line]",
            "[EXISTS windows-registry-key:values]",
            "[file:size != 0 AND file:size <> 1 AND file:size == 2]",
            "[file:content_ref.payload_bin = b'VGhpcyBpcyBhIHRlc3Q=' OR file:x_bytes = h'0a0B']",
            "[file:name LIKE 'foo%.exe' AND file:x_flag = true]",
            "[process:pid < -1 OR process:x_ratio >= -0.5 OR process:x_ratio <= .5]",
            "[(file:name = 'a' OR file:name = 'b') AND (file:size > 1)]",
            "(([file:name = 'a'] OR [file:name = 'b']) FOLLOWEDBY [file:name = 'c']) WITHIN 10.5 SECONDS",
            "[file:name = 'a'] /* a comment */ OR [file:name = 'b'] // trailing",
            "[x-acme-widget:serial_no = 'abc' AND x-acme-widget:x_field[0] = 1]",
            "[file:id = 'file--1']",
        ];
        for c in cases {
            if let Err(e) = v21(c) {
                panic!("{c}: {e}");
            }
            roundtrip(c);
        }
    }

    #[test]
    fn precedence_and_flattening() {
        let pat = p(
            "[aaa:bbb = 1] AND [aaa:bbb = 2] OR [aaa:bbb = 3] FOLLOWEDBY [aaa:bbb = 4] AND [aaa:bbb = 5] WITHIN 5 SECONDS",
        );
        let o = |n: i64| {
            obs(cmp(
                path("aaa", vec![prop("bbb")]),
                false,
                Op::Eq,
                Literal::Int(n),
            ))
        };
        assert_eq!(
            pat.expression,
            ObservationExpr::FollowedBy(vec![
                ObservationExpr::Or(vec![ObservationExpr::And(vec![o(1), o(2)]), o(3)]),
                ObservationExpr::And(vec![
                    o(4),
                    ObservationExpr::Qualified(Box::new(o(5)), Qualifier::Within(5.0))
                ]),
            ])
        );
        let pat = p("[aaa:bbb = 1 OR aaa:bbb = 2 AND aaa:bbb = 3 OR aaa:bbb = 4]");
        let c = |n: i64| {
            cmp(
                path("aaa", vec![prop("bbb")]),
                false,
                Op::Eq,
                Literal::Int(n),
            )
        };
        assert_eq!(
            pat.expression,
            obs(ComparisonExpr::Or(vec![
                c(1),
                ComparisonExpr::And(vec![c(2), c(3)]),
                c(4)
            ]))
        );
        // Qualifier order: the first written is innermost.
        let pat = p("[aaa:bbb = 1] REPEATS 5 TIMES WITHIN 30 SECONDS");
        assert_eq!(
            pat.expression,
            ObservationExpr::Qualified(
                Box::new(ObservationExpr::Qualified(
                    Box::new(o(1)),
                    Qualifier::Repeats(5)
                )),
                Qualifier::Within(30.0)
            )
        );
        let pat = p("[aaa:bbb = 1] START t'2016-01-01T00:00:00Z' STOP t'2016-01-02T00:00:00.5Z'");
        assert_eq!(
            pat.expression,
            ObservationExpr::Qualified(
                Box::new(o(1)),
                Qualifier::StartStop(
                    "2016-01-01T00:00:00Z".into(),
                    "2016-01-02T00:00:00.5Z".into()
                )
            )
        );
    }

    #[test]
    fn literals_and_paths() {
        let pat = p(
            "[x-a:'b c'.d[3][*].'it\\'s' IN ('a\\\\b', -7, +8, 1.5, -.25, true, false, b'YWJj', h'ff00', t'2020-02-29T23:59:60.123Z')]",
        );
        let c = &pat.comparisons()[0];
        assert_eq!(
            c.path,
            path(
                "x-a",
                vec![
                    prop("b c"),
                    prop("d"),
                    PathComponent::Index(3),
                    PathComponent::AnyIndex,
                    prop("it's")
                ]
            )
        );
        assert_eq!(
            c.value,
            Some(Literal::Set(vec![
                s("a\\b"),
                Literal::Int(-7),
                Literal::Int(8),
                Literal::Float(1.5),
                Literal::Float(-0.25),
                Literal::Bool(true),
                Literal::Bool(false),
                Literal::Binary("YWJj".into()),
                Literal::Hex("ff00".into()),
                Literal::Timestamp("2020-02-29T23:59:60.123Z".into()),
            ]))
        );
        assert_eq!(
            p("[aaa:bbb IN ()]").comparisons()[0].value,
            Some(Literal::Set(vec![]))
        );
        // Out-of-range integers become floats; huge counts saturate.
        assert_eq!(
            p("[aaa:bbb = 99999999999999999999]").comparisons()[0].value,
            Some(Literal::Float(1e20))
        );
        assert_eq!(
            p("[aaa:bbb[99999999999999999999] = 1] REPEATS 99999999999999999999 TIMES").expression,
            ObservationExpr::Qualified(
                Box::new(obs(cmp(
                    path("aaa", vec![prop("bbb"), PathComponent::Index(u64::MAX)]),
                    false,
                    Op::Eq,
                    Literal::Int(1)
                ))),
                Qualifier::Repeats(u64::MAX)
            )
        );
        let pat = p("[aaa:bbb NOT LIKE 'x%']");
        let c = pat.comparisons()[0];
        assert!(c.negated && c.op == Op::Like);
        let pat = p("[NOT EXISTS aaa:bbb]");
        let c = pat.comparisons()[0];
        assert!(c.negated && c.op == Op::Exists && c.value.is_none());
    }

    #[test]
    fn syntax_errors() {
        let bad = [
            ("", 0),
            ("   ", 3),
            ("file:name = 'a'", 0),
            ("[file:name = 'a'", 16),
            ("[file:name = 'a'] and [file:name = 'b']", 18),
            ("[file:name = 'a' and file:name = 'b']", 17),
            ("[file:name = 'a'] followedby [file:name = 'b']", 18),
            ("[file:name = \"a\"]", 13),
            ("[file:name = 'a\\n']", 13),
            ("[file:name = True]", 13),
            ("[file:name > true]", 13),
            ("[file:name LIKE 5]", 16),
            ("[file:name = b'abc']", 13),
            ("[file:name = b'']", 13),
            ("[file:name = h'abc']", 13),
            ("[file:name = t'2016-13-01T00:00:00Z']", 13),
            ("[file:name = t'2016-01-01T24:00:00Z']", 13),
            ("[file:name = t'2016-01-01T00:00:00']", 13),
            (
                "[file:name = 'a'] START '2016-01-01T00:00:00Z' STOP '2016-01-01T00:00:00Z'",
                24,
            ),
            ("[file:name = 'a'] REPEATS -5 TIMES", 26),
            ("[file:name = 'a'] WITHIN -5 SECONDS", 25),
            ("[file:name = 'a'] WITHIN 5 seconds", 27),
            ("[file:name = 'a'] LAST 5 SECONDS", 18),
            ("[file:name = 01]", 14),
            ("[file:name = 1.]", 14),
            ("[file:name = + 5]", 13),
            ("[file:name.a-b = 'a']", 11),
            ("[file:name[-1] = 'a']", 11),
            ("[NOT file:name = 'a']", 5),
            ("[file:name NOT NOT = 'a']", 15),
            ("[EXISTS file:name = 'a']", 18),
            ("[file:name IN (1,)]", 17),
            ("[file:name IN ((1))]", 15),
            ("[file:name IN 'a']", 14),
            ("[]", 1),
            ("[file:name = 'a'])", 17),
            ("([file:name = 'a']", 18),
            ("[file:name = 'a'] /* unterminated", 18),
            ("[-abc:name = 'a']", 1),
            ("[file:EXISTS = 1]", 6),
        ];
        for (src, offset) in bad {
            match parse_pattern(src) {
                Ok(_) => panic!("{src:?} should not parse"),
                Err(e) => {
                    assert_eq!(e.kind, PatternErrorKind::Syntax, "{src:?}: {e}");
                    assert_eq!(e.offset, offset, "{src:?}: {e}");
                }
            }
        }
        let e = parse_pattern("[file:name = 'a' and file:name = 'b']").unwrap_err();
        assert_eq!(
            e.to_string(),
            "expected ']' (or AND/OR inside the brackets) but found 'and'; keywords are upper-case only ('AND') at offset 17"
        );
        let e = parse_pattern("[file:name = 'a'").unwrap_err();
        assert!(e.to_string().starts_with("expected ']'"), "{e}");
    }

    #[test]
    fn version_20() {
        let v20 = PatternVersion::V20;
        assert!(parse_pattern_version("[EXISTS file:name]", v20).is_err());
        assert!(parse_pattern_version("[NOT EXISTS file:name]", v20).is_err());
        // EXISTS is an ordinary word in 2.0 ...
        assert!(parse_pattern_version("[file:EXISTS = 1]", v20).is_ok());
        // ... which the validator still refuses (it re-parses with 2.1).
        assert!(validate_pattern("[file:xyz.EXISTS = 1]", v20).is_err());
        // No duplicate-qualifier check in 2.0.
        let dup = "[file:name = 'a'] WITHIN 5 SECONDS WITHIN 6 SECONDS";
        assert!(validate_pattern(dup, v20).is_ok());
        assert!(validate_pattern(dup, PatternVersion::V21).is_err());
        // Hash checks apply to both.
        assert!(validate_pattern("[file:hashes.MD5 = 'abc']", v20).is_err());
    }

    #[test]
    fn semantic_checks() {
        let invalid = [
            "[file:name = 'a'] WITHIN 5 SECONDS WITHIN 6 SECONDS",
            "[file:name = 'a'] REPEATS 5 TIMES WITHIN 5 SECONDS REPEATS 2 TIMES",
            "[aaa:bbb = 1] AND [ccc:ddd = 2] WITHIN 1 SECONDS WITHIN 2 SECONDS",
            "[file:hashes.MD5 = 'abc']",
            "[file:hashes.'SHA-256' = 'aec07']",
            "[file:hashes.sha256 = 'aec07']",
            "[file:hashes.'SHA-256' IN ('aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f')]",
            "[file:hashes.MD5 LIKE 'x']",
            "[file:hashes.MD5 = h'aec070645fe53ee3b3763059376134f0']",
            "[file:hashes.SSDEEP = '3 abc']",
            "[file:x.hashes.'SHA-1' = 'x']",
            "[file:hashes[0] = 'x']",
            "/* c */ [file:name = 'a']",
            "[File:name = 'a']",
            "[ab:name = 'a']",
            "[x_foo:name = 'a']",
            "[a--b:name = 'a']",
            "[file:Name = 'a']",
            "[file:ab = 'a']",
            "[file:'n-a' = 'a']",
            "[x-foo:id = 'a']",
            "[file:name = 'a' AND File:name = 'a']",
        ];
        for src in invalid {
            assert!(parse_pattern(src).is_ok(), "{src} should parse");
            match v21(src) {
                Ok(_) => panic!("{src} should be invalid"),
                Err(e) => assert_eq!(e.kind, PatternErrorKind::Invalid, "{src}: {e}"),
            }
        }
        let valid = [
            "([file:name = 'a']) WITHIN 5 SECONDS WITHIN 6 SECONDS",
            "([aaa:bbb = 1] AND [ccc:ddd = 2]) WITHIN 1 SECONDS WITHIN 2 SECONDS",
            "[aaa:bbb = 1] WITHIN 1 SECONDS AND [ccc:ddd = 2] WITHIN 2 SECONDS",
            "[file:hashes.MD5 = 12345678901234567890123456789012]",
            "[file:hashes.MD6 = 'aec070645fe53ee3b3763059376134f0xxxx']",
            "[file:hashes.SSDEEP = '3:abc']",
            "[file:hashes[*] = 'x']",
            "[file:hashes = 'x']",
            "[file:hashes.'x-custom' = 'x']",
            "[EXISTS file:hashes.MD5]",
            "[EXISTS File:Name]",
            "[abc-:name = 'a']",
            "[file:id = 'a']",
            "[x-foo:abc = 'a']",
            "[file:xyz.Abc = 1]",
            "[file:'abc\n' = 'a']",
            "  (( [file:name = 'a']))",
        ];
        for src in valid {
            if let Err(e) = v21(src) {
                panic!("{src}: {e}");
            }
        }
        let e = v21("[file:name = 'a'] WITHIN 5 SECONDS WITHIN 6 SECONDS").unwrap_err();
        assert_eq!(e.offset, 35);
        assert!(e.message.contains("duplicate WITHIN"), "{e}");
        let e = v21("[file:hashes.MD5 = 'abc']").unwrap_err();
        assert_eq!(e.to_string(), "'abc' is not a valid MD5 hash at offset 19");
        // Grammar errors win over semantic ones.
        let e = v21("[File:name = 'a'] AND").unwrap_err();
        assert_eq!(e.kind, PatternErrorKind::Syntax);
    }

    #[test]
    fn hostile_input() {
        let deep = format!(
            "{}[aaa:bbb = 1]{}",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        assert_eq!(
            parse_pattern(&deep).unwrap_err().kind,
            PatternErrorKind::TooDeep
        );
        let deep = format!(
            "[{}aaa:bbb = 1{}]",
            "(".repeat(100_000),
            ")".repeat(100_000)
        );
        assert_eq!(
            parse_pattern(&deep).unwrap_err().kind,
            PatternErrorKind::TooDeep
        );
        let ok = format!(
            "{}[aaa:bbb = 1]{}",
            "(".repeat(MAX_DEPTH - 1),
            ")".repeat(MAX_DEPTH - 1)
        );
        assert!(parse_pattern(&ok).is_ok());
        let chain = format!("([aaa:bbb = 1]){}", " WITHIN 1 SECONDS".repeat(100_000));
        assert_eq!(
            parse_pattern(&chain).unwrap_err().kind,
            PatternErrorKind::TooDeep
        );
        // Alternating nesting of groups and operators is bounded by tree height.
        let mut nested = "[aaa:bbb = 1]".to_string();
        for _ in 0..200 {
            nested = format!("({nested} AND [aaa:bbb = 2]) WITHIN 1 SECONDS");
        }
        assert_eq!(
            parse_pattern(&nested).unwrap_err().kind,
            PatternErrorKind::TooDeep
        );
        // Long flat chains are fine.
        let flat = vec!["[aaa:bbb = 1]"; 20_000].join(" OR ");
        assert!(parse_pattern(&flat).is_ok());
        // Inputs that would make a naive lexer quadratic.
        for s in [
            format!("'{}", "\\'".repeat(200_000)),
            "/*".repeat(200_000),
            format!("0{}", "0".repeat(400_000)),
            "t'2016-01-01T00:00:00.".repeat(20_000),
            "b'AAAA".repeat(50_000),
        ] {
            let t = std::time::Instant::now();
            assert!(parse_pattern(&s).is_err());
            assert!(t.elapsed().as_secs() < 5, "slow lexing");
        }
        for s in [
            "\u{0}",
            "\u{FEFF}[aaa:bbb = 1]",
            "[aaa:bbb = 'é\u{10FFFF}']",
            "[a:b\u{2003}= 1]",
            "\u{3000}[aaa:bbb = 1]",
        ] {
            let _ = validate_pattern(s, PatternVersion::V21);
        }
    }

    #[test]
    fn random_input_never_panics_and_roundtrips() {
        use rand::{Rng, SeedableRng};
        let pieces = [
            "[",
            "]",
            "(",
            ")",
            "aaa:bbb",
            "file:hashes.MD5",
            "x-y:'q'",
            " = ",
            " != ",
            " < ",
            " IN ",
            " LIKE ",
            " AND ",
            " OR ",
            " FOLLOWEDBY ",
            " NOT ",
            "EXISTS ",
            " WITHIN 5 SECONDS",
            " REPEATS 2 TIMES",
            " START t'2016-01-01T00:00:00Z' STOP t'2016-01-01T00:00:01Z'",
            "'s'",
            "1",
            "-2",
            ".5",
            "true",
            "b'YQ=='",
            "h'ab'",
            ",",
            "[*]",
            "[0]",
            ".c",
            "'",
            "\\",
            "/*",
            "*/",
            "//",
            "\n",
            "é",
            "t'",
            "b'",
        ];
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut parsed = 0;
        for _ in 0..20_000 {
            let n = rng.random_range(1..20);
            let s: String = (0..n)
                .map(|_| pieces[rng.random_range(0..pieces.len())])
                .collect();
            for version in [PatternVersion::V20, PatternVersion::V21] {
                if let Ok(pat) = validate_pattern(&s, version) {
                    parsed += 1;
                    let back = parse_pattern_version(&pat.to_string(), version)
                        .unwrap_or_else(|e| panic!("{s} -> {pat}: {e}"));
                    assert_eq!(pat, back, "{s}");
                }
                let _ = parse_pattern_version(&s, version);
            }
        }
        // Structured generation so the round trip sees many valid trees.
        for _ in 0..3_000 {
            let s = gen_obs(&mut rng, 0);
            match parse_pattern(&s) {
                Ok(_) => {
                    parsed += 1;
                    roundtrip(&s);
                }
                Err(e) => assert_eq!(e.kind, PatternErrorKind::TooDeep, "{s}: {e}"),
            }
        }
        assert!(parsed > 2_000, "{parsed}");
    }

    fn gen_obs(rng: &mut rand::rngs::StdRng, depth: u32) -> String {
        use rand::Rng;
        let r = if depth > 4 { 0 } else { rng.random_range(0..6) };
        let mut out = match r {
            0 | 1 => format!("[{}]", gen_cmp(rng, depth)),
            2 => format!(
                "{} AND {}",
                gen_obs(rng, depth + 1),
                gen_obs(rng, depth + 1)
            ),
            3 => format!("{} OR {}", gen_obs(rng, depth + 1), gen_obs(rng, depth + 1)),
            4 => format!(
                "({} FOLLOWEDBY {})",
                gen_obs(rng, depth + 1),
                gen_obs(rng, depth + 1)
            ),
            _ => format!("({})", gen_obs(rng, depth + 1)),
        };
        for _ in 0..rng.random_range(0..3) {
            out = match rng.random_range(0..3) {
                0 => format!("({out}) WITHIN {} SECONDS", rng.random_range(0..1000)),
                1 => format!("{out} REPEATS {} TIMES", rng.random_range(0..9)),
                _ => {
                    format!("({out}) START t'2016-01-01T00:00:00Z' STOP t'2017-01-01T00:00:00.25Z'")
                }
            };
        }
        out
    }

    fn gen_cmp(rng: &mut rand::rngs::StdRng, depth: u32) -> String {
        use rand::Rng;
        let r = if depth > 6 { 0 } else { rng.random_range(0..5) };
        match r {
            0 | 1 => {
                let paths = [
                    "file:name",
                    "x-a:'AND'.b[3]",
                    "ipv4-addr:value",
                    "aaa:'q\\'t'[*].c",
                    "proc:true_x",
                ];
                let path = paths[rng.random_range(0..paths.len())];
                let vals = [
                    "'x'",
                    "-3",
                    "2.5",
                    "-0.0",
                    "b'YWJj'",
                    "h'0a'",
                    "t'2016-01-01T00:00:00Z'",
                    "'a\\\\b'",
                ];
                let v = vals[rng.random_range(0..vals.len())];
                match rng.random_range(0..5) {
                    0 => format!("{path} NOT = {v}"),
                    1 => format!("{path} IN ({v}, true, 7)"),
                    2 => format!("NOT EXISTS {path}"),
                    3 => format!("{path} MATCHES 'r'"),
                    _ => format!("{path} >= {v}"),
                }
            }
            2 => format!(
                "{} AND {}",
                gen_cmp(rng, depth + 1),
                gen_cmp(rng, depth + 1)
            ),
            3 => format!("{} OR {}", gen_cmp(rng, depth + 1), gen_cmp(rng, depth + 1)),
            _ => format!("({})", gen_cmp(rng, depth + 1)),
        }
    }

    #[test]
    fn display_keeps_duplicate_qualifiers_grouped() {
        let src = "([aaa:bbb = 1] WITHIN 1 SECONDS) WITHIN 2 SECONDS";
        let pat = v21(src).unwrap();
        let text = pat.to_string();
        assert!(v21(&text).is_ok(), "{text}");
        assert_eq!(p(&text), pat);
        assert_eq!(
            p("[aaa:bbb = 1] REPEATS 2 TIMES WITHIN 3 SECONDS").to_string(),
            "[aaa:bbb = 1] REPEATS 2 TIMES WITHIN 3 SECONDS"
        );
        assert_eq!(p("[a:'AND' = 1.0]").to_string(), "[a:'AND' = 1.0]");
    }
}
