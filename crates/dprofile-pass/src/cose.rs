//! COSE_Sign1 with Ed25519 over a payload, and the zlib layer of a pass.

use std::cell::RefCell;

use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};

use coset::{
    CborSerializable as _, CoseSign1, CoseSign1Builder, HeaderBuilder, TaggedCborSerializable as _,
    iana,
};
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};

/// Signs `payload` as a tagged COSE_Sign1 with `key_id` and EdDSA in the protected header.
pub(crate) fn sign(
    payload: &[u8],
    key_id: &str,
    key: &SigningKey,
    content_type: Option<&str>,
) -> Vec<u8> {
    let mut header = HeaderBuilder::new()
        .algorithm(iana::Algorithm::EdDSA)
        .key_id(key_id.as_bytes().to_vec());
    if let Some(content_type) = content_type {
        header = header.content_type(content_type.to_owned());
    }
    let sign1 = CoseSign1Builder::new()
        .protected(header.build())
        .payload(payload.to_vec())
        .create_signature(&[], |to_be_signed| {
            key.sign(to_be_signed).to_bytes().to_vec()
        })
        .build();
    match sign1.to_tagged_vec() {
        Ok(bytes) => bytes,
        // Only a value that cannot be CBOR fails here, and ours is built just above.
        Err(error) => unreachable!("a COSE_Sign1 built here does not serialise: {error}"),
    }
}

/// What a COSE_Sign1 that parsed says before its signature is checked.
pub(crate) struct Parsed {
    pub sign1: CoseSign1,
    pub key_id: String,
}

/// Why bytes are not a COSE_Sign1 we can check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(crate) struct CoseError(pub String);

/// Reads a COSE_Sign1 (tagged 18 or not) signed with EdDSA and naming its key.
pub(crate) fn parse(bytes: &[u8]) -> Result<Parsed, CoseError> {
    let sign1 = CoseSign1::from_tagged_slice(bytes)
        .or_else(|_| CoseSign1::from_slice(bytes))
        .map_err(|error| CoseError(format!("not a COSE_Sign1: {error}")))?;
    let algorithm = sign1.protected.header.alg.clone();
    if algorithm != Some(coset::Algorithm::Assigned(iana::Algorithm::EdDSA)) {
        return Err(CoseError(format!(
            "the protected header names algorithm {algorithm:?}, not EdDSA"
        )));
    }
    let key_id = String::from_utf8(sign1.protected.header.key_id.clone())
        .map_err(|_| CoseError("the key id is not UTF-8 text".to_owned()))?;
    if key_id.is_empty() {
        return Err(CoseError("the protected header names no key id".to_owned()));
    }
    if sign1.payload.is_none() {
        return Err(CoseError("the COSE_Sign1 carries no payload".to_owned()));
    }
    Ok(Parsed { sign1, key_id })
}

/// Whether `key` signed `parsed`.
pub(crate) fn signature_holds(parsed: &Parsed, key: &VerifyingKey) -> bool {
    parsed
        .sign1
        .verify_signature(&[], |signature, to_be_signed| {
            let signature = Signature::from_slice(signature).map_err(|_| ())?;
            key.verify_strict(to_be_signed, &signature).map_err(|_| ())
        })
        .is_ok()
}

thread_local! {
    // A zlib stream's state is hundreds of kilobytes to set up and a pass is a few hundred
    // bytes: one compressor and one decompressor per thread, reset for each pass, made
    // issuing several times faster.
    static COMPRESSOR: RefCell<Compress> = RefCell::new(Compress::new(Compression::best(), true));
    static DECOMPRESSOR: RefCell<Decompress> = RefCell::new(Decompress::new(true));
}

pub(crate) fn zlib(bytes: &[u8]) -> Vec<u8> {
    COMPRESSOR.with_borrow_mut(|compressor| {
        compressor.reset();
        let mut compressed = Vec::with_capacity(bytes.len() + 64);
        loop {
            let consumed = usize::try_from(compressor.total_in()).unwrap_or(bytes.len());
            match compressor.compress_vec(
                &bytes[consumed.min(bytes.len())..],
                &mut compressed,
                FlushCompress::Finish,
            ) {
                Ok(Status::StreamEnd) => return compressed,
                // Out of room: grow and go on.
                Ok(Status::Ok | Status::BufError) => compressed.reserve(compressed.capacity() + 64),
                Err(error) => unreachable!("zlib into memory failed: {error}"),
            }
        }
    })
}

/// Inflates at most `limit` bytes; more is an error (a bomb, or not ours), and so is a
/// stream that ends early or is not zlib.
pub(crate) fn unzlib(bytes: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    DECOMPRESSOR.with_borrow_mut(|decompressor| {
        decompressor.reset(true);
        let mut inflated = Vec::with_capacity(bytes.len() * 3 + 64);
        loop {
            let (before_in, before_out) = (decompressor.total_in(), decompressor.total_out());
            let consumed = usize::try_from(before_in)
                .unwrap_or(bytes.len())
                .min(bytes.len());
            let status = decompressor
                .decompress_vec(&bytes[consumed..], &mut inflated, FlushDecompress::Finish)
                .map_err(|error| error.to_string())?;
            if inflated.len() as u64 > limit {
                return Err(format!("it inflates past {limit} bytes"));
            }
            match status {
                Status::StreamEnd => return Ok(inflated),
                Status::Ok | Status::BufError => {
                    let progressed = decompressor.total_in() != before_in
                        || decompressor.total_out() != before_out;
                    if !progressed && inflated.len() < inflated.capacity() {
                        return Err("the stream ends before its end".to_owned());
                    }
                    let room = (inflated.capacity() + 64).min(limit as usize + 1);
                    inflated.reserve(room);
                }
            }
        }
    })
}
