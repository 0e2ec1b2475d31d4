//! Officers' sign-in as the API runs it: the session rules of
//! [`dprofile_pipeline::officers`] and a rate limit per client address on top of the
//! per-account lock-out (which guards one account; this guards against trying many).

use chrono::Duration;
use dprofile_pipeline::officers::OfficerAuthConfig;

use crate::person_auth::RateLimiter;

/// Sign-in requests per client address per window, by default.
pub const DEFAULT_SIGN_INS_PER_ADDRESS: u32 = 30;

pub struct OfficerAuth {
    /// Session lifetime, idle timeout, lock-out.
    pub config: OfficerAuthConfig,
    /// Sign-in requests per client address.
    pub by_address: RateLimiter,
}

impl OfficerAuth {
    pub fn new(config: OfficerAuthConfig, per_address: u32, window: Duration) -> OfficerAuth {
        OfficerAuth {
            config,
            by_address: RateLimiter::new(per_address, window),
        }
    }
}

impl Default for OfficerAuth {
    fn default() -> Self {
        OfficerAuth::new(
            OfficerAuthConfig::default(),
            DEFAULT_SIGN_INS_PER_ADDRESS,
            Duration::minutes(15),
        )
    }
}
