//! Cheap unique ids and timestamps; no RNG dependency, just a mixed counter.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static COUNTER: AtomicU64 = AtomicU64::new(0);
static SEED: OnceLock<u64> = OnceLock::new();

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Seconds since the Unix epoch, as Azure's `created` fields carry.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// SplitMix64 finaliser: turns a counter into well-spread bits.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Unique within the process and unlikely to repeat across processes.
fn next() -> u64 {
    let seed = *SEED.get_or_init(|| {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        mix(nanos ^ u64::from(std::process::id()).rotate_left(32))
    });
    mix(seed ^ COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// A version-4-looking UUID, the shape of Azure's `apim-request-id`.
pub(crate) fn uuid() -> String {
    let (a, b) = (next(), next());
    let a = (a & 0xFFFF_FFFF_FFFF_0FFF) | 0x4000;
    let b = (b & 0x3FFF_FFFF_FFFF_FFFF) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xFFFF,
        a & 0xFFFF,
        b >> 48,
        b & 0xFFFF_FFFF_FFFF
    )
}

/// `prefix` followed by `len` base-62 characters, like `chatcmpl-AEj7pKFo…`.
pub(crate) fn token(prefix: &str, len: usize) -> String {
    let mut out = String::with_capacity(prefix.len() + len);
    out.push_str(prefix);
    let mut bits = next();
    let mut left = 10; // 10 base-62 digits fit in 64 bits
    for _ in 0..len {
        if left == 0 {
            bits = next();
            left = 10;
        }
        out.push(char::from(ALPHABET[(bits % 62) as usize]));
        bits /= 62;
        left -= 1;
    }
    out
}

/// `prefix` followed by 32 lowercase hex digits, like Azure's `file-181a1cbd…` and
/// `ftjob-72a2792e…` ids.
pub(crate) fn hex32(prefix: &str) -> String {
    format!("{prefix}{:016x}{:016x}", next(), next())
}

/// A non-negative number that fits a JSON integer everywhere (fine-tuning seeds).
pub(crate) fn small_number() -> u64 {
    next() >> 33
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_distinct_and_well_formed() {
        let (a, b) = (uuid(), uuid());
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(a.as_bytes()[14], b'4');
        assert_eq!(a.matches('-').count(), 4);
    }

    #[test]
    fn hex_ids() {
        let (a, b) = (hex32("file-"), hex32("file-"));
        assert_ne!(a, b);
        assert_eq!(a.len(), 5 + 32);
        assert!(
            a[5..]
                .bytes()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
        );
        assert!(small_number() < 1 << 31);
    }

    #[test]
    fn tokens_have_prefix_and_length() {
        let t = token("chatcmpl-", 29);
        assert!(t.starts_with("chatcmpl-"));
        assert_eq!(t.len(), 9 + 29);
        assert!(t[9..].bytes().all(|c| c.is_ascii_alphanumeric()));
    }
}
