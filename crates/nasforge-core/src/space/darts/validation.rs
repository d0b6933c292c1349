//! DARTS validation: checks that an architecture uses only the space's operations and that every node
//! reads two distinct earlier inputs, naming the cell, node and edge at fault.

use super::arch::{duplicate_input, edge_location, op_error};
use super::{DartsArch, DartsSpace, ParseError};

pub(super) fn validate(space: &DartsSpace, arch: &DartsArch) -> Result<(), ParseError> {
    for (c, cell) in arch.cells().into_iter().enumerate() {
        for (node, pair) in cell.nodes.iter().enumerate() {
            for (edge, &(op, input)) in pair.iter().enumerate() {
                let location = edge_location(c, node, edge);
                if !space.ops.contains(&op) {
                    let message = op_error(op.name(), &space.ops);
                    return Err(ParseError::new(format!("darts architecture: {location}: {message}")));
                }
                if input >= node + 2 {
                    let message = format!("input {input} must be below {}", node + 2);
                    return Err(ParseError::new(format!("darts architecture: {location}: {message}")));
                }
            }
            if pair[0].1 == pair[1].1 {
                return Err(ParseError::new(format!("darts architecture: {}", duplicate_input(c, node, pair[0].1))));
            }
        }
    }
    Ok(())
}
