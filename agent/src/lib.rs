//! Not built yet: this crate is a placeholder in the workspace layout; see the open issues.
