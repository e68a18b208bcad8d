//! msi-writer (placeholder; being written)
