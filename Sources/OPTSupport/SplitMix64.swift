/// SplitMix64 (Steele, Lea and Flood, 2014): a seeded generator whose whole state is one word, the same on
/// every platform (Swift's `SystemRandomNumberGenerator` is neither seeded nor reproducible), so that draws
/// depend only on the seed and a generator can be saved with a training checkpoint.
public struct SplitMix64: RandomNumberGenerator, Codable, Equatable, Sendable {
    /// The golden-ratio step the state advances by.
    public static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15
    public var state: UInt64

    public init(state: UInt64) { self.state = state }

    public mutating func next() -> UInt64 {
        state &+= Self.increment
        return Self.finalize(state)
    }

    /// The output function: spreads every bit of `value` over the result.
    public static func finalize(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1), from the top 53 bits.
    public mutating func unit() -> Double { Double(next() >> 11) / 9_007_199_254_740_992 }

    /// A uniform integer in `0..<n` (rejection sampling, no modulo bias).
    public mutating func below(_ n: Int) -> Int {
        guard n > 1 else { return 0 }
        let bound = UInt64(n)
        let limit = UInt64.max - UInt64.max % bound
        while true {
            let r = next()
            if r < limit { return Int(r % bound) }
        }
    }
}
