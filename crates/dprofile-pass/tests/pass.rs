//! The pass format and the offline verifier: every kind of rejection has its own reason.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use coset::{CoseSign1, TaggedCborSerializable as _};
use dprofile_pass::{
    IdentityClaims, PassClaims, PassSigner, PassView, RejectReason, RootKey, StatusClaims,
    StatusList, StatusListToken, TrustList, TrustListError, TrustedKey, Verdict, decode_png, issue,
    render_png, render_svg, verify,
};

const URI: &str = "https://registry.example/v1/passes/status-list";

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, 12, 0, 0).unwrap()
}

fn claims(index: u64) -> PassClaims {
    PassClaims {
        issuer: "dprofile-test".to_owned(),
        pass_id: vec![1, 2, 3, 4, 5, 6, 7, 8],
        issued_at: at(10),
        expires_at: at(20),
        status_index: index,
        status_list_uri: URI.to_owned(),
        view: PassView::StatusIdentity,
        status: StatusClaims {
            lawful_stay: true,
            stay_basis: Some("residence_permit".to_owned()),
            stay_until: NaiveDate::from_ymd_opt(2028, 5, 1),
            right_to_work: true,
            work_until: NaiveDate::from_ymd_opt(2028, 5, 1),
        },
        identity: Some(IdentityClaims {
            name: "ABDULLAYEV RUSTAM".to_owned(),
            birth_date: "1991-07-14".to_owned(),
            document_number: "FA1234567".to_owned(),
        }),
    }
}

struct World {
    signer: PassSigner,
    trust: TrustList,
    status: StatusListToken,
}

fn world() -> World {
    let signer = PassSigner::from_seed([7; 32]);
    let trust = TrustList {
        issuer: "dprofile-test".to_owned(),
        issued_at: at(10),
        keys: vec![TrustedKey::new(signer.verifying_key(), at(1), None)],
    };
    let mut list = StatusList::with_size(64);
    list.revoke(5);
    let status = StatusListToken {
        uri: URI.to_owned(),
        issued_at: at(11),
        expires_at: at(12),
        list,
    };
    World {
        signer,
        trust,
        status,
    }
}

fn check(text: &str, world: &World, now: DateTime<Utc>, expected: Option<RejectReason>) {
    let verdict = verify(text, &world.trust, &world.status, now);
    assert_eq!(verdict.reason(), expected, "{verdict:?}");
}

#[test]
fn a_pass_round_trips_with_all_its_claims() {
    let world = world();
    let text = issue(&claims(3), &world.signer);
    assert!(text.starts_with("DP1:"));
    match verify(&text, &world.trust, &world.status, at(15)) {
        Verdict::Valid(pass) => {
            assert_eq!(pass.claims, claims(3));
            assert_eq!(pass.key_id, world.signer.key_id());
        }
        other => panic!("expected a valid pass, got {other:?}"),
    }
    let mut status_only = claims(3);
    status_only.view = PassView::StatusOnly;
    status_only.identity = None;
    let text = issue(&status_only, &world.signer);
    assert_eq!(
        verify(&text, &world.trust, &world.status, at(15)).claims(),
        Some(&status_only)
    );
}

