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

    /// Scores several (context, continuation) pairs in one forward pass.
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
        // Logits are needed only where continuation tokens are predicted: the last positions of each input.
        let vocab = model.config.vocabSize
        let steps = inputs.map { OPTModel.SequenceStep(tokens: $0.input, cache: workspaces.cache(config: model.config, capacity: $0.input.count),
                                                       logits: .suffix($0.continuation.count)) }
        return try workspaces.with { workspace in
            try model.forward(sequences: steps, workspace: workspace) { logits in
                inputs.enumerated().map { b, item in
                    var tokenLogprobs = [Double]()
                    var greedy = true
                    for (i, id) in item.continuation.enumerated() {
                        let row = UnsafeBufferPointer(rebasing: logits[b][(i * vocab)..<((i + 1) * vocab)])
                        tokenLogprobs.append(Double(row[id]) - Double(Ops.logSumExp(row, count: vocab)))
                        if LogitsProcessing.argmax(row) != id { greedy = false }
                    }
                    return ContinuationScore(
                        contextIDs: Array(split[b].context.dropFirst(item.dropped)), continuationIDs: item.continuation,
                        tokenLogprobs: tokenLogprobs, logprob: tokenLogprobs.reduce(0, +), isGreedy: greedy,
                        truncatedTokens: item.dropped)
                }
            }
        }
    }

    /// Scores several continuations of one context (the candidates of a multiple-choice question),
    /// running the context once. See `score(contexts:)`.
    public func score(context: String, continuations: [String]) throws -> [ContinuationScore] {
        try score(contexts: [(context, continuations)])[0]
    }

    /// Scores the continuations of several contexts, each context run once: the contexts go through
    /// one forward pass, each one's KV cache is copied for each of its continuations, and the
    /// continuations' own tokens run in one more pass. The numbers are those of `score(_:)`, which
    /// a context falls back to when an input has to be truncated to fit the model's positions.
    ///
    /// With `prefixes`, the contexts' longest shared token prefix (the instruction and exemplars of a k-shot
    /// prompt) is run once and kept: a later call whose contexts share a prefix with a kept one starts from a
    /// copy of its keys and values and runs only the rest of each context.
    public func score(contexts groups: [(context: String, continuations: [String])],
                      prefixes: PrefixCache? = nil) throws -> [[ContinuationScore]] {
        let limit = model.config.maxPositionEmbeddings
        var results = [[ContinuationScore]](repeating: [], count: groups.count)
        var shared: [(group: Int, context: [Int], continuations: [[Int]])] = []
        for (g, group) in groups.enumerated() where !group.continuations.isEmpty {
            let split = try group.continuations.map { try splitPair(context: group.context, continuation: $0) }
            let longest = split.map(\.continuation.count).max() ?? 1
            if split.allSatisfy({ $0.context == split[0].context }) && split[0].context.count + longest - 1 <= limit {
                shared.append((g, split[0].context, split.map(\.continuation)))
            } else {
                results[g] = try score(group.continuations.map { (group.context, $0) })
            }
        }
        guard !shared.isEmpty else { return results }
        let vocab = model.config.vocabSize
        // Every continuation as (its context's index, its tokens); log p and greedy flags are filled
        // while the logits they come from are alive.
        let members = shared.enumerated().flatMap { index, item in item.continuations.map { (context: index, tokens: $0) } }
        var tokenLogprobs = [[Double]](repeating: [], count: members.count)
        var greedy = [Bool](repeating: true, count: members.count)
        func take(_ row: UnsafeBufferPointer<Float>, token: Int, for m: Int) {
            tokenLogprobs[m].append(Double(row[token]) - Double(Ops.logSumExp(row, count: vocab)))
            if LogitsProcessing.argmax(row) != token { greedy[m] = false }
        }
        // Each context's last position predicts its continuations' first tokens. Contexts start from a kept
        // prefix when there is one.
        let (start, reused) = try sharedPrefix(shared.map(\.context), in: prefixes)
        let contexts = shared.map { item in
            reused.map { workspaces.cache(copying: $0, length: start, capacity: item.context.count) }
                ?? workspaces.cache(config: model.config, capacity: item.context.count)
        }
        let steps = zip(shared, contexts).map { item, cache in
            OPTModel.SequenceStep(tokens: Array(item.context[cache.length...]), cache: cache, logits: .last)
        }
        try workspaces.with { workspace in
            try model.forward(sequences: steps, workspace: workspace) { last in
                for (m, member) in members.enumerated() {
                    take(UnsafeBufferPointer(last[member.context]), token: member.tokens[0], for: m)
                }
            }
        }
        // The rest of every longer continuation, over a copy of its context's cache: as many at a time as fit
        // in about 512 MB.
        let rest = members.indices.filter { members[$0].tokens.count > 1 }
        func capacity(_ m: Int) -> Int { contexts[members[m].context].length + members[m].tokens.count - 1 }
        let largest = rest.map { KVCache.bytes(config: model.config, capacity: capacity($0)) }.max() ?? 1
        let perBatch = max(1, (512 << 20) / max(largest, 1))
        try workspaces.with { workspace in
            for first in stride(from: 0, to: rest.count, by: perBatch) {
                let batch = rest[first..<min(first + perBatch, rest.count)]
                let steps = batch.map { m in
                    OPTModel.SequenceStep(tokens: Array(members[m].tokens.dropLast()),
                                          cache: workspaces.cache(copying: contexts[members[m].context], capacity: capacity(m)), logits: .all)
                }
                try model.forward(sequences: steps, workspace: workspace) { logits in
                    for (m, rows) in zip(batch, logits) {
                        for (i, id) in members[m].tokens.enumerated().dropFirst() {
                            take(UnsafeBufferPointer(rebasing: rows[((i - 1) * vocab)..<(i * vocab)]), token: id, for: m)
                        }
                    }
                }
            }
        }
        var m = 0
        for item in shared {
            results[item.group] = item.continuations.map { tokens in
                defer { m += 1 }
                return ContinuationScore(contextIDs: item.context, continuationIDs: tokens, tokenLogprobs: tokenLogprobs[m],
                                         logprob: tokenLogprobs[m].reduce(0, +), isGreedy: greedy[m], truncatedTokens: 0)
            }
        }
        return results
    }

    /// Where the rows of `contexts` start and the keys and values they start from: a kept prefix they all share
    /// (at least `PrefixCache.minimumTokens` of it), or a new one of their own longest shared prefix when several
    /// contexts share one; (0, nil) when none applies. Each context keeps at least its last token to run.
    func sharedPrefix(_ contexts: [[Int]], in prefixes: PrefixCache?) throws -> (Int, KVCache?) {
        guard let prefixes, let first = contexts.first else { return (0, nil) }
        var common = (contexts.map(\.count).min() ?? 1) - 1
        for context in contexts.dropFirst() { common = min(common, PrefixCache.sharedLength(first, context)) }
        guard common >= PrefixCache.minimumTokens else { return (0, nil) }
        let wanted = Array(first.prefix(common))
        if let (kept, length) = prefixes.lookup(wanted) { return (length, kept) }
        // A lone context would only keep itself.
        guard contexts.count > 1 else { return (0, nil) }
        let kept = KVCache(config: model.config, capacity: common)
        try workspaces.with { try model.forward(sequences: [.init(tokens: wanted, cache: kept, logits: .last)], workspace: $0) { _ in } }
        prefixes.insert(wanted, kept)
        return (common, kept)
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

/// Keys and values of context prefixes that scoring requests share (the instruction and exemplars of k-shot
/// prompts), kept across calls within a memory budget; the least recently used go first.
public final class PrefixCache: @unchecked Sendable {
    /// Shorter shared prefixes are not worth a copy of their keys and values.
    public static let minimumTokens = 32
    public let budgetBytes: Int
    private var entries: [(tokens: [Int], cache: KVCache, lastUse: Int)] = []
    private var clock = 0
    private let lock = NSLock()
    /// Lookups that found a kept prefix, and the context tokens they saved from running again.
    public private(set) var hits = 0
    public private(set) var reusedTokens = 0

    /// `budgetBytes`: the most the kept keys and values may take (default 512 MiB).
    public init(budgetBytes: Int = 512 << 20) {
        self.budgetBytes = budgetBytes
    }

    /// The kept prefix sharing the most tokens with `tokens`, and how many (at least `minimumTokens`).
    func lookup(_ tokens: [Int]) -> (KVCache, Int)? {
        lock.withLock {
            var best: (index: Int, length: Int)?
            for (index, entry) in entries.enumerated() {
                let length = Self.sharedLength(entry.tokens, tokens)
                if length >= Self.minimumTokens && length > (best?.length ?? 0) { best = (index, length) }
            }
            guard let best else { return nil }
            clock += 1
            entries[best.index].lastUse = clock
            hits += 1
            reusedTokens += best.length
            return (entries[best.index].cache, best.length)
        }
    }

    /// Keeps `cache` (holding `tokens`), dropping the least recently used prefixes beyond the budget.
    func insert(_ tokens: [Int], _ cache: KVCache) {
        lock.withLock {
            guard cache.bytes <= budgetBytes else { return }
            clock += 1
            entries.append((tokens, cache, clock))
            while entries.reduce(0, { $0 + $1.cache.bytes }) > budgetBytes, let oldest = entries.indices.min(by: { entries[$0].lastUse < entries[$1].lastUse }) {
                entries.remove(at: oldest)
            }
        }
    }

    /// How many leading tokens `a` and `b` share.
    static func sharedLength(_ a: [Int], _ b: [Int]) -> Int {
        var length = 0
        while length < a.count && length < b.count && a[length] == b[length] { length += 1 }
        return length
    }
}
