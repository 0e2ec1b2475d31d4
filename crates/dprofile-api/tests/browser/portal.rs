//! Browser tests of the portal pages.
