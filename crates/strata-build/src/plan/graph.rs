//! The stage graph: an edge goes from a stage to every stage it reads (`FROM <stage>`,
//! `COPY --from`, `RUN --mount=from=`). Only the stages the target needs are run, in an order
//! where every stage comes after what it reads.

use crate::error::StageError;

/// The stages to run for `target`, in dependency order; fails on a cycle.
pub fn order(
    deps: &[Vec<usize>],
    target: usize,
    names: &[String],
) -> Result<Vec<usize>, StageError> {
    let mut order = Vec::new();
    let mut state = vec![Mark::New; deps.len()];
    visit(target, deps, &mut state, &mut order, names)?;
    Ok(order)
}

/// BuildKit's `validateCircularDependency` (dockerfile2llb/convert.go): a cycle anywhere in
/// the file is an error, needed by the target or not. Returns the stage it was found at.
pub fn check_cycles(deps: &[Vec<usize>], names: &[String]) -> Result<(), (usize, StageError)> {
    let mut state = vec![Mark::New; deps.len()];
    let mut order = Vec::new();
    for start in 0..deps.len() {
        visit(start, deps, &mut state, &mut order, names).map_err(|e| (start, e))?;
    }
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    New,
    OnStack,
    Done,
}

fn visit(
    n: usize,
    deps: &[Vec<usize>],
    state: &mut [Mark],
    order: &mut Vec<usize>,
    names: &[String],
) -> Result<(), StageError> {
    match state[n] {
        Mark::Done => return Ok(()),
        Mark::OnStack => {
            return Err(StageError::Circular {
                stage: names[n].clone(),
            })
        }
        Mark::New => {}
    }
    state[n] = Mark::OnStack;
    for &d in &deps[n] {
        visit(d, deps, state, order, names)?;
    }
    state[n] = Mark::Done;
    order.push(n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("s{i}")).collect()
    }

    #[test]
    fn plans_only_what_the_target_needs() {
        let deps = vec![vec![], vec![], vec![0], vec![2]];
        assert_eq!(order(&deps, 3, &names(4)).unwrap(), [0, 2, 3]);
    }

    #[test]
    fn detects_cycles() {
        let deps = vec![vec![1], vec![0]];
        let err = order(&deps, 1, &names(2)).unwrap_err();
        assert!(
            matches!(&err, StageError::Circular { stage } if stage == "s1"),
            "{err:?}"
        );
        assert_eq!(err.to_string(), "circular dependency detected on stage: s1");
    }

    #[test]
    fn a_cycle_the_target_does_not_need_is_still_an_error() {
        let deps = vec![vec![], vec![2], vec![1], vec![0]];
        assert_eq!(order(&deps, 3, &names(4)).unwrap(), [0, 3]);
        let (at, err) = check_cycles(&deps, &names(4)).unwrap_err();
        assert_eq!(at, 1);
        assert!(
            matches!(&err, StageError::Circular { stage } if stage == "s1"),
            "{err:?}"
        );
        assert!(check_cycles(&[vec![], vec![0]], &names(2)).is_ok());
    }
}
