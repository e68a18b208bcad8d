//! minisig (placeholder; being written)
