//! Evaluating a parsed policy against a [`Request`].
//!
//! A statement applies when its principal matches (bucket policies only), its action matches
//! (`Action`: any pattern; `NotAction`: none), its resource matches (`Resource`: any entry;
//! `NotResource`: none) and its condition holds. Any applying `Deny` makes the decision `Deny`;
//! otherwise any applying `Allow` makes it `Allow`; otherwise it is `NotApplicable`.

use crate::document::{Effect, Statement};
use crate::{Decision, Policy, Request};

impl Policy {
    /// Evaluates every statement: `Deny` if any applying statement denies, else `Allow` if any applying
    /// statement allows, else `NotApplicable`.
    pub fn evaluate(&self, req: &Request<'_>) -> Decision {
        let action = req.action.to_lowercase();
        let mut decision = Decision::NotApplicable;
        for statement in &self.statements {
            if statement.applies(req, &action) {
                match statement.effect {
                    Effect::Deny => return Decision::Deny,
                    Effect::Allow => decision = Decision::Allow,
                }
            }
        }
        decision
    }
}

impl Statement {
    /// Whether the statement applies to `req`; `action` is the request's action, lowercased.
    fn applies(&self, req: &Request<'_>, action: &str) -> bool {
        if let Some((principal, excluded)) = &self.principal {
            if principal.matches(req.principal) == *excluded {
                return false;
            }
        }
        let (actions, excluded) = &self.actions;
        if actions.any_matches(action) == *excluded {
            return false;
        }
        let (resources, excluded) = &self.resources;
        let mut each = resources.each_matches(req.resource, req.context);
        let resource_applies = if *excluded {
            // An entry whose policy variable cannot be replaced makes the statement not apply.
            each.all(|m| m == Some(false))
        } else {
            each.any(|m| m == Some(true))
        };
        resource_applies && self.condition.holds(req.context)
    }
}
