import Foundation
import OPTKernels

/// The log-likelihood of a continuation given a context.
public struct ContinuationScore: Sendable, Equatable {
    /// Context tokens as the model saw them (BOS included, left-truncated if the input was too long).
    public var contextIDs: [Int]
    /// Continuation tokens, split from the tokenization of context + continuation.
    public var continuationIDs: [Int]
    /// log p of each continuation token.
    public var tokenLogprobs: [Double]
    /// Σ tokenLogprobs.
    public var logprob: Double
    /// Every continuation token was the most likely one at its position.
    public var isGreedy: Bool
    /// Context tokens dropped from the left so that the input fits the model's positions.
    public var truncatedTokens: Int
}

extension Generator {
    /// Scores `continuation` after `context` the way lm-evaluation-harness does.
    ///
    /// Trailing spaces of the context move to the continuation, the two are tokenized together, and
    /// the continuation is what follows the context's own tokens — so a BPE merge across the boundary
    /// counts towards the continuation. Inputs longer than the model's positions lose context tokens
    /// on the left (reported in `truncatedTokens`).
    public func score(context: String, continuation: String) throws -> ContinuationScore {
        try score([(context, continuation)])[0]
    }

    /// Scores several (context, continuation) pairs in one left-padded batch.
    public func score(_ pairs: [(context: String, continuation: String)]) throws -> [ContinuationScore] {
        let split = try pairs.map { try splitPair(context: $0.context, continuation: $0.continuation) }
        let limit = model.config.maxPositionEmbeddings
        // The model reads everything but the last continuation token; drop context from the left to fit.
        let inputs = split.map { pair -> (input: [Int], continuation: [Int], dropped: Int) in
            let whole = pair.context + pair.continuation
            let dropped = max(0, whole.count - 1 - limit)
            return (Array(whole[dropped..<(whole.count - 1)]), pair.continuation, dropped)
        }
        for item in inputs where item.continuation.count > limit {
            throw ModelError.promptTooLong(tokens: item.continuation.count, limit: limit)
        }
        let longest = inputs.map(\.input.count).max() ?? 0
        // Logits are needed only where continuation tokens are predicted: the last positions of each row.
        let needed = inputs.map(\.continuation.count).max() ?? 1
        let pad = model.config.padTokenId, vocab = model.config.vocabSize
        let cache = KVCache(config: model.config, batchSize: inputs.count, capacity: longest)
        let logits = try model.forward(
            tokens: inputs.map { Array(repeating: pad, count: longest - $0.input.count) + $0.input },
            realToken: inputs.map { Array(repeating: false, count: longest - $0.input.count) + Array(repeating: true, count: $0.input.count) },
            cache: cache, logits: .suffix(needed))

        return inputs.enumerated().map { b, item in
            var tokenLogprobs = [Double]()
            var greedy = true
            let first = needed - item.continuation.count
            for (i, id) in item.continuation.enumerated() {
                let start = ((b * needed) + first + i) * vocab
                let row = UnsafeBufferPointer(rebasing: logits[start..<(start + vocab)])
                tokenLogprobs.append(Double(row[id]) - Double(Ops.logSumExp(row, count: vocab)))
                if LogitsProcessing.argmax(row) != id { greedy = false }
            }
            return ContinuationScore(
                contextIDs: Array(split[b].context.dropFirst(item.dropped)), continuationIDs: item.continuation,
                tokenLogprobs: tokenLogprobs, logprob: tokenLogprobs.reduce(0, +), isGreedy: greedy,
                truncatedTokens: item.dropped)
        }
    }

