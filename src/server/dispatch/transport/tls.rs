//! The client's TLS settings: TLS 1.3 preferred and 1.2 allowed, certificates verified against
//! the bundled web PKI roots, the system's roots and the operator's `FACEHOOK_EXTRA_CA_FILE`.

use super::TransportError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::Path;
use std::sync::Arc;

pub fn client_config(extra_ca_file: Option<&Path>) -> Result<rustls::ClientConfig, TransportError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    // A system store that cannot be read leaves the bundled roots, as a browser would.
    let system = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(system.certs);
    if let Some(path) = extra_ca_file {
        for certificate in extra_certificates(path)? {
            roots
                .add(certificate)
                .map_err(|err| TransportError::CaPem {
                    path: path.display().to_string(),
                    reason: err.to_string(),
                })?;
        }
    }
    // ring, not the default provider: aws-lc needs a C toolchain we do not require.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|err| TransportError::Client(err.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// Every certificate in the PEM file at `path`; at least one, or the file is refused.
fn extra_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let shown = path.display().to_string();
    let pem = std::fs::read(path).map_err(|source| TransportError::CaFile {
        path: shown.clone(),
        source,
    })?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| TransportError::CaPem {
            path: shown.clone(),
            reason: err.to_string(),
        })?;
    if certificates.is_empty() {
        return Err(TransportError::CaPem {
            path: shown,
            reason: "no CERTIFICATE block".to_owned(),
        });
    }
    Ok(certificates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_extra_ca_file_must_exist_and_hold_a_certificate() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.pem");
        assert!(matches!(
            client_config(Some(&missing)),
            Err(TransportError::CaFile { .. })
        ));
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let refused = client_config(Some(&empty)).unwrap_err();
        assert!(
            refused.to_string().contains("no CERTIFICATE block"),
            "{refused}"
        );
    }
}
