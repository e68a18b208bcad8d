//! winrelease
