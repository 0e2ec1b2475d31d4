//! Signed QR status passes that a checker verifies offline.
//!
//! A pass is a CWT (RFC 8392: `iss`, `iat`, `exp`, `cti`, the Token Status List `status`
//! claim, and the view's private claims under `dp`) signed as a COSE_Sign1 (RFC 9052) with
//! Ed25519 (key id in the protected header), zlib-compressed, Base45-encoded (RFC 9285) and
//! prefixed with `DP1:`: the layout of the EU Digital COVID Certificate with our prefix. The
//! signer keys are published in a [`TrustList`] signed by a root key; revocation is a
//! [`StatusList`] (IETF draft-ietf-oauth-status-list: one bit per pass index, zlib, in a
//! signed CWT). [`verify`] checks a pass against both and an injected clock.
//!
//! This crate does no I/O: no network, no files, no database. Keys, lists and the time come
//! from the caller.

mod claims;
mod cose;
mod keys;
mod qr;
mod status_list;
mod trust;
mod verify;

pub use claims::{IdentityClaims, PassClaims, PassView, StatusClaims};
pub use keys::{PassSigner, RootKey, key_id_of};
pub use qr::{QrError, decode_png, render_png, render_svg};
pub use status_list::{StatusList, StatusListError, StatusListToken};
pub use trust::{TrustList, TrustListError, TrustedKey};
pub use verify::{RejectReason, Rejection, Verdict, VerifiedPass, verify};

/// The versioned prefix of a pass's text; a format change gets `DP2:`.
pub const PREFIX: &str = "DP1:";

/// The longest a decompressed pass may be: a pass is a few hundred bytes, and a bound stops a
/// zlib bomb before it fills memory.
pub const MAX_DECOMPRESSED_BYTES: u64 = 16 * 1024;

/// Signs `claims` with `signer` and returns the pass text (`DP1:` + Base45).
pub fn issue(claims: &PassClaims, signer: &PassSigner) -> String {
    let payload = claims.to_cbor();
    let signed = cose::sign(&payload, signer.key_id(), signer.signing_key(), None);
    let compressed = cose::zlib(&signed);
    let mut text = String::with_capacity(PREFIX.len() + compressed.len() * 3 / 2 + 2);
    text.push_str(PREFIX);
    text.push_str(&base45::encode(&compressed));
    text
}
