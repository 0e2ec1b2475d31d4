//! The Ed25519 keys: pass signers (named by a key id) and the root that signs the trust list.

use ed25519_dalek::{SigningKey, VerifyingKey};

/// The key id of a public key: the first eight bytes of the key in hex. Derived, not chosen,
/// so that a trust list cannot name one key with another's id.
pub fn key_id_of(public: &VerifyingKey) -> String {
    public.as_bytes()[..8]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// A key that signs passes and status lists.
#[derive(Clone)]
pub struct PassSigner {
    key_id: String,
    key: SigningKey,
}

impl std::fmt::Debug for PassSigner {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("PassSigner")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl PassSigner {
    pub fn from_seed(seed: [u8; 32]) -> PassSigner {
        let key = SigningKey::from_bytes(&seed);
        PassSigner {
            key_id: key_id_of(&key.verifying_key()),
            key,
        }
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}

/// The key that signs the trust list; its public half is what a verifier pins.
#[derive(Clone)]
pub struct RootKey {
    key: SigningKey,
}

impl std::fmt::Debug for RootKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("RootKey")
            .field("key_id", &key_id_of(&self.key.verifying_key()))
            .finish_non_exhaustive()
    }
}

impl RootKey {
    pub fn from_seed(seed: [u8; 32]) -> RootKey {
        RootKey {
            key: SigningKey::from_bytes(&seed),
        }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    pub(crate) fn signing_key(&self) -> &SigningKey {
        &self.key
    }
}
