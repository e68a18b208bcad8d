//! Measures what key handling and signing cost on this machine:
//! `cargo run --release -p minisig --example kdf_timing`.

use std::time::Instant;

use minisig::{generate, verify, KdfParams, OsRng, SecretKey};

fn main() -> Result<(), minisig::Error> {
    let (public, secret) = generate(&mut OsRng);
    for (name, kdf) in [
        ("minisign default", KdfParams::minisign_default()),
        ("fast_for_tests", KdfParams::fast_for_tests()),
    ] {
        let cost = kdf.scrypt_cost();
        let started = Instant::now();
        let file = secret.to_encrypted_file(b"measurement passphrase", kdf)?;
        let encrypt = started.elapsed();
        let started = Instant::now();
        SecretKey::from_encrypted_file(&file, b"measurement passphrase")?;
        let decrypt = started.elapsed();
        println!(
            "{name}: scrypt N=2^{} r={} p={} ({} MiB): encrypt {encrypt:?}, decrypt {decrypt:?}",
            cost.log_n,
            cost.r,
            cost.p,
            cost.memory_bytes() >> 20
        );
    }

    let data = vec![0x5au8; 256 << 20];
    let started = Instant::now();
    let signature = secret.sign(&data[..], "measurement", "u")?;
    let sign = started.elapsed();
    let started = Instant::now();
    verify(&public, &signature, &data[..])?;
    let check = started.elapsed();
    let mib_per_s = |d: std::time::Duration| 256.0 / d.as_secs_f64();
    println!(
        "256 MiB: sign {sign:?} ({:.0} MiB/s), verify {check:?} ({:.0} MiB/s)",
        mib_per_s(sign),
        mib_per_s(check)
    );
    Ok(())
}
