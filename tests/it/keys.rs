//! generate-key-pair, public-key and cosign key interop.
