//! # `generateName`: names for objects nobody named
//!
//! A ReplicaSet creates pods with `generateName: web-6d4cf56db6-` and lets the server finish
//! the name, because only the server can pick one that is not taken. Like Kubernetes, we append
//! five characters from an alphabet without vowels (no accidental words) and without
//! look-alikes (`0`/`o`, `1`/`l`); a collision is simply retried by the caller.

const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Kubernetes caps the prefix so the whole name stays within 63 characters.
const MAX_PREFIX: usize = 58;

/// `prefix` plus five random characters.
pub fn generate(prefix: &str) -> String {
    let prefix = if prefix.len() > MAX_PREFIX {
        // Cut on a character boundary; names are ASCII once validated, but do not panic if not.
        let mut end = MAX_PREFIX;
        while !prefix.is_char_boundary(end) {
            end -= 1;
        }
        &prefix[..end]
    } else {
        prefix
    };
    // A v4 UUID is 122 random bits: plenty for five characters, without another dependency.
    let random = uuid::Uuid::new_v4();
    let suffix: String = random.as_bytes()[..5]
        .iter()
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("{prefix}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_five_characters_from_the_alphabet() {
        let name = generate("web-");
        assert_eq!(name.len(), 9);
        assert!(name.starts_with("web-"));
        assert!(name[4..].bytes().all(|b| ALPHABET.contains(&b)));
        assert_ne!(generate("x-"), generate("x-"));
    }
}
