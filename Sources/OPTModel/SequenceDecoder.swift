import OPTTokenizer

/// One sequence's decoding from its prompt on: the tokens its next forward step feeds, the next token's choice,
/// and the end-of-sequence token, stop strings and length limit that end it, with its text released as it
/// becomes final. Local generation, the evaluation backend (through `Generator`) and the server's continuously
/// batched engine all step sequences through it and `OPTModel.forward(sequences:workspace:)`, so that each
/// ends, and streams, the same way.
public struct SequenceDecoder: Sendable {
    /// Prompt and chosen tokens so far (the end-of-sequence token included once chosen).
    public private(set) var tokens: [Int]
    /// New tokens only, the end-of-sequence token excluded.
    public private(set) var outputIDs: [Int] = []
    /// Why the sequence ended; nil while it runs.
    public private(set) var finishReason: FinishReason?
    private var sampler: TokenSampler
    private var stream: TextStream
    private let maxNewTokens: Int
    private let positionLimit: Int
    private let eosTokenID: Int
    private let stopAtEOS: Bool

    /// A sequence allowed `maxNewTokens` new tokens (0 ends it at once) and `positionLimit` positions in all;
    /// `parameters` give the sampling and the stop strings (their `maxNewTokens` is the caller's to apply).
    public init(promptIDs: [Int], parameters: GenerationParameters, seed: UInt64, maxNewTokens: Int, positionLimit: Int,
                eosTokenID: Int, tokenizer: BPETokenizer) {
        tokens = promptIDs
        sampler = TokenSampler(parameters: parameters, seed: seed)
        stream = TextStream(tokenizer: tokenizer, stop: parameters.stop)
        self.maxNewTokens = maxNewTokens
        self.positionLimit = positionLimit
        self.eosTokenID = eosTokenID
        stopAtEOS = parameters.stopAtEOS
        if maxNewTokens <= 0 { finishReason = .length }
    }

    /// The sequence's text so far (cut before a stop string once one is reached).
    public var text: String { stream.text }

    /// The forward step that brings `cache` up to date with the sequence: the prompt (what follows the prefix a
    /// cache was copied from) the first time, the token chosen last after that.
    public func step(cache: KVCache, logits: OPTModel.LogitPositions = .last) -> OPTModel.SequenceStep {
        OPTModel.SequenceStep(tokens: Array(tokens[cache.length...]), cache: cache, logits: logits)
    }

    /// Chooses the next token from `logits` (the model's, for the last position; modified in place) and accepts
    /// it: returns it with the text it makes final (see `accept`).
    public mutating func advance(_ logits: UnsafeMutableBufferPointer<Float>) -> (id: Int, text: String) {
        let id = sampler.choose(logits, sequence: tokens)
        return (id, accept(id))
    }

    /// Adds the token chosen next and returns the text it makes final: possibly empty, since text is held back
    /// inside a UTF-8 character or while it could begin a stop string. Ends the sequence at the end-of-sequence
    /// token, a stop string or the length limit; `finish()` then gives what was held back.
    private mutating func accept(_ id: Int) -> String {
        precondition(finishReason == nil, "a finished sequence takes no more tokens")
        tokens.append(id)
        if stopAtEOS && id == eosTokenID {
            finishReason = .eos
            return ""
        }
        outputIDs.append(id)
        let (piece, hitStop) = stream.append(id)
        if hitStop {
            finishReason = .stop
        } else if outputIDs.count >= maxNewTokens || tokens.count >= positionLimit {
            finishReason = .length
        }
        return piece
    }

    /// The text held back until the end (none after a stop string: it was cut there); call once, when done.
    public mutating func finish() -> String {
        finishReason == .stop ? "" : stream.finish()
    }
}

/// Incremental text of one generated sequence, with stop strings.
public struct TextStream: Sendable {
    private var decoder: StreamingDecoder
    private let stop: [String]
    /// All text decoded so far (cut at a stop string once one is found).
    public private(set) var text = ""
    /// How much of `text` has been handed out.
    private var emitted = 0

    public init(tokenizer: BPETokenizer, stop: [String]) {
        decoder = StreamingDecoder(tokenizer: tokenizer)
        self.stop = stop
    }

    /// Adds a token; returns the text that is now safe to show and whether a stop string was reached.
    public mutating func append(_ id: Int) -> (String, Bool) {
        text += decoder.append(id)
        if let range = stop.compactMap({ text.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            text = String(text[..<range.lowerBound])
            return (release(upTo: text.count), true)
        }
        return (release(upTo: text.count - heldBack()), false)
    }

    /// The rest of the text once generation is over.
    public mutating func finish() -> String {
        text += decoder.finish()
        return release(upTo: text.count)
    }

    /// Characters at the end of `text` that could begin a stop string.
    private func heldBack() -> Int {
        var longest = 0
        for s in stop {
            for n in stride(from: min(s.count - 1, text.count), to: longest, by: -1) where text.hasSuffix(s.prefix(n)) {
                longest = n
                break
            }
        }
        return longest
    }

    private mutating func release(upTo end: Int) -> String {
        guard end > emitted else { return "" }
        let start = text.index(text.startIndex, offsetBy: emitted)
        let stop = text.index(text.startIndex, offsetBy: end)
        emitted = end
        return String(text[start..<stop])
    }
}
