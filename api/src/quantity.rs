//! Quantities (`500m`, `128Mi`): placeholder.
