import Foundation

/// Python's `random.Random(seed)` for what lm-evaluation-harness's few-shot sampler calls (`sample`), bit for bit:
/// MT19937 seeded by `init_by_array` with the seed's 32-bit words, `_randbelow` by rejection on `getrandbits`, and
/// `sample`'s two algorithms (a shrinking pool for small populations, a set of picks for large ones).
struct PythonRandom {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    init(seed: UInt64) {
        var key: [UInt32] = [], rest = seed
        repeat {
            key.append(UInt32(truncatingIfNeeded: rest))
            rest >>= 32
        } while rest > 0
        state[0] = 19_650_218
        for i in 1..<624 { state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i) }
        var i = 1, j = 0
        for _ in 0..<max(624, key.count) {
            state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
            i += 1
            j += 1
            if i >= 624 { state[0] = state[623]; i = 1 }
            if j >= key.count { j = 0 }
        }
        for _ in 0..<623 {
            state[i] = (state[i] ^ ((state[i - 1] ^ (state[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
            i += 1
            if i >= 624 { state[0] = state[623]; i = 1 }
        }
        state[0] = 0x8000_0000
    }

    private mutating func next32() -> UInt32 {
        if index >= 624 {
            for k in 0..<624 {
                let y = (state[k] & 0x8000_0000) | (state[(k + 1) % 624] & 0x7fff_ffff)
                state[k] = state[(k + 397) % 624] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_b0df)
            }
            index = 0
        }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9d2c_5680
        y ^= (y << 15) & 0xefc6_0000
        return y ^ (y >> 18)
    }

    /// `randrange(n)` for n < 2^32, as `_randbelow_with_getrandbits`.
    private mutating func below(_ n: Int) -> Int {
        let bits = n == 0 ? 0 : Int.bitWidth - n.leadingZeroBitCount
        guard bits > 0 else { return 0 }
        while true {
            let r = Int(next32() >> UInt32(32 - bits))
            if r < n { return r }
        }
    }

    /// The indices `random.sample(range(n), k)` picks, in order; nil when k > n (Python raises).
    mutating func sample(_ n: Int, _ k: Int) -> [Int]? {
        guard k <= n, n < 1 << 32 else { return nil }
        var setSize = 21
        if k > 5 { setSize += Int(pow(4, (log(Double(k * 3)) / log(4)).rounded(.up))) }
        var result: [Int] = []
        if n <= setSize {
            var pool = Array(0..<n)
            for i in 0..<k {
                let j = below(n - i)
                result.append(pool[j])
                pool[j] = pool[n - i - 1]
            }
        } else {
            var selected = Set<Int>()
            for _ in 0..<k {
                var j = below(n)
                while selected.contains(j) { j = below(n) }
                selected.insert(j)
                result.append(j)
            }
        }
        return result
    }
}

extension SuitePrompt {
    /// lm-eval's seed of a task's few-shot sampler (`fewshot_random_seed`).
    public static let fewshotSeed: UInt64 = 1234

    /// The few-shot examples of each question of `questions` (in order: the draws depend on it) at `shots`.
    public func exemplars(for questions: [TaskInstance], pool: [TaskExample], shots: Int, task: String) throws -> [[TaskExample]] {
        guard shots > 0 else { return questions.map { _ in [] } }
        switch sampler {
        case .firstN:
            guard pool.count >= shots else { throw SuiteError.tooFewExamples(task: task, have: pool.count, need: shots) }
            return questions.map { _ in Array(pool.prefix(shots)) }
        case .default:
            var random = PythonRandom(seed: Self.fewshotSeed)
            let drawn = shots + (drawsAroundQuestion ? 1 : 0)
            return try questions.map { question in
                guard let picks = random.sample(pool.count, drawn) else {
                    throw SuiteError.tooFewExamples(task: task, have: pool.count, need: drawn)
                }
                let examples = picks.map { pool[$0] }
                guard drawsAroundQuestion else { return examples }
                // lm-eval drops the drawn documents equal to the question; the rendered text and answer stand for it.
                return Array(examples.filter { $0.input != question.input || $0.output != question.outputs.first }.prefix(shots))
            }
        }
    }
}
