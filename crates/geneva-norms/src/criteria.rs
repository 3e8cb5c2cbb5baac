//! Criteria: small boolean expressions over incident facts, read in
//! three-valued (Kleene) logic so that an unknown fact gives "unknown", not
//! a guess. The grammar, in the catalogue's own words:
//!
//! ```text
//! expr  := and ("or" and)*
//! and   := unary ("and" unary)*
//! unary := "not" unary | "(" expr ")" | test
//! test  := FACT                      (a yes/no fact)
//!        | FACT "in" "[" WORD ("," WORD)* "]"   (a one-of fact)
//!        | FACT (">=" | "<=" | ">" | "<" | "=") NUMBER   (a count)
//! ```

use std::collections::BTreeSet;
use std::fmt;

use crate::facts::{FactKind, Facts, fact_kind};

/// True, false or unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn and(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::False, _) | (_, Truth::False) => Truth::False,
            (Truth::True, Truth::True) => Truth::True,
            _ => Truth::Unknown,
        }
    }
    fn or(self, other: Truth) -> Truth {
        match (self, other) {
            (Truth::True, _) | (_, Truth::True) => Truth::True,
            (Truth::False, Truth::False) => Truth::False,
            _ => Truth::Unknown,
        }
    }
    fn not(self) -> Truth {
        match self {
            Truth::True => Truth::False,
            Truth::False => Truth::True,
            Truth::Unknown => Truth::Unknown,
        }
    }
    pub fn of(b: Option<bool>) -> Truth {
        match b {
            Some(true) => Truth::True,
            Some(false) => Truth::False,
            None => Truth::Unknown,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    AtLeast,
    AtMost,
    Above,
    Below,
    Equal,
}

/// A parsed criterion.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Fact(String),
    OneOf(String, Vec<String>),
    Count(String, Comparison, u64),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

/// Why a criterion was refused, with where in its text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at character {at} of `{text}`")]
pub struct CriterionError {
    pub text: String,
    pub at: usize,
    pub message: String,
}

impl Expr {
    /// Parses and checks a criterion: every fact must be known, and used
    /// as its kind allows (a count compared, a one-of fact with its values).
    pub fn parse(text: &str) -> Result<Expr, CriterionError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            text,
            tokens,
            pos: 0,
            depth: 0,
        };
        let expr = parser.expr()?;
        if let Some((at, token)) = parser.tokens.get(parser.pos) {
            return Err(parser.error(*at, format!("unexpected `{token}`")));
        }
        Ok(expr)
    }

    /// Evaluates in Kleene logic: unknown facts make unknown results unless
    /// the known ones decide.
    pub fn eval(&self, facts: &Facts) -> Truth {
        match self {
            Expr::Fact(name) => facts.truth(name),
            Expr::OneOf(name, values) => match facts.choice(name) {
                Some(v) => {
                    if values.iter().any(|x| x == v) {
                        Truth::True
                    } else {
                        Truth::False
                    }
                }
                None => Truth::Unknown,
            },
            Expr::Count(name, cmp, n) => match facts.count(name) {
                Some(v) => Truth::of(Some(match cmp {
                    Comparison::AtLeast => v >= *n,
                    Comparison::AtMost => v <= *n,
                    Comparison::Above => v > *n,
                    Comparison::Below => v < *n,
                    Comparison::Equal => v == *n,
                })),
                None => Truth::Unknown,
            },
            Expr::Not(e) => e.eval(facts).not(),
            Expr::And(es) => es.iter().fold(Truth::True, |acc, e| acc.and(e.eval(facts))),
            Expr::Or(es) => es.iter().fold(Truth::False, |acc, e| acc.or(e.eval(facts))),
        }
    }

    /// Every fact the criterion reads.
    pub fn reads(&self, into: &mut BTreeSet<String>) {
        match self {
            Expr::Fact(n) | Expr::OneOf(n, _) | Expr::Count(n, _, _) => {
                into.insert(n.clone());
            }
            Expr::Not(e) => e.reads(into),
            Expr::And(es) | Expr::Or(es) => es.iter().for_each(|e| e.reads(into)),
        }
    }

    /// The facts read here that are unknown in `facts`: what, once known,
    /// could change the result.
    pub fn unknown_reads(&self, facts: &Facts) -> BTreeSet<String> {
        let mut read = BTreeSet::new();
        self.reads(&mut read);
        read.into_iter().filter(|f| !facts.is_known(f)).collect()
    }

    /// The known facts read here, as "fact = value": what a result rests on.
    pub fn known_reads(&self, facts: &Facts) -> Vec<String> {
        let mut read = BTreeSet::new();
        self.reads(&mut read);
        read.into_iter()
            .filter_map(|f| facts.describe(&f).map(|v| format!("{f} = {v}")))
            .collect()
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Comparison::AtLeast => ">=",
            Comparison::AtMost => "<=",
            Comparison::Above => ">",
            Comparison::Below => "<",
            Comparison::Equal => "=",
        })
    }
}

