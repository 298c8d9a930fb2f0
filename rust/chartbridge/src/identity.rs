//! What identifies a run, so two runs can be compared (protocol/SPEC.md section 5, the manifest's
//! `identity`): the parameters the strategy gave (`Config::params`), the git state of the
//! repository holding its source, the crate's version. The same JSON the Python SDK writes.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value as Json, json};

fn git(dir: &Path, args: &[&str]) -> Option<Vec<u8>> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().ok()?;
    out.status.success().then_some(out.stdout)
}

/// The diff a dirty run saves in its `dirty` key (SPEC section 2); a larger one keeps only its hash.
pub(crate) const MAX_DIRTY_DIFF_BYTES: usize = 1 << 20;

/// The commit of the repository holding `source` (else the working directory), whether its
/// tracked files differ from it, and the SHA-256 of that difference (null outside a repository),
/// with the difference itself (empty when clean).
fn git_state(source: &str) -> (Json, Vec<u8>) {
    let dir = Path::new(source).parent().filter(|p| !p.as_os_str().is_empty()).map(PathBuf::from).or_else(|| std::env::current_dir().ok());
    let Some(dir) = dir else { return (Json::Null, Vec::new()) };
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).trim().to_owned();
    let (Some(root), Some(commit), Some(diff)) =
        (git(&dir, &["rev-parse", "--show-toplevel"]), git(&dir, &["rev-parse", "HEAD"]), git(&dir, &["diff", "HEAD", "--binary"]))
    else {
        return (Json::Null, Vec::new());
    };
    let hash = if diff.is_empty() { Json::Null } else { Json::String(sha256_hex(&diff)) };
    (json!({"root": text(root), "commit": text(commit), "dirty": !diff.is_empty(), "diff_hash": hash}), diff)
}

/// A run's identity at its start, and the dirty diff to save (None when clean or over the bound).
pub(crate) fn identity(source: &str, params: &serde_json::Map<String, Json>) -> (Json, Option<Vec<u8>>) {
    let (git, diff) = git_state(source);
    let saved = (!diff.is_empty() && diff.len() <= MAX_DIRTY_DIFF_BYTES).then_some(diff);
    (json!({"params": params, "git": git, "data": [], "versions": {"chartbridge": env!("CARGO_PKG_VERSION")}}), saved)
}

const K: [u32; 64] = [
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74,
    0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d,
    0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e,
    0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
    0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/// SHA-256 (FIPS 180-4) as lowercase hex. Written out here because the crate may depend on redis,
/// syn and quote only; run once per run start, on the diff.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    let mut h: [u32; 8] = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
    let mut msg = data.to_vec();
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&((data.len() as u64).wrapping_mul(8)).to_be_bytes());
    for chunk in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in chunk.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..64 {
            let t1 = hh
                .wrapping_add(e.rotate_right(6) ^ e.rotate_right(11) ^ e.rotate_right(25))
                .wrapping_add((e & f) ^ (!e & g))
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let t2 = (a.rotate_right(2) ^ a.rotate_right(13) ^ a.rotate_right(22)).wrapping_add((a & b) ^ (a & c) ^ (b & c));
            (hh, g, f, e, d, c, b, a) = (g, f, e, d.wrapping_add(t1), c, b, a, t1.wrapping_add(t2));
        }
        for (x, y) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(y);
        }
    }
    h.iter().map(|x| format!("{x:08x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::sha256_hex;

    #[test]
    fn sha256_gives_the_fips_180_digests() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(
            sha256_hex(b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        );
        // A million 'a's: many blocks, and a length over 2^16 bits.
        assert_eq!(sha256_hex(&vec![b'a'; 1_000_000]), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    }
}
