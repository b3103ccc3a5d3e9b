//! sign-blob / verify-blob and cosign interop.
