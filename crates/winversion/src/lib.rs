//! winversion (placeholder; being written)