fn tokenize(text: &str) -> Result<Vec<(usize, String)>, CriterionError> {
    let mut tokens = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if "()[],".contains(c) {
            tokens.push((at, c.to_string()));
            i += 1;
        } else if "<>=".contains(c) {
            let two = chars.get(i + 1).is_some_and(|&(_, d)| d == '=') && c != '=';
            tokens.push((at, if two { format!("{c}=") } else { c.to_string() }));
            i += if two { 2 } else { 1 };
        } else if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' {
            let start = i;
            while i < chars.len()
                && (chars[i].1.is_ascii_alphanumeric() || "_.-".contains(chars[i].1))
            {
                i += 1;
            }
            let word: String = chars[start..i].iter().map(|&(_, c)| c).collect();
            tokens.push((at, word));
        } else {
            return Err(CriterionError {
                text: text.to_owned(),
                at,
                message: format!("unexpected character `{c}`"),
            });
        }
    }
    Ok(tokens)
}

/// Deeper nesting is refused: the parser recurses once per level.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    text: &'a str,
    tokens: Vec<(usize, String)>,
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn error(&self, at: usize, message: String) -> CriterionError {
        CriterionError {
            text: self.text.to_owned(),
            at,
            message,
        }
    }
    fn peek(&self) -> Option<&str> {
        self.tokens.get(self.pos).map(|(_, t)| t.as_str())
    }
    fn at(&self) -> usize {
        self.tokens
            .get(self.pos)
            .map_or(self.text.len(), |(at, _)| *at)
    }
    fn next(&mut self) -> Option<(usize, String)> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn expect(&mut self, what: &str) -> Result<(), CriterionError> {
        match self.next() {
            Some((_, t)) if t == what => Ok(()),
            Some((at, t)) => Err(self.error(at, format!("expected `{what}`, found `{t}`"))),
            None => Err(self.error(self.text.len(), format!("expected `{what}` at the end"))),
        }
    }

    fn expr(&mut self) -> Result<Expr, CriterionError> {
        let mut terms = vec![self.and()?];
        while self.peek() == Some("or") {
            self.pos += 1;
            terms.push(self.and()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::Or(terms)
        })
    }

    fn and(&mut self) -> Result<Expr, CriterionError> {
        let mut terms = vec![self.unary()?];
        while self.peek() == Some("and") {
            self.pos += 1;
            terms.push(self.unary()?);
        }
        Ok(if terms.len() == 1 {
            terms.remove(0)
        } else {
            Expr::And(terms)
        })
    }

    fn unary(&mut self) -> Result<Expr, CriterionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(self.at(), format!("nested deeper than {MAX_DEPTH} levels")));
        }
        let parsed = self.unary_inner();
        self.depth -= 1;
        parsed
    }

    fn unary_inner(&mut self) -> Result<Expr, CriterionError> {
        match self.peek() {
            Some("not") => {
                self.pos += 1;
                Ok(Expr::Not(Box::new(self.unary()?)))
            }
            Some("(") => {
                self.pos += 1;
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            _ => self.test(),
        }
    }

    fn test(&mut self) -> Result<Expr, CriterionError> {
        let at = self.at();
        let Some((_, name)) = self.next() else {
            return Err(self.error(at, "expected a fact at the end".into()));
        };
        let Some(kind) = fact_kind(&name) else {
            return Err(self.error(at, format!("`{name}` is not a known fact")));
        };
        match (kind, self.peek()) {
            (FactKind::OneOf(allowed), Some("in")) => {
                self.pos += 1;
                self.expect("[")?;
                let mut values = Vec::new();
                loop {
                    let at = self.at();
                    let Some((_, v)) = self.next() else {
                        return Err(self.error(at, "expected a value".into()));
                    };
                    if !allowed.contains(&v.as_str()) {
                        return Err(self.error(
                            at,
                            format!("`{v}` is not a value of `{name}` ({})", allowed.join(", ")),
                        ));
                    }
                    values.push(v);
                    match self.next() {
                        Some((_, t)) if t == "," => continue,
                        Some((_, t)) if t == "]" => break,
                        Some((at, t)) => {
                            return Err(self.error(at, format!("expected `,` or `]`, found `{t}`")));
                        }
                        None => return Err(self.error(self.text.len(), "expected `]`".into())),
                    }
                }
                Ok(Expr::OneOf(name, values))
            }
            (FactKind::Count, Some(op @ (">=" | "<=" | ">" | "<" | "="))) => {
                let cmp = match op {
                    ">=" => Comparison::AtLeast,
                    "<=" => Comparison::AtMost,
                    ">" => Comparison::Above,
                    "<" => Comparison::Below,
                    _ => Comparison::Equal,
                };
                self.pos += 1;
                let at = self.at();
                let n = self
                    .next()
                    .and_then(|(_, t)| t.parse::<u64>().ok())
                    .ok_or_else(|| self.error(at, "expected a whole number".into()))?;
                Ok(Expr::Count(name, cmp, n))
            }
            (FactKind::YesNo, _) => Ok(Expr::Fact(name)),
            (FactKind::OneOf(_), _) => Err(self.error(
                at,
                format!("`{name}` has several values: test it with `in [...]`"),
            )),
            (FactKind::Count, _) => {
                Err(self.error(at, format!("`{name}` is a count: compare it (`>= 1`)")))
            }
        }
    }
}
