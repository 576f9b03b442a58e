//! The store test suite (being written).
