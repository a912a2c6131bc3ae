//! SplitMix64, the generator's randomness, with what turns its draws into ranges, chances,
//! weighted picks, UUIDs and exponential delays. Small, fast, and fixed here forever, so a seed
//! reproduces the same traffic in every later version; other tools that must replay from a seed
//! (pushfeed's fault injection) draw from it too.

/// SplitMix64 finaliser: a bijective mix of 64 bits.
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The draw a SplitMix64 generator in state `state` makes next: a stateless hash of 64 bits, for
/// a caller that keeps its own counters (one per sequence) instead of a generator.
pub fn splitmix64(state: u64) -> u64 {
    mix64(state.wrapping_add(GOLDEN))
}

/// SplitMix64.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(state: u64) -> Rng {
        Rng(state)
    }

    /// Independent sequences from one seed: one per (stream, index), so an item's draws do not
    /// depend on how many draws other items made.
    pub fn keyed(seed: u64, stream: u64, index: u64) -> Rng {
        Rng(mix64(mix64(seed ^ stream.wrapping_mul(GOLDEN)) ^ index))
    }

    pub fn next_u64(&mut self) -> u64 {
        let draw = splitmix64(self.0);
        self.0 = self.0.wrapping_add(GOLDEN);
        draw
    }

    /// Uniform in `0..n` (0 when n is 0), by multiply-shift: no division, bias below 2^-64 * n.
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    pub(crate) fn index(&mut self, n: usize) -> usize {
        self.below(n as u64) as usize
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Exponentially distributed milliseconds, capped so a freak draw stays plausible.
    pub(crate) fn exp_ms(&mut self, mean: f64, cap: i64) -> i64 {
        let u = 1.0 - self.unit(); // (0, 1]: ln stays finite
        let x = -ln(u) * mean;
        if x >= cap as f64 {
            cap
        } else {
            x as i64
        }
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[(T, u32)]) -> T {
        let total: u64 = items.iter().map(|&(_, w)| u64::from(w)).sum();
        let mut x = self.below(total);
        for &(item, w) in items {
            if x < u64::from(w) {
                return item;
            }
            x -= u64::from(w);
        }
        items[items.len() - 1].0
    }

    pub(crate) fn one<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.index(items.len())]
    }

    /// Random (version 4) UUID.
    pub(crate) fn uuid4(&mut self) -> u128 {
        let u = (u128::from(self.next_u64()) << 64) | u128::from(self.next_u64());
        (u & !(0xF << 76) & !(0x3 << 62)) | (0x4 << 76) | (0x2 << 62)
    }

    /// Time-based (version 1) UUID, the shape of the vendor's event ids: the timestamp part follows
    /// `ms`, with random sub-millisecond ticks, clock sequence and node, so ids stay unique.
    pub(crate) fn uuid1(&mut self, ms: i64) -> u128 {
        const GREGORIAN_TO_UNIX_MS: i128 = 12_219_292_800_000;
        let ticks =
            (i128::from(ms) + GREGORIAN_TO_UNIX_MS) * 10_000 + i128::from(self.below(10_000));
        let t = (ticks as u64) & ((1 << 60) - 1);
        let time_low = u128::from(t & 0xFFFF_FFFF);
        let time_mid = u128::from((t >> 32) & 0xFFFF);
        let time_hi = u128::from(((t >> 48) & 0x0FFF) | 0x1000);
        let clock = u128::from(0x8000 | (self.next_u64() & 0x3FFF));
        let node = u128::from(self.next_u64() & 0xFFFF_FFFF_FFFF);
        (time_low << 96) | (time_mid << 80) | (time_hi << 64) | (clock << 48) | node
    }
}

/// Natural logarithm from basic arithmetic only, so results are identical on every platform
/// (`f64::ln` calls the system libm, which may differ in the last bit). Valid for finite x > 0.
fn ln(x: f64) -> f64 {
    const LN2: f64 = std::f64::consts::LN_2;
    let bits = x.to_bits();
    let mut exponent = ((bits >> 52) & 0x7FF) as i64 - 1023;
    let mut m = f64::from_bits((bits & 0x000F_FFFF_FFFF_FFFF) | 0x3FF0_0000_0000_0000);
    if m > std::f64::consts::SQRT_2 {
        m *= 0.5;
        exponent += 1;
    }
    // ln(m) = 2 atanh(s); |s| <= 0.172, so eleven terms reach double precision.
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let mut term = s;
    let mut sum = s;
    for k in 1..=11 {
        term *= s2;
        sum += term / f64::from(2 * k + 1);
    }
    2.0 * sum + exponent as f64 * LN2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_ln_matches_std() {
        let mut r = Rng(99);
        for _ in 0..10_000 {
            let x = 1.0 - r.unit();
            assert!(
                (ln(x) - x.ln()).abs() <= 1e-14 * (1.0 + x.ln().abs()),
                "{x}"
            );
        }
        assert_eq!(ln(1.0), 0.0);
        assert!((ln(1e-300) - 1e-300f64.ln()).abs() < 1e-10);
    }

    #[test]
    fn a_stateless_draw_is_the_generators_next() {
        for state in [0, 1, GOLDEN, u64::MAX, 0x0123_4567_89AB_CDEF] {
            let mut r = Rng::new(state);
            assert_eq!(r.next_u64(), splitmix64(state));
            assert_eq!(r.next_u64(), splitmix64(state.wrapping_add(GOLDEN)));
        }
        // The reference sequence of SplitMix64 seeded with 0.
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(r.next_u64(), 0x6E78_9E6A_A1B9_65F4);
    }
}
