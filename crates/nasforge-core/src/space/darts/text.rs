//! The DARTS printed form, the original code's `Genotype(...)`: a tokenizer and recursive-descent reader
//! tolerant of Python spellings, with located errors, and the writer.

use super::arch::{cell_from_pairs, pair_location};
use super::{CELL_NAMES, DartsArch, DartsCell, DartsOp, DartsSpace, NODES, ParseError};

/// The genotype's tokens: names, integers, quoted strings and punctuation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token<'a> {
    Ident(&'a str),
    Int(&'a str),
    Str(&'a str),
    Punct(char),
}

impl Token<'_> {
    fn describe(self) -> String {
        match self {
            Token::Ident(s) | Token::Int(s) => format!("'{s}'"),
            Token::Str(s) => format!("the string '{s}'"),
            Token::Punct(c) => format!("'{c}'"),
        }
    }
}

/// A character as messages quote it: control characters escaped, the rest as they are.
fn shown(c: char) -> String {
    if c.is_control() { c.escape_debug().to_string() } else { c.to_string() }
}

/// Splits a genotype into tokens, each with its 1-based character position.
fn tokenize(text: &str) -> Result<Vec<(Token<'_>, usize)>, String> {
    let mut tokens = Vec::new();
    let mut chars = text.char_indices().enumerate().peekable();
    while let Some((n, (start, ch))) = chars.next() {
        let at = n + 1;
        let mut end = start + ch.len_utf8();
        if ch.is_whitespace() {
            continue;
        } else if ch.is_ascii_digit() {
            while let Some(&(_, (b, c))) = chars.peek().filter(|(_, (_, c))| c.is_ascii_digit()) {
                end = b + c.len_utf8();
                chars.next();
            }
            tokens.push((Token::Int(&text[start..end]), at));
        } else if ch.is_ascii_alphabetic() || ch == '_' {
            while let Some(&(_, (b, c))) = chars.peek().filter(|(_, (_, c))| c.is_ascii_alphanumeric() || *c == '_') {
                end = b + c.len_utf8();
                chars.next();
            }
            tokens.push((Token::Ident(&text[start..end]), at));
        } else if ch == '\'' || ch == '"' {
            // Operation names hold only letters, digits and '_': a string ends at its quote or fails at the
            // first other character, which locates a missing quote where it is missing.
            loop {
                match chars.next() {
                    Some((_, (close, c))) if c == ch => {
                        tokens.push((Token::Str(&text[end..close]), at));
                        break;
                    }
                    Some((_, (_, c))) if c.is_ascii_alphanumeric() || c == '_' => {}
                    Some((n, (_, c))) => {
                        return Err(format!(
                            "the string starting at character {at} is not closed before '{}' at character {} \
                             (operation names hold only letters, digits and '_')",
                            shown(c),
                            n + 1
                        ));
                    }
                    None => return Err(format!("unterminated string starting at character {at}")),
                }
            }
        } else if "()[],=".contains(ch) {
            tokens.push((Token::Punct(ch), at));
        } else {
            return Err(format!("unexpected character '{}' at character {at}", shown(ch)));
        }
    }
    Ok(tokens)
}

/// A recursive-descent reader of the genotype's tokens.
struct GenotypeParser<'a> {
    tokens: Vec<(Token<'a>, usize)>,
    next: usize,
}

impl<'a> GenotypeParser<'a> {
    fn peek(&self) -> Option<Token<'a>> {
        self.tokens.get(self.next).map(|&(token, _)| token)
    }

    /// What stands at the current position, for messages.
    fn found(&self) -> String {
        match self.tokens.get(self.next) {
            Some(&(token, at)) => format!("{} at character {at}", token.describe()),
            None => "the end of the text".to_string(),
        }
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.peek() == Some(Token::Punct(c));
        self.next += usize::from(found);
        found
    }

    fn expect(&mut self, c: char, context: &str) -> Result<(), String> {
        if self.eat(c) { Ok(()) } else { Err(format!("expected '{c}' {context}, found {}", self.found())) }
    }

    fn ident(&mut self, what: &str) -> Result<(&'a str, usize), String> {
        match self.tokens.get(self.next) {
            Some(&(Token::Ident(name), at)) => {
                self.next += 1;
                Ok((name, at))
            }
            _ => Err(format!("expected {what}, found {}", self.found())),
        }
    }

    fn int(&mut self, what: &str) -> Result<&'a str, String> {
        match self.peek() {
            Some(Token::Int(digits)) => {
                self.next += 1;
                Ok(digits)
            }
            _ => Err(format!("expected {what}, found {}", self.found())),
        }
    }

    /// `[('op', input), ...]`, returned raw; the cell checks count, operations and inputs.
    fn pairs(&mut self, cell: usize) -> Result<Vec<(&'a str, &'a str)>, String> {
        let field = CELL_NAMES[cell];
        self.expect('[', &format!("to open the list of field '{field}'"))?;
        let mut pairs = Vec::new();
        while !self.eat(']') {
            let location = pair_location(cell, pairs.len());
            self.expect('(', &format!("to open the pair of {location}"))?;
            let name = match self.peek() {
                Some(Token::Str(name)) => {
                    self.next += 1;
                    name
                }
                _ => return Err(format!("{location}: expected a quoted operation name, found {}", self.found())),
            };
            self.expect(',', &format!("after the operation of {location}"))?;
            let input = self.int("an input number").map_err(|e| format!("{location}: {e}"))?;
            self.eat(',');
            self.expect(')', &format!("to close the pair of {location}"))?;
            pairs.push((name, input));
            if !self.eat(',') {
                self.expect(']', &format!("or ',' after {location}"))?;
                break;
            }
        }
        Ok(pairs)
    }

    /// `[2, 3, 4, 5]` or `range(2, 6)`: the only concatenation a 4-node DARTS cell has.
    fn concat(&mut self, field: &str) -> Result<(), String> {
        let (numbers, found) = if self.peek() == Some(Token::Ident("range")) {
            self.next += 1;
            self.expect('(', "after 'range'")?;
            let start = self.int("the start of the range")?;
            self.expect(',', "after the start of the range")?;
            let stop = self.int("the end of the range")?;
            self.eat(',');
            self.expect(')', "to close 'range('")?;
            let numbers = match (start.parse::<usize>(), stop.parse::<usize>()) {
                (Ok(start), Ok(stop)) if stop - start.min(stop) <= NODES => (start..stop).map(Some).collect(),
                _ => Vec::new(),
            };
            (numbers, format!("range({start}, {stop})"))
        } else {
            self.expect('[', &format!("to open the list of field '{field}'"))?;
            let mut digits = Vec::new();
            while !self.eat(']') {
                digits.push(self.int(&format!("a node number in field '{field}'"))?);
                if !self.eat(',') {
                    self.expect(']', &format!("or ',' in field '{field}'"))?;
                    break;
                }
            }
            (digits.iter().map(|d| d.parse::<usize>().ok()).collect(), format!("[{}]", digits.join(", ")))
        };
        if numbers != [Some(2), Some(3), Some(4), Some(5)] {
            return Err(format!(
                "{field} must be [2, 3, 4, 5] or range(2, 6), as the cell concatenates all four intermediate \
                 nodes; found {found}"
            ));
        }
        Ok(())
    }

    fn genotype(&mut self, ops: &[DartsOp]) -> Result<DartsArch, String> {
        match self.peek() {
            Some(Token::Ident("Genotype")) => self.next += 1,
            _ => return Err(format!("expected 'Genotype(', found {}", self.found())),
        }
        self.expect('(', "after 'Genotype'")?;
        const FIELDS: [&str; 4] = ["normal", "normal_concat", "reduce", "reduce_concat"];
        let mut seen = [false; 4];
        let mut cells: [Vec<(&str, &str)>; 2] = [Vec::new(), Vec::new()];
        while !self.eat(')') {
            let (name, at) = self.ident("a field name (normal, normal_concat, reduce, reduce_concat)")?;
            let index = FIELDS.iter().position(|&f| f == name).ok_or_else(|| {
                format!(
                    "unknown field '{name}' at character {at} (expected normal, normal_concat, reduce, reduce_concat)"
                )
            })?;
            if std::mem::replace(&mut seen[index], true) {
                return Err(format!("field '{name}' given twice (again at character {at})"));
            }
            self.expect('=', &format!("after field '{name}'"))?;
            match index {
                0 | 2 => cells[index / 2] = self.pairs(index / 2)?,
                _ => self.concat(name)?,
            }
            if !self.eat(',') {
                self.expect(')', "or ',' after a field")?;
                break;
            }
        }
        if self.next < self.tokens.len() {
            return Err(format!("unexpected {} after the closing ')'", self.found()));
        }
        if let Some(missing) = FIELDS.iter().zip(seen).find(|(_, seen)| !seen) {
            return Err(format!("missing field '{}'", missing.0));
        }
        let normal = cell_from_pairs(0, &cells[0], ops)?;
        let reduce = cell_from_pairs(1, &cells[1], ops)?;
        Ok(DartsArch { normal, reduce })
    }
}

pub(super) fn parse(space: &DartsSpace, text: &str) -> Result<DartsArch, ParseError> {
    let tokens = tokenize(text).map_err(|e| ParseError::new(format!("darts genotype: {e}")))?;
    GenotypeParser { tokens, next: 0 }.genotype(&space.ops).map_err(|e| ParseError::new(format!("darts genotype: {e}")))
}

pub(super) fn print(arch: &DartsArch) -> String {
    let pairs = |cell: &DartsCell| {
        let pairs: Vec<String> =
            cell.nodes.iter().flatten().map(|(op, input)| format!("('{}', {input})", op.name())).collect();
        pairs.join(", ")
    };
    format!(
        "Genotype(normal=[{}], normal_concat=[2, 3, 4, 5], reduce=[{}], reduce_concat=[2, 3, 4, 5])",
        pairs(&arch.normal),
        pairs(&arch.reduce)
    )
}
