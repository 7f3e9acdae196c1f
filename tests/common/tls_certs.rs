//! Throwaway certificates made with `openssl` for the TLS tests (Kafka's SSL and SASL_SSL
//! listeners, MariaDB with `require_secure_transport`): a CA, a server certificate for
//! 127.0.0.1 and localhost, one for a host name that is not the one dialled, a client
//! certificate for mutual TLS, and a second CA that signed none of them. P-256 keys: quick to
//! make, and every TLS stack here (OpenSSL in librdkafka and mariadbd, Java's JSSE, rustls)
//! speaks ECDSA.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A directory of PEM files: `ca.crt`, `server.crt`/`server.key`/`server.pem` (key and
/// certificate in one file, Kafka's PEM keystore), `wrong-host.crt`/`.key`/`.pem`,
/// `client.crt`/`client.key`, `other-ca.crt`.
pub struct TestCerts {
    dir: tempfile::TempDir,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl (scripts/test installs it)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A key and a certificate `name.crt` signed by `ca` with these subjectAltNames.
fn leaf(dir: &Path, name: &str, cn: &str, ca: &str, ext: &str) {
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let crt = format!("{name}.crt");
    let ext_file = format!("{name}.ext");
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &csr,
            "-subj",
            &format!("/CN={cn}"),
        ],
    );
    std::fs::write(dir.join(&ext_file), ext).expect("ext file");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &format!("{ca}.crt"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            "2",
            "-extfile",
            &ext_file,
        ],
    );
}

fn ca(dir: &Path, name: &str, cn: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.crt"),
            "-days",
            "2",
            "-subj",
            &format!("/CN={cn}"),
        ],
    );
}

impl TestCerts {
    /// Makes every file (a fraction of a second).
    pub fn make() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("kubestack-certs-")
            .tempdir()
            .expect("temp dir");
        let d = dir.path();
        ca(d, "ca", "kubestack-test-ca");
        ca(d, "other-ca", "kubestack-other-ca");
        leaf(
            d,
            "server",
            "127.0.0.1",
            "ca",
            "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
        );
        leaf(
            d,
            "wrong-host",
            "db.example.invalid",
            "ca",
            "subjectAltName=DNS:db.example.invalid\nextendedKeyUsage=serverAuth\n",
        );
        leaf(
            d,
            "client",
            "kubestack-client",
            "ca",
            "extendedKeyUsage=clientAuth\n",
        );
        for name in ["server", "wrong-host"] {
            let pem = [
                std::fs::read_to_string(d.join(format!("{name}.key"))).expect("key"),
                std::fs::read_to_string(d.join(format!("{name}.crt"))).expect("crt"),
            ]
            .concat();
            std::fs::write(d.join(format!("{name}.pem")), pem).expect("pem");
        }
        TestCerts { dir }
    }

    /// The path of one of the files.
    pub fn path(&self, name: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        assert!(p.exists(), "no {name} among the test certificates");
        p
    }
}
