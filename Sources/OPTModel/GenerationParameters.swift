/// How to pick new tokens; defaults are greedy decoding of up to 32 tokens.
///
/// Semantics follow transformers' `generate`: the repetition penalty and n-gram ban see the whole
/// sequence (prompt included), then temperature, top-k and top-p shape the sampling distribution.
public struct GenerationParameters: Sendable, Equatable {
    /// New tokens to produce at most.
    public var maxNewTokens: Int = 32
    /// 0 means greedy; otherwise logits are divided by it before sampling.
    public var temperature: Float = 0
    /// Keep only the k most likely tokens when sampling (0: no limit).
    public var topK: Int = 0
    /// Keep the smallest set of tokens whose probability reaches p when sampling (1: no limit).
    public var topP: Float = 1
    /// Seed of the sampler; the same seed gives the same tokens run to run.
    public var seed: UInt64 = 0
    /// > 1 discourages tokens already in the sequence (CTRL-style, as transformers).
    public var repetitionPenalty: Float = 1
    /// Forbid repeating any n-gram of this size (0: off).
    public var noRepeatNgramSize: Int = 0
    /// Generation ends when the text contains one of these; the stop string is not returned.
    public var stop: [String] = []
    /// Generation ends at the end-of-sequence token.
    public var stopAtEOS: Bool = true

    public init() {}

    /// Sampling (rather than greedy) is on.
    public var isSampling: Bool { temperature > 0 }

    /// Rejects values that have no meaning.
    public func validate() throws {
        func fail(_ message: String) -> ModelError { .invalidArgument(message) }
        if maxNewTokens < 0 { throw fail("max_new_tokens must be ≥ 0, got \(maxNewTokens)") }
        if temperature < 0 || !temperature.isFinite { throw fail("temperature must be ≥ 0, got \(temperature)") }
        if topK < 0 { throw fail("top_k must be ≥ 0, got \(topK)") }
        if !(topP > 0 && topP <= 1) { throw fail("top_p must be in (0, 1], got \(topP)") }
        if !(repetitionPenalty > 0) || !repetitionPenalty.isFinite { throw fail("repetition_penalty must be > 0, got \(repetitionPenalty)") }
        if noRepeatNgramSize < 0 { throw fail("no_repeat_ngram_size must be ≥ 0, got \(noRepeatNgramSize)") }
        if stop.contains("") { throw fail("stop strings must not be empty") }
    }
}
