//! Encrypted local store (being written).