    /// Scores several continuations of one context (the candidates of a multiple-choice question),
    /// running the context once: its KV cache is copied to one row per continuation, and only the
    /// continuations' own tokens run after it. The numbers are those of `score(_:)`, which this falls
    /// back to when an input has to be truncated to fit the model's positions.
    public func score(context: String, continuations: [String]) throws -> [ContinuationScore] {
        guard !continuations.isEmpty else { return [] }
        let split = try continuations.map { try splitPair(context: context, continuation: $0) }
        let contextIDs = split[0].context
        let longest = split.map(\.continuation.count).max() ?? 1
        guard split.allSatisfy({ $0.context == contextIDs }), contextIDs.count + longest - 1 <= model.config.maxPositionEmbeddings else {
            return try score(continuations.map { (context, $0) })
        }
        let vocab = model.config.vocabSize, pad = model.config.padTokenId
        // log p and greedy flags of each continuation's tokens, filled while the logits they come from are alive.
        var tokenLogprobs = [[Double]](repeating: [], count: split.count)
        var greedy = [Bool](repeating: true, count: split.count)
        func take(_ row: UnsafeBufferPointer<Float>, token: Int, for b: Int) {
            tokenLogprobs[b].append(Double(row[token]) - Double(Ops.logSumExp(row, count: vocab)))
            if LogitsProcessing.argmax(row) != token { greedy[b] = false }
        }
        // The context's last position predicts every continuation's first token.
        let prefix = KVCache(config: model.config, batchSize: 1, capacity: contextIDs.count + longest - 1)
        try withExtendedLifetime(prefix) {
            let last = try model.forward(tokens: [contextIDs], realToken: [Array(repeating: true, count: contextIDs.count)],
                                         cache: prefix, logits: .last)
            for (b, pair) in split.enumerated() { take(UnsafeBufferPointer(rebasing: last[0..<vocab]), token: pair.continuation[0], for: b) }
        }
        // The rest: every continuation but its last token, right-padded, in one batch over copies of the prefix.
        let steps = longest - 1
        if steps > 0 {
            // Copies of the prefix are made for as many continuations at a time as fit in about 512 MB.
            let c = model.config
            let bytesPerRow = (contextIDs.count + steps) * c.hiddenSize * c.numHiddenLayers * 2 * MemoryLayout<Float>.size
            let perBatch = max(1, (512 << 20) / max(bytesPerRow, 1))
            for first in stride(from: 0, to: split.count, by: perBatch) {
                let members = Array(first..<min(first + perBatch, split.count))
                let rows = KVCache(repeatingFirstRowOf: prefix, rows: members.count, capacity: contextIDs.count + steps)
                let inputs = members.map { Array(split[$0].continuation.dropLast()) }
                try withExtendedLifetime(rows) {
                    let logits = try model.forward(
                        tokens: inputs.map { $0 + Array(repeating: pad, count: steps - $0.count) },
                        realToken: inputs.map { Array(repeating: true, count: $0.count) + Array(repeating: false, count: steps - $0.count) },
                        cache: rows, logits: .all)
                    for (row, b) in members.enumerated() {
                        for (i, id) in split[b].continuation.enumerated().dropFirst() {
                            let start = (row * steps + i - 1) * vocab
                            take(UnsafeBufferPointer(rebasing: logits[start..<(start + vocab)]), token: id, for: b)
                        }
                    }
                }
            }
        }
        return split.enumerated().map { b, pair in
            ContinuationScore(contextIDs: contextIDs, continuationIDs: pair.continuation, tokenLogprobs: tokenLogprobs[b],
                              logprob: tokenLogprobs[b].reduce(0, +), isGreedy: greedy[b], truncatedTokens: 0)
        }
    }

    /// lm-evaluation-harness's `_encode_pair`, with OPT's BOS on the context.
    func splitPair(context: String, continuation: String) throws -> (context: [Int], continuation: [Int]) {
        guard !continuation.isEmpty else { throw ModelError.invalidArgument("the continuation is empty: nothing to score") }
        var context = context, continuation = continuation
        let trailingSpaces = context.count - (context.lastIndex(where: { !$0.isWhitespace }).map { context.distance(from: context.startIndex, to: $0) + 1 } ?? 0)
        if trailingSpaces > 0 {
            continuation = String(context.suffix(trailingSpaces)) + continuation
            context = String(context.dropLast(trailingSpaces))
        }
        let whole = tokenizer.encode(context + continuation)
        let contextIDs = tokenizer.encode(context)
        // An empty context leaves just BOS, which conditions the first continuation token.
        let continuationIDs = Array(whole.dropFirst(contextIDs.count))
        guard !continuationIDs.isEmpty else {
            throw ModelError.invalidArgument("the continuation adds no tokens to the context")
        }
        return (contextIDs, continuationIDs)
    }
}
