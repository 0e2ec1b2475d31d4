//! Browser tests of the checker's page.
