//! The passphrase key derivation of minisign secret keys.
//!
//! minisign stores libsodium's two abstract limits, `opslimit` and `memlimit`, in the key file and
//! passes them to `crypto_pwhash_scryptsalsa208sha256`, which turns them into scrypt's N, r and p.
//! [`KdfParams::scrypt_cost`] does that conversion the same way, so any file minisign writes or
//! reads decrypts identically here.

use zeroize::Zeroizing;

use crate::error::Error;

/// minisign's opslimit (libsodium's `OPSLIMIT_SENSITIVE`).
pub const MINISIGN_DEFAULT_OPSLIMIT: u64 = 33_554_432;
/// minisign's memlimit (libsodium's `MEMLIMIT_SENSITIVE`, 1 GiB).
pub const MINISIGN_DEFAULT_MEMLIMIT: u64 = 1_073_741_824;

/// libsodium raises any smaller opslimit to this (`OPSLIMIT_MIN`).
const OPSLIMIT_FLOOR: u64 = 32_768;
/// libsodium's scrypt always uses r = 8.
const SCRYPT_R: u32 = 8;

/// Largest memory one derivation may use. Key files are parsed before they are authenticated,
/// so their limits are attacker-controlled; without a cap a crafted file could make us allocate
/// terabytes. minisign's default needs 1 GiB.
const MAX_MEMORY_BYTES: u64 = 2 << 30;
/// Largest N·p (number of BlockMix rounds over the whole derivation), 16 times minisign's default,
/// for the same reason.
const MAX_WORK: u64 = 16 << 20;

/// The cost of deriving a secret key's encryption stream from its passphrase.
///
/// Holds libsodium's `opslimit` and `memlimit`, the two numbers a minisign secret key file
/// stores. Constructed values are always usable (see [`KdfParams::new`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    opslimit: u64,
    memlimit: u64,
}

/// scrypt's parameters as libsodium derives them from `opslimit` and `memlimit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScryptCost {
    /// log2 of the CPU/memory cost N.
    pub log_n: u8,
    /// Block size (always 8 in libsodium).
    pub r: u32,
    /// Parallelism (run sequentially here).
    pub p: u32,
}

impl ScryptCost {
    /// Bytes of memory one derivation allocates: the N-block table plus the p working blocks.
    pub fn memory_bytes(&self) -> u64 {
        128 * u64::from(self.r) * ((1u64 << self.log_n) + u64::from(self.p))
    }
}

impl KdfParams {
    /// The parameters `minisign -G` uses: scrypt with N = 2^20, r = 8, p = 1 (1 GiB of memory,
    /// a few seconds of CPU).
    pub fn minisign_default() -> Self {
        KdfParams {
            opslimit: MINISIGN_DEFAULT_OPSLIMIT,
            memlimit: MINISIGN_DEFAULT_MEMLIMIT,
        }
    }

    /// Cheap parameters for tests: libsodium's minimum limits, giving N = 2^10, r = 8, p = 1
    /// (1 MiB, about a millisecond). minisign opens such keys, because it takes the limits from
    /// the file. Never use them for a real key: they offer little protection against guessing.
    pub fn fast_for_tests() -> Self {
        KdfParams {
            opslimit: OPSLIMIT_FLOOR,
            memlimit: 16 << 20,
        }
    }

    /// Parameters from explicit libsodium limits. Fails when libsodium would refuse them
    /// (they give p = 0 or N > 2^32) or when a derivation would need more than 2 GiB of memory
    /// or 16 times the work of minisign's default.
    pub fn new(opslimit: u64, memlimit: u64) -> Result<Self, Error> {
        let params = KdfParams { opslimit, memlimit };
        params.checked_cost()?;
        Ok(params)
    }

    /// libsodium's `opslimit`.
    pub fn opslimit(&self) -> u64 {
        self.opslimit
    }

    /// libsodium's `memlimit`, in bytes.
    pub fn memlimit(&self) -> u64 {
        self.memlimit
    }

    /// The scrypt parameters these limits stand for.
    pub fn scrypt_cost(&self) -> ScryptCost {
        // Constructed values passed `checked_cost`; unchecked ones never leave this module.
        self.checked_cost()
            .expect("KdfParams are validated on construction")
    }

    fn checked_cost(&self) -> Result<ScryptCost, Error> {
        let refuse = |reason: String| Error::KdfParams {
            opslimit: self.opslimit,
            memlimit: self.memlimit,
            reason,
        };
        let (log_n, p) = libsodium_scrypt_params(self.opslimit, self.memlimit);
        if p == 0 {
            return Err(refuse(
                "they give scrypt p = 0, which libsodium (and so minisign) rejects; \
                 raise opslimit"
                    .into(),
            ));
        }
        if log_n > 32 {
            return Err(refuse(format!(
                "they give scrypt N = 2^{log_n}, above libsodium's limit of 2^32"
            )));
        }
        let cost = ScryptCost {
            log_n: log_n as u8,
            r: SCRYPT_R,
            p,
        };
        if cost.memory_bytes() > MAX_MEMORY_BYTES {
            return Err(refuse(format!(
                "deriving would need {} MiB of memory, more than the {} MiB this crate allows",
                cost.memory_bytes() >> 20,
                MAX_MEMORY_BYTES >> 20
            )));
        }
        if (1u64 << log_n) * u64::from(p) > MAX_WORK {
            return Err(refuse(format!(
                "scrypt N = 2^{log_n} with p = {p} is more than 16 times minisign's default work"
            )));
        }
        Ok(cost)
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        KdfParams::minisign_default()
    }
}

