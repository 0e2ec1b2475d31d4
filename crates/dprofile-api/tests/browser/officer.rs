//! Browser tests of the officer pages.
