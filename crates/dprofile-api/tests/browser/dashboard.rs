//! Browser tests of the dashboard pages.
