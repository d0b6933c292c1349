//! The NAS-Bench-201 printed form, the benchmark's own string
//! `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`: reading it with located errors, and writing it.

use super::arch::unknown_op;
use super::{EDGES, Nb201Arch, Nb201Op, ParseError};

pub(super) fn parse(text: &str) -> Result<Nb201Arch, ParseError> {
    let text = text.trim();
    let groups: Vec<&str> = text.split('+').collect();
    if groups.len() != 3 {
        return Err(ParseError::new(format!(
            "nb201 architecture '{text}': expected 3 nodes separated by '+', found {}",
            groups.len()
        )));
    }
    let mut ops = [Nb201Op::None; EDGES];
    for (i, group) in groups.iter().enumerate() {
        let to = i + 1;
        let inner =
            group.strip_prefix('|').and_then(|g| g.strip_suffix('|')).filter(|g| !g.is_empty()).ok_or_else(|| {
                ParseError::new(format!("nb201 architecture '{text}': node {to} '{group}' must look like |op~0|…|"))
            })?;
        let tokens: Vec<&str> = inner.split('|').collect();
        if tokens.len() != to {
            return Err(ParseError::new(format!(
                "nb201 architecture '{text}': node {to} takes {to} inputs, found {}",
                tokens.len()
            )));
        }
        let mut seen = [false; 3];
        for token in tokens {
            let (name, from) = token.split_once('~').ok_or_else(|| {
                ParseError::new(format!("nb201 architecture '{text}': node {to}: '{token}' is not op~input"))
            })?;
            let from: usize = from.parse().ok().filter(|&f| f < to).ok_or_else(|| {
                ParseError::new(format!(
                    "nb201 architecture '{text}': node {to}: input '{from}' must be a node number below {to}"
                ))
            })?;
            if std::mem::replace(&mut seen[from], true) {
                return Err(ParseError::new(format!(
                    "nb201 architecture '{text}': node {to} lists input {from} twice"
                )));
            }
            let op = Nb201Op::from_name(name).ok_or_else(|| {
                ParseError::new(format!("nb201 architecture '{text}': node {to}: {}", unknown_op(name)))
            })?;
            ops[to * (to - 1) / 2 + from] = op;
        }
    }
    Ok(Nb201Arch { ops })
}

pub(super) fn print(arch: &Nb201Arch) -> String {
    let mut out = String::with_capacity(96);
    for to in 1..=3 {
        if to > 1 {
            out.push('+');
        }
        out.push('|');
        for from in 0..to {
            out.push_str(arch.op(to, from).name());
            out.push('~');
            out.push(char::from(b'0' + from as u8));
            out.push('|');
        }
    }
    out
}