#[test]
fn garbage_is_rejected_by_the_layer_it_breaks() {
    let world = world();
    let now = at(15);
    check("", &world, now, Some(RejectReason::MalformedPrefix));
    check(
        "HC1:6BFOXN",
        &world,
        now,
        Some(RejectReason::MalformedPrefix),
    );
    check("DP1:ab", &world, now, Some(RejectReason::MalformedBase45));
    check("DP1:::::", &world, now, Some(RejectReason::MalformedBase45));
    // Valid Base45 of bytes that are not zlib.
    let not_zlib = format!("DP1:{}", base45::encode(b"hello world"));
    check(&not_zlib, &world, now, Some(RejectReason::MalformedZlib));
    // A zlib bomb stops at the limit; a stream cut short is not a pass either.
    let bomb = format!("DP1:{}", base45::encode(zlib(&vec![0u8; 1 << 20])));
    check(&bomb, &world, now, Some(RejectReason::MalformedZlib));
    let whole = zlib(b"a pass is longer than this");
    let cut = format!("DP1:{}", base45::encode(&whole[..whole.len() - 6]));
    check(&cut, &world, now, Some(RejectReason::MalformedZlib));
    // zlib of bytes that are not COSE.
    let not_cose = format!("DP1:{}", base45::encode(zlib(b"not cbor at all")));
    check(&not_cose, &world, now, Some(RejectReason::MalformedCose));
    // Editing a character of the text breaks zlib's checksum or the COSE structure before the
    // signature is even checked: still a rejection, never a pass.
    let text = issue(&claims(3), &world.signer);
    let mut edited: Vec<char> = text.chars().collect();
    let middle = edited.len() / 2;
    edited[middle] = if edited[middle] == 'A' { 'B' } else { 'A' };
    let edited: String = edited.into_iter().collect();
    assert!(!verify(&edited, &world.trust, &world.status, now).is_valid());
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn unzlib(bytes: &[u8]) -> Vec<u8> {
    use std::io::Read as _;
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(bytes)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Opens a pass, lets `edit` change its COSE_Sign1, and closes it again without re-signing.
fn reseal(text: &str, edit: impl FnOnce(&mut CoseSign1)) -> String {
    let compressed = base45::decode(text.strip_prefix("DP1:").unwrap()).unwrap();
    let mut sign1 = CoseSign1::from_tagged_slice(&unzlib(&compressed)).unwrap();
    edit(&mut sign1);
    format!(
        "DP1:{}",
        base45::encode(zlib(&sign1.to_tagged_vec().unwrap()))
    )
}

#[test]
fn a_changed_claim_or_signature_is_tampered() {
    let world = world();
    let text = issue(&claims(3), &world.signer);
    // Someone turns "no right to work" into "yes" in the signed payload.
    let mut forged = claims(3);
    forged.status.work_until = NaiveDate::from_ymd_opt(2099, 1, 1);
    let forged_payload = forged.to_cbor();
    let tampered = reseal(&text, |sign1| sign1.payload = Some(forged_payload));
    check(&tampered, &world, at(15), Some(RejectReason::Tampered));
    let bad_signature = reseal(&text, |sign1| sign1.signature[0] ^= 1);
    check(&bad_signature, &world, at(15), Some(RejectReason::Tampered));
    // The untouched pass resealed the same way verifies: the check is the signature's.
    let untouched = reseal(&text, |_| {});
    check(&untouched, &world, at(15), None);
}

#[test]
fn a_signed_payload_that_is_no_pass_is_malformed_claims() {
    let world = world();
    let mut claims_without_view = claims(3);
    claims_without_view.view = PassView::StatusOnly;
    let text = issue(&claims_without_view, &world.signer);
    // Re-sign a payload without the `dp` claims with the real key: the signature holds, the
    // claims do not.
    let payload = {
        let value = ciborium::Value::Map(vec![(
            ciborium::Value::Integer(1.into()),
            ciborium::Value::Text("dprofile-test".into()),
        )]);
        let mut bytes = Vec::new();
        ciborium::into_writer(&value, &mut bytes).unwrap();
        bytes
    };
    let signer = world.signer.clone();
    let resigned = reseal(&text, |sign1| {
        use ed25519_dalek::Signer as _;
        sign1.payload = Some(payload);
        let to_be_signed = sign1.tbs_data(&[]);
        let key = ed25519_dalek::SigningKey::from_bytes(&signer.seed());
        sign1.signature = key.sign(&to_be_signed).to_bytes().to_vec();
    });
    check(
        &resigned,
        &world,
        at(15),
        Some(RejectReason::MalformedClaims),
    );
}

#[test]
fn time_status_and_keys_each_have_their_reason() {
    let world = world();
    let text = issue(&claims(3), &world.signer);
    check(&text, &world, at(15), None);
    check(&text, &world, at(20), Some(RejectReason::Expired));
    check(&text, &world, at(9), Some(RejectReason::NotYetValid));
    let revoked = issue(&claims(5), &world.signer);
    check(&revoked, &world, at(15), Some(RejectReason::Revoked));
    let beyond_the_list = issue(&claims(1000), &world.signer);
    check(
        &beyond_the_list,
        &world,
        at(15),
        Some(RejectReason::StatusUnknown),
    );
    let stranger = PassSigner::from_seed([9; 32]);
    let unknown = issue(&claims(3), &stranger);
    check(&unknown, &world, at(15), Some(RejectReason::UnknownKey));
    // A rotated key: listed, but it stopped signing on the 5th.
    let mut rotated = world.trust.clone();
    rotated.keys[0].signs_until = Some(at(5));
    let verdict = verify(&text, &rotated, &world.status, at(15));
    assert_eq!(verdict.reason(), Some(RejectReason::KeyNotValidAtIssuance));
    // Every reason has its own code.
    let mut codes: Vec<&str> = [
        RejectReason::MalformedPrefix,
        RejectReason::MalformedBase45,
        RejectReason::MalformedZlib,
        RejectReason::MalformedCose,
        RejectReason::MalformedClaims,
        RejectReason::UnknownKey,
        RejectReason::Tampered,
        RejectReason::KeyNotValidAtIssuance,
        RejectReason::NotYetValid,
        RejectReason::Expired,
        RejectReason::Revoked,
        RejectReason::StatusUnknown,
    ]
    .iter()
    .map(|reason| reason.code())
    .collect();
    codes.sort_unstable();
    codes.dedup();
    assert_eq!(codes.len(), 12);
}

#[test]
fn passes_of_a_rotated_key_stay_valid_while_it_is_listed() {
    let old = PassSigner::from_seed([7; 32]);
    let new = PassSigner::from_seed([8; 32]);
    let rotation = at(12);
    let trust = TrustList {
        issuer: "dprofile-test".to_owned(),
        issued_at: rotation,
        keys: vec![
            TrustedKey::new(old.verifying_key(), at(1), Some(rotation)),
            TrustedKey::new(new.verifying_key(), rotation, None),
        ],
    };
    let root = RootKey::from_seed([3; 32]);
    let trust = TrustList::from_signed(&trust.sign(&root), &root.verifying_key()).unwrap();
    let status = StatusListToken::from_signed(&world().status.sign(&new), &trust).unwrap();
    let old_pass = issue(&claims(3), &old);
    let mut later = claims(4);
    later.issued_at = at(13);
    let new_pass = issue(&later, &new);
    assert_eq!(verify(&old_pass, &trust, &status, at(15)).reason(), None);
    assert_eq!(verify(&new_pass, &trust, &status, at(15)).reason(), None);
    // Once the old key leaves the list, its passes are unknown.
    let mut without_old = trust.clone();
    without_old.keys.remove(0);
    assert_eq!(
        verify(&old_pass, &without_old, &status, at(15)).reason(),
        Some(RejectReason::UnknownKey)
    );
}

#[test]
fn lists_are_signed_and_checked() {
    let world = world();
    let root = RootKey::from_seed([3; 32]);
    let signed = world.trust.sign(&root);
    assert_eq!(
        TrustList::from_signed(&signed, &root.verifying_key()).unwrap(),
        world.trust
    );
    let other_root = RootKey::from_seed([4; 32]);
    assert_eq!(
        TrustList::from_signed(&signed, &other_root.verifying_key()),
        Err(TrustListError::BadSignature)
    );
    assert!(matches!(
        TrustList::from_signed(b"garbage", &root.verifying_key()),
        Err(TrustListError::Malformed(_))
    ));
    let token = world.status.sign(&world.signer);
    let read = StatusListToken::from_signed(&token, &world.trust).unwrap();
    assert_eq!(read, world.status);
    assert_eq!(read.list.is_revoked(5), Some(true));
    assert_eq!(read.list.is_revoked(4), Some(false));
    let stranger = PassSigner::from_seed([9; 32]);
    assert!(StatusListToken::from_signed(&world.status.sign(&stranger), &world.trust).is_err());
}

#[test]
fn a_png_of_the_qr_decodes_and_verifies() {
    let world = world();
    let text = issue(&claims(3), &world.signer);
    let png = render_png(&text).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let scanned = decode_png(&png).unwrap();
    assert_eq!(scanned, text);
    check(&scanned, &world, at(15), None);
    let svg = render_svg(&text).unwrap();
    assert!(svg.contains("<svg"));
    assert!(decode_png(b"not an image").is_err());
}
