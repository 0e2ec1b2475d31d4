//! A pass as a QR code (SVG for pages, PNG for wallets and printing) and back from a PNG.
//! Base45 and the `DP1:` prefix are in the QR alphanumeric alphabet, so the code stays small.

use image::{ImageFormat, Luma};
use qrcode::{EcLevel, QrCode};

/// Why a QR code cannot be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QrError {
    #[error("the pass does not fit in a QR code: {0}")]
    TooLong(String),
    #[error("the image cannot be read: {0}")]
    Image(String),
    #[error("no QR code was found in the image: photograph it whole, flat and sharp")]
    NotFound,
    #[error("the QR code in the image does not decode: {0}")]
    Undecodable(String),
}

/// Quartile error correction, as the EU certificates: a scuffed or creased print still reads.
fn code(text: &str) -> Result<QrCode, QrError> {
    QrCode::with_error_correction_level(text.as_bytes(), EcLevel::Q)
        .map_err(|error| QrError::TooLong(error.to_string()))
}

/// The pass's QR code as an SVG document.
pub fn render_svg(text: &str) -> Result<String, QrError> {
    Ok(code(text)?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .quiet_zone(true)
        .build())
}

/// The pass's QR code as a PNG (greyscale, 8 pixels per module or more).
pub fn render_png(text: &str) -> Result<Vec<u8>, QrError> {
    let image = code(text)?
        .render::<Luma<u8>>()
        .min_dimensions(320, 320)
        .quiet_zone(true)
        .build();
    let mut png = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut png, ImageFormat::Png)
        .map_err(|error| QrError::Image(error.to_string()))?;
    Ok(png.into_inner())
}

/// The text of the first QR code found in a PNG (or any format `image` reads with its PNG
/// feature: PNG only).
pub fn decode_png(bytes: &[u8]) -> Result<String, QrError> {
    let image = image::load_from_memory(bytes)
        .map_err(|error| QrError::Image(error.to_string()))?
        .to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(image);
    let grids = prepared.detect_grids();
    let grid = grids.first().ok_or(QrError::NotFound)?;
    let (_, text) = grid
        .decode()
        .map_err(|error| QrError::Undecodable(error.to_string()))?;
    Ok(text)
}