/// libsodium's conversion of (opslimit, memlimit) to scrypt's log2(N) and p (r is always 8), as
/// documented for `crypto_pwhash_scryptsalsa208sha256`: when the operation budget is the tighter
/// limit, p = 1 and N is the largest power of two with 4·r·N ≤ opslimit; otherwise N is the
/// largest power of two with 128·r·N ≤ memlimit and p spends the remaining operations. N is at
/// least 2. Returns the raw values; the caller rejects p = 0 and oversized N.
fn libsodium_scrypt_params(opslimit: u64, memlimit: u64) -> (u32, u32) {
    let opslimit = opslimit.max(OPSLIMIT_FLOOR);
    let r = u64::from(SCRYPT_R);
    // Smallest log2(N) ≥ 1 with N > max_n / 2, i.e. the power of two just below or at max_n.
    let log_n_for = |max_n: u64| -> u32 {
        let mut log_n = 1;
        while log_n < 63 && (1u64 << log_n) <= max_n / 2 {
            log_n += 1;
        }
        log_n
    };
    if opslimit < memlimit / 32 {
        (log_n_for(opslimit / (r * 4)), 1)
    } else {
        let log_n = log_n_for(memlimit / (r * 128));
        let max_rp = ((opslimit / 4) >> log_n).min(0x3fff_ffff);
        (log_n, (max_rp / r) as u32)
    }
}

/// Fills `out` with the scrypt output for `passphrase` and `salt`.
pub(crate) fn derive(
    params: &KdfParams,
    passphrase: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), Error> {
    let cost = params.scrypt_cost();
    let refuse = |reason: String| Error::KdfParams {
        opslimit: params.opslimit,
        memlimit: params.memlimit,
        reason,
    };
    // The `len` argument only matters for scrypt's password-hash strings; the raw function below
    // writes as many bytes as `out` holds.
    let scrypt_params = scrypt::Params::new(cost.log_n, cost.r, cost.p, 64)
        .map_err(|err| refuse(format!("the scrypt crate refuses them: {err}")))?;
    scrypt::scrypt(passphrase, salt, &scrypt_params, out)
        .map_err(|err| refuse(format!("the scrypt crate refuses them: {err}")))
}

/// Derives a wiped-on-drop stream of `N` bytes.
pub(crate) fn derive_stream<const N: usize>(
    params: &KdfParams,
    passphrase: &[u8],
    salt: &[u8],
) -> Result<Zeroizing<[u8; N]>, Error> {
    let mut stream = Zeroizing::new([0u8; N]);
    derive(params, passphrase, salt, &mut stream[..])?;
    Ok(stream)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cost(opslimit: u64, memlimit: u64) -> (u8, u32, u32) {
        let c = KdfParams::new(opslimit, memlimit).unwrap().scrypt_cost();
        (c.log_n, c.r, c.p)
    }

    #[test]
    fn minisign_default_is_n_2_20_r_8_p_1() {
        let c = KdfParams::minisign_default().scrypt_cost();
        assert_eq!((c.log_n, c.r, c.p), (20, 8, 1));
        assert_eq!(c.memory_bytes(), (1 << 30) + 1024);
    }

    #[test]
    fn libsodium_interactive_and_test_limits() {
        // libsodium's documented INTERACTIVE limits are N = 2^14, r = 8, p = 1.
        assert_eq!(cost(524_288, 16_777_216), (14, 8, 1));
        assert_eq!(
            {
                let c = KdfParams::fast_for_tests().scrypt_cost();
                (c.log_n, c.r, c.p)
            },
            (10, 8, 1)
        );
    }

    #[test]
    fn small_opslimit_is_raised_to_libsodium_minimum() {
        assert_eq!(cost(1, 16 << 20), cost(OPSLIMIT_FLOOR, 16 << 20));
    }

    #[test]
    fn memory_bound_case_spends_ops_on_p() {
        // memlimit 1 MiB bounds N to 2^10; opslimit/4 / N / r = 16384/1024/8 = 2.
        assert_eq!(cost(65_536, 1 << 20), (10, 8, 2));
        // Four times the ops, four times p.
        assert_eq!(cost(262_144, 1 << 20), (10, 8, 8));
    }

    #[test]
    fn tiny_memlimit_still_gives_n_2() {
        // libsodium never goes below N = 2; the operation budget then goes to p.
        assert_eq!(cost(32_768, 0), (1, 8, 512));
    }

    #[test]
    fn hostile_limits_are_refused_before_allocating() {
        let err = KdfParams::new(u64::MAX, u64::MAX).unwrap_err();
        assert!(matches!(err, Error::KdfParams { .. }), "{err}");
        let err = KdfParams::new(1 << 40, 8 << 30).unwrap_err();
        assert!(err.to_string().contains("MiB of memory"), "{err}");
        let err = KdfParams::new(1 << 30, 1 << 30).unwrap_err();
        assert!(err.to_string().contains("16 times"), "{err}");
    }
}
