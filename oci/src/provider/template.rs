//! `repository_template` of an `oci_mirror` block: an HCL template over
//! `hostname`, `namespace` and `type` only, which yields `host/path` (no
//! scheme), and interpolates every part of a provider address that the
//! block's `include` patterns leave open (OpenTofu refuses it otherwise).

use crate::error::{Error, Result, TemplateProblem};

pub const VARIABLES: [&str; 3] = ["hostname", "namespace", "type"];

/// A checked template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    text: String,
    /// Which of [`VARIABLES`] it interpolates.
    uses: [bool; 3],
}

/// A provider source address `HOSTNAME/NAMESPACE/TYPE`, or an `include`
/// pattern of that shape where any part may be `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Address {
    pub parts: [String; 3],
}

impl Address {
    pub fn parse(text: &str) -> Option<Address> {
        let parts: Vec<&str> = text.split('/').collect();
        let [h, n, t] = parts.as_slice() else {
            return None;
        };
        let ok = |p: &str| !p.is_empty() && !p.contains(char::is_whitespace);
        (ok(h) && ok(n) && ok(t)).then(|| Address {
            parts: [h.to_string(), n.to_string(), t.to_string()],
        })
    }
}

impl Template {
    pub fn parse(text: &str) -> Result<Template> {
        let bad = |problem| Error::BadTemplate {
            template: text.to_string(),
            problem,
        };
        if text.contains("://") {
            return Err(bad(TemplateProblem::Scheme));
        }
        let mut uses = [false; 3];
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| bad(TemplateProblem::Unclosed))?;
            let name = after[..end].trim();
            let i = VARIABLES
                .iter()
                .position(|v| *v == name)
                .ok_or_else(|| bad(TemplateProblem::UnknownVariable(name.to_string())))?;
            uses[i] = true;
            rest = &after[end + 1..];
        }
        if text.contains("%{") {
            return Err(bad(TemplateProblem::Directive));
        }
        let template = Template {
            text: text.to_string(),
            uses,
        };
        let sample = template.render(&["h.example", "ns", "type"]);
        match sample.split_once('/') {
            Some((host, path)) if !host.is_empty() && !path.is_empty() => Ok(template),
            _ => Err(bad(TemplateProblem::NotHostPath)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The repository for `hostname`, `namespace`, `type`.
    pub fn render(&self, values: &[&str; 3]) -> String {
        let mut out = String::new();
        let mut rest = self.text.as_str();
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').unwrap_or(after.len());
            let name = after[..end].trim();
            if let Some(i) = VARIABLES.iter().position(|v| *v == name) {
                out.push_str(values[i]);
            }
            rest = after.get(end + 1..).unwrap_or("");
        }
        out.push_str(rest);
        out
    }

    /// Refuses `include` patterns that leave open a part the template does
    /// not interpolate (OpenTofu's rule); with no pattern, every part is open.
    pub fn check_includes(&self, includes: &[String]) -> Result<()> {
        let patterns: Vec<Address> = if includes.is_empty() {
            vec![Address::parse("*/*/*").expect("a valid pattern")]
        } else {
            includes
                .iter()
                .map(|p| {
                    Address::parse(p).ok_or_else(|| Error::BadTemplate {
                        template: p.clone(),
                        problem: TemplateProblem::BadInclude,
                    })
                })
                .collect::<Result<_>>()?
        };
        for pattern in &patterns {
            for (i, part) in pattern.parts.iter().enumerate() {
                if part == "*" && !self.uses[i] {
                    return Err(Error::BadTemplate {
                        template: self.text.clone(),
                        problem: TemplateProblem::LeavesOpen {
                            variable: VARIABLES[i],
                            include: pattern.parts.join("/"),
                        },
                    });
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_render_and_are_checked() {
        let t = Template::parse("r.example:5000/mirror/${namespace}/${type}").unwrap();
        assert_eq!(
            t.render(&["registry.opentofu.org", "hashicorp", "tls"]),
            "r.example:5000/mirror/hashicorp/tls"
        );
        assert!(
            t.check_includes(&["registry.opentofu.org/*/*".into()])
                .is_ok()
        );
        let err = t.check_includes(&[]).unwrap_err().to_string();
        assert!(err.contains("${hostname}"), "{err}");
        assert!(Template::parse("https://r.example/${type}").is_err());
        assert!(Template::parse("r.example/${version}").is_err());
        assert!(Template::parse("${type}").is_err());
        let exact = Template::parse("r.example/simple").unwrap();
        assert!(
            exact
                .check_includes(&["example.com/test/simple".into()])
                .is_ok()
        );
        assert!(
            exact
                .check_includes(&["example.com/*/simple".into()])
                .is_err()
        );
    }
}
