//! cabwriter (placeholder; being written)
