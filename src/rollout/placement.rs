//! A host's place in line: the same function as the agent's `internal/rollout/place.go`,
//! tested against the same vectors (`agent/internal/rollout/testdata/placement.json`).

use sha2::{Digest, Sha256};

/// Places in line; a percent step is `SLOTS / 100` places.
pub const SLOTS: u32 = 10_000;

/// The place in line of `host` for `product`, in `0..SLOTS`: the first 8 bytes of
/// SHA-256(`winrelease-rollout-v1\n` ‖ product ‖ `\n` ‖ ASCII-lowercase(host)) as a
/// big-endian integer, modulo [`SLOTS`]. Stable across runs, machines and languages, so the
/// first hosts in line are always the same canaries.
pub fn place(product: &str, host: &str) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(b"winrelease-rollout-v1\n");
    hasher.update(product.as_bytes());
    hasher.update(b"\n");
    hasher.update(host.to_ascii_lowercase().as_bytes());
    let digest = hasher.finalize();
    let head = u64::from_be_bytes(digest[..8].try_into().expect("8 bytes"));
    (head % u64::from(SLOTS)) as u32
}

/// Whether a host at `place` takes a rollout at `percent`.
pub fn in_step(place: u32, percent: u8) -> bool {
    place < u32::from(percent) * (SLOTS / 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_match_the_vectors_the_agent_is_tested_with() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/agent/internal/rollout/testdata/placement.json"
        );
        let file: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let vectors = file["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 10);
        for v in vectors {
            let (product, host) = (v["product"].as_str().unwrap(), v["host"].as_str().unwrap());
            assert_eq!(
                u64::from(place(product, host)),
                v["place"].as_u64().unwrap(),
                "{product} / {host}"
            );
        }
    }

    #[test]
    fn widening_a_step_keeps_its_hosts() {
        for host in ["a", "b", "c", "web-01", "WEB-02"] {
            let p = place("Hello Service", host);
            assert_eq!(p, place("Hello Service", &host.to_lowercase()));
            for percent in 1..100u8 {
                assert!(!in_step(p, percent) || in_step(p, percent + 1), "{host}");
            }
            assert!(in_step(p, 100));
        }
    }
}
