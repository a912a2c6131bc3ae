//! Randomness for States.MathRandom, States.UUID and retry jitter, drawn from `fastrand`.

pub struct Rng(fastrand::Rng);

impl Rng {
    /// The same seed gives the same draws: States.MathRandom's optional third argument.
    pub fn seeded(seed: u64) -> Rng {
        Rng(fastrand::Rng::with_seed(seed))
    }

    /// Forked from the thread's generator (which fastrand seeds from the time and the thread), so
    /// two calls in the same nanosecond still differ.
    pub fn from_entropy() -> Rng {
        Rng(fastrand::Rng::new())
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0.u64(..)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        self.0.f64()
    }
}

/// A random version 4, variant 1 UUID in lowercase hyphenated form.
pub fn uuid_v4() -> String {
    let mut b = fastrand::u128(..).to_be_bytes();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_version_4_variant_1_and_differ() {
        let a = uuid_v4();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
        assert!(a
            .bytes()
            .all(|c| c == b'-' || c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_ne!(a, uuid_v4());
    }

    #[test]
    fn a_seed_repeats_its_draws_and_units_stay_below_one() {
        let (mut a, mut b) = (Rng::seeded(42), Rng::seeded(42));
        for _ in 0..1000 {
            assert_eq!(a.next_u64(), b.next_u64());
            let u = a.unit();
            assert!((0.0..1.0).contains(&u), "{u}");
            b.unit();
        }
        assert_ne!(
            Rng::from_entropy().next_u64(),
            Rng::from_entropy().next_u64()
        );
    }
}
