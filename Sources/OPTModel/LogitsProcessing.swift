import Foundation
import OPTSupport

/// The logits processors and sampler of `generate`, each matching its transformers counterpart.
enum LogitsProcessing {
    /// `RepetitionPenaltyLogitsProcessor`: every token present in the sequence is divided (positive
    /// logit) or multiplied (negative logit) by the penalty, once however often it occurs. A result past f32's range
    /// (a penalty near 0 or very large) stays at its largest finite value, so that the sampler's softmax stays defined.
    static func applyRepetitionPenalty(_ logits: UnsafeMutableBufferPointer<Float>, sequence: [Int], penalty: Float) {
        guard penalty != 1 else { return }
        for id in Set(sequence) where id < logits.count {
            let value = logits[id]
            let penalized = value < 0 ? value * penalty : value / penalty
            logits[id] = value.isFinite ? max(-.greatestFiniteMagnitude, min(.greatestFiniteMagnitude, penalized)) : penalized
        }
    }

    /// `NoRepeatNGramLogitsProcessor`: bans every token that would complete an n-gram already in the sequence.
    static func banRepeatedNgrams(_ logits: UnsafeMutableBufferPointer<Float>, sequence: [Int], size n: Int) {
        guard n > 0, sequence.count + 1 >= n else { return }
        let prefix = Array(sequence.suffix(n - 1))
        for start in 0...(sequence.count - n) where Array(sequence[start..<(start + n - 1)]) == prefix {
            let banned = sequence[start + n - 1]
            if banned < logits.count { logits[banned] = -.infinity }
        }
    }

    /// Index of the largest logit (the first one on ties, as torch.argmax).
    static func argmax(_ logits: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        for i in 1..<logits.count where logits[i] > logits[best] { best = i }
        return best
    }

    /// Temperature, then `TopKLogitsWarper`, then `TopPLogitsWarper`, then a draw from the softmax. The logits are
    /// divided by the temperature in f64, where no finite f32 logit over a positive f32 temperature overflows: in f32 a
    /// temperature near 0 made them infinite and the softmax NaN, which drew the last token in order.
    static func sample(_ logits: UnsafeBufferPointer<Float>, parameters p: GenerationParameters, rng: inout SeededGenerator) -> Int {
        var scaled = logits.map { Double($0) / Double(p.temperature) }
        var order = Array(scaled.indices).sorted { scaled[$0] > scaled[$1] || (scaled[$0] == scaled[$1] && $0 < $1) }
        if p.topK > 0 && p.topK < order.count {
            let threshold = scaled[order[p.topK - 1]]
            // transformers keeps every token tied with the k-th logit.
            for i in order where scaled[i] < threshold { scaled[i] = -.infinity }
            order = order.filter { scaled[$0] > -.infinity }
        }
        let maximum = scaled[order[0]]
        var probabilities = [Double](repeating: 0, count: order.count)
        var total = 0.0
        for (rank, id) in order.enumerated() {
            let e = exp(scaled[id] - maximum)
            probabilities[rank] = e
            total += e
        }
        var kept = order.count
        if p.topP < 1 {
            // Keep the most likely tokens until their mass reaches top_p (at least one).
            var cumulative = 0.0
            for rank in 0..<order.count {
                cumulative += probabilities[rank] / total
                if cumulative >= Double(p.topP) { kept = rank + 1; break }
            }
        }
        let keptTotal = probabilities[0..<kept].reduce(0, +)
        var draw = rng.nextUnitDouble() * keptTotal
        for rank in 0..<kept {
            draw -= probabilities[rank]
            if draw < 0 { return order[rank] }
        }
        return order[kept - 1]
    }
}

/// xoshiro256** seeded through SplitMix64: reproducible draws for a given seed on every platform.
struct SeededGenerator: RandomNumberGenerator {
    private var state: (UInt64, UInt64, UInt64, UInt64)

    init(seed: UInt64) {
        var seeds = SplitMix64(state: seed)
        state = (seeds.next(), seeds.next(), seeds.next(), seeds.next())
    }

    mutating func next() -> UInt64 {
        let result = ((state.1 &* 5) << 7 | (state.1 &* 5) >> 57) &* 9
        let t = state.1 << 17
        state.2 ^= state.0
        state.3 ^= state.1
        state.1 ^= state.2
        state.0 ^= state.3
        state.2 ^= t
        state.3 = state.3 << 45 | state.3 >> 19
        return result
    }

    /// A uniform draw in [0, 1).
    mutating func nextUnitDouble() -> Double { Double(next() >> 11) * 0x1.0p-53 }
}
