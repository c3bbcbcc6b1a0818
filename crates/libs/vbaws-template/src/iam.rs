//! IAM's reading of policy documents that more than one part of the project needs.

/// IAM's wildcards: `*` any run of characters (none included), `?` any one. Case-sensitive,
/// as IAM compares resources; actions are compared without case, so callers lowercase both.
pub fn wildcard(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(c) if *c == '?' || *c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_as_iam_does() {
        assert!(wildcard("a*c", "abbbc"));
        assert!(wildcard("a?c", "abc"));
        assert!(wildcard("*", ""));
        assert!(!wildcard("a*c", "abd"));
        assert!(wildcard(
            "arn:*:stack/s/*",
            "arn:aws:cloudformation:r:1:stack/s/x"
        ));
        assert!(wildcard("arn:aws:s3:::veeam-?epo/*", "arn:aws:s3:::veeam-repo/k"));
        assert!(!wildcard(
            "arn:aws:s3:::Veeam-repo/*",
            "arn:aws:s3:::veeam-repo/k"
        ));
    }
}
