import Foundation
import OPTTokenizer

/// Why a generation ended.
public enum FinishReason: String, Sendable, Codable {
    /// The model produced its end-of-sequence token.
    case eos
    /// The text reached a stop string.
    case stop
    /// `maxNewTokens` were produced (or the model ran out of positions).
    case length
}

/// The outcome of generating from one prompt.
public struct GenerationResult: Sendable, Equatable {
    /// The prompt as the model saw it (BOS included).
    public var promptIDs: [Int]
    /// New tokens only, the end-of-sequence token excluded.
    public var outputIDs: [Int]
    /// The new text, cut before any stop string.
    public var text: String
    public var finishReason: FinishReason
}

/// Text generation and scoring over an OPT model and its tokenizer.
public struct Generator: Sendable {
    public let model: OPTModel
    public let tokenizer: BPETokenizer
    /// The forward passes' buffers and the KV caches' buffers, kept from call to call.
    public let workspaces = WorkspacePool()

    public init(model: OPTModel, tokenizer: BPETokenizer) {
        self.model = model
        self.tokenizer = tokenizer
    }

    /// Loads the model and tokenizer files of a Hugging Face checkpoint directory.
    public init(directory: URL) throws {
        self.init(model: try OPTModel(directory: directory), tokenizer: try BPETokenizer.load(directory: directory))
    }

    /// Prompt ids as the model sees them; an empty prompt is an error, since OPT needs BOS plus text.
    public func encodePrompt(_ prompt: String) throws -> [Int] {
        guard !prompt.isEmpty else { throw ModelError.emptyPrompt }
        return tokenizer.encode(prompt)
    }

    /// Generates from one prompt, calling `onText` with each piece of new text as soon as it is final.
    public func generate(
        prompt: String, parameters: GenerationParameters, onText: (String) -> Void = { _ in }
    ) throws -> GenerationResult {
        try generate(promptIDs: [try encodePrompt(prompt)], parameters: parameters, onText: { _, text in onText(text) })[0]
    }

    /// Generates from a batch of tokenized prompts at once, each with its own KV cache in one ragged forward pass
    /// per step (finished ones leave the batch). With `prefixes`, a prefix the prompts share (a k-shot prompt's
    /// exemplars) starts from kept keys and values, as scoring does.
    ///
    /// `onText(row, text)` streams each row's new text; text is held back while it could still be
    /// the start of a stop string, and never ends inside a UTF-8 character.
    public func generate(
        promptIDs: [[Int]], parameters p: GenerationParameters, prefixes: PrefixCache? = nil, onText: (Int, String) -> Void = { _, _ in }
    ) throws -> [GenerationResult] {
        try p.validate()
        guard !promptIDs.isEmpty, promptIDs.allSatisfy({ !$0.isEmpty }) else { throw ModelError.emptyPrompt }
        let longest = promptIDs.map(\.count).max() ?? 0
        let limit = model.config.maxPositionEmbeddings
        guard longest <= limit else { throw ModelError.promptTooLong(tokens: longest, limit: limit) }

        // Every row gets the room the longest prompt leaves, as when the batch was left-padded to it.
        let newTokens = min(p.maxNewTokens, limit - longest)
        let (start, kept) = try sharedPrefix(promptIDs, in: prefixes)
        let caches = promptIDs.map { ids in
            kept.map { workspaces.cache(copying: $0, length: start, capacity: ids.count + max(newTokens, 1)) }
                ?? workspaces.cache(config: model.config, capacity: ids.count + max(newTokens, 1))
        }
        let eos = model.config.eosTokenId
        var rows = promptIDs.enumerated().map { b, ids in
            SequenceDecoder(promptIDs: ids, parameters: p, seed: p.seed &+ UInt64(b), maxNewTokens: newTokens, positionLimit: limit,
                            eosTokenID: eos, tokenizer: tokenizer)
        }
        try workspaces.with { workspace in
            while true {
                let running = rows.indices.filter { rows[$0].finishReason == nil }
                guard !running.isEmpty else { break }
                let texts = try model.forward(sequences: running.map { rows[$0].step(cache: caches[$0]) }, workspace: workspace) { logits in
                    zip(running, logits).map { b, row in rows[b].advance(row).text }
                }
                for (b, text) in zip(running, texts) where !text.isEmpty { onText(b, text) }
            }
        }
        return (0..<promptIDs.count).map { b in
            let tail = rows[b].finish()
            if !tail.isEmpty { onText(b, tail) }
            return GenerationResult(
                promptIDs: promptIDs[b], outputIDs: rows[b].outputIDs, text: rows[b].text,
                finishReason: rows[b].finishReason ?? .length)
        }
    }
}

/// Chooses each next token as `generate` does: transformers' logits processors in its order
/// (repetition penalty, n-gram ban), then greedy choice or seeded sampling.
public struct TokenSampler: Sendable {
    public let parameters: GenerationParameters
    private var rng: SeededGenerator

    public init(parameters: GenerationParameters, seed: UInt64) {
        self.parameters = parameters
        rng = SeededGenerator(seed: seed)
    }

    /// The next token after `sequence` (prompt and output so far); `logits` are modified in place.
    public mutating func choose(_ logits: UnsafeMutableBufferPointer<Float>, sequence: [Int]) -> Int {
        let p = parameters
        LogitsProcessing.applyRepetitionPenalty(logits, sequence: sequence, penalty: p.repetitionPenalty)
        LogitsProcessing.banRepeatedNgrams(logits, sequence: sequence, size: p.noRepeatNgramSize)
        let row = UnsafeBufferPointer(logits)
        return p.isSampling ? LogitsProcessing.sample(row, parameters: p, rng: &rng) : LogitsProcessing.argmax(row)
    }
}
