//! `Einsum` equations (`"bij,bjk->bik"`): parsed once into one index term per operand and
//! the output term, shared by shape inference (which needs the output shape of any equation)
//! and the `hl` conversion (which recognises the matmul forms among them).
//!
//! Whitespace is ignored, as numpy and onnxruntime do. Without `->` the output is implicit:
//! the indices that occur exactly once, in alphabetical order. The ellipsis (`...`) is not
//! parsed; such equations are reported as unsupported rather than guessed at.

/// An `Einsum` equation: the index letters of each operand and of the output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Equation {
    pub inputs: Vec<Vec<char>>,
    pub output: Vec<char>,
}

impl Equation {
    /// Parses `text`; the error says what in the equation is not understood.
    pub fn parse(text: &str) -> Result<Equation, String> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        if compact.contains("...") {
            return Err("the ellipsis ('...') is not supported".into());
        }
        let (lhs, rhs) = match compact.split_once("->") {
            Some((l, r)) => (l, Some(r)),
            None => (compact.as_str(), None),
        };
        let inputs = lhs.split(',').map(term).collect::<Result<Vec<_>, _>>()?;
        let output = match rhs {
            Some(r) => term(r)?,
            None => implicit_output(&inputs),
        };
        for (k, &c) in output.iter().enumerate() {
            if output[..k].contains(&c) {
                return Err(format!("output index '{c}' appears twice"));
            }
            if !inputs.iter().any(|t| t.contains(&c)) {
                return Err(format!("output index '{c}' is in no operand"));
            }
        }
        Ok(Equation { inputs, output })
    }

    /// The output shape for operands of `shapes`: every index takes the size of its axes,
    /// which must agree.
    pub fn output_shape(&self, shapes: &[&[usize]]) -> Result<Vec<usize>, String> {
        if shapes.len() != self.inputs.len() {
            return Err(format!(
                "the equation has {} operand(s) but the node has {} input(s)",
                self.inputs.len(),
                shapes.len()
            ));
        }
        let mut sizes: Vec<(char, usize)> = Vec::new();
        for (k, (t, s)) in self.inputs.iter().zip(shapes).enumerate() {
            if t.len() != s.len() {
                return Err(format!(
                    "operand {k} has shape {s:?} but the equation gives it {} indices",
                    t.len()
                ));
            }
            for (&c, &d) in t.iter().zip(s.iter()) {
                match sizes.iter().find(|(x, _)| *x == c) {
                    Some(&(_, e)) if e != d => {
                        return Err(format!("index '{c}' has sizes {e} and {d}"))
                    }
                    Some(_) => {}
                    None => sizes.push((c, d)),
                }
            }
        }
        Ok(self
            .output
            .iter()
            .map(|c| sizes.iter().find(|(x, _)| x == c).map_or(1, |s| s.1))
            .collect())
    }
}

/// The letters of one term.
fn term(t: &str) -> Result<Vec<char>, String> {
    match t.chars().find(|c| !c.is_ascii_alphabetic()) {
        Some(c) => Err(format!("'{c}' is not an index letter")),
        None => Ok(t.chars().collect()),
    }
}

/// The indices occurring exactly once over all operands, sorted.
fn implicit_output(inputs: &[Vec<char>]) -> Vec<char> {
    let all: Vec<char> = inputs.iter().flatten().copied().collect();
    let mut once: Vec<char> = all
        .iter()
        .copied()
        .filter(|c| all.iter().filter(|x| *x == c).count() == 1)
        .collect();
    once.sort_unstable();
    once
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chars(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    #[test]
    fn explicit_and_implicit_outputs() {
        let e = Equation::parse("bij, bjk -> bik").unwrap();
        assert_eq!(e.inputs, [chars("bij"), chars("bjk")]);
        assert_eq!(e.output, chars("bik"));
        assert_eq!(Equation::parse("ij,jk").unwrap().output, chars("ik"));
        assert_eq!(Equation::parse("i,i").unwrap().output, chars(""));
    }

    #[test]
    fn rejected_equations_say_why() {
        let err = |s| Equation::parse(s).unwrap_err();
        assert_eq!(err("...ii->...i"), "the ellipsis ('...') is not supported");
        assert_eq!(err("ij,jk->ikk"), "output index 'k' appears twice");
        assert_eq!(err("ij,jk->iz"), "output index 'z' is in no operand");
        assert_eq!(err("i1,jk->ik"), "'1' is not an index letter");
    }

    #[test]
    fn output_shapes() {
        let e = Equation::parse("bhid,bhjd->bhij").unwrap();
        let (q, k): (&[usize], &[usize]) = (&[1, 2, 5, 4], &[1, 2, 7, 4]);
        assert_eq!(e.output_shape(&[q, k]).unwrap(), [1, 2, 5, 7]);
        assert_eq!(
            e.output_shape(&[q, &[1, 2, 7, 3]]).unwrap_err(),
            "index 'd' has sizes 4 and 3"
        );
        assert_eq!(
            e.output_shape(&[q, &[1, 7, 4]]).unwrap_err(),
            "operand 1 has shape [1, 7, 4] but the equation gives it 4 indices"
        );
    }
}
