import Foundation
import OPTSupport
import OPTBench
import OPTCheckpoint
import OPTKernels
import OPTModel
import OPTTokenizer

/// The in-process engine as a backend. Loglikelihood requests that share a context run it once
/// (its KV cache is copied to each candidate), `batchSize` contexts at a time, those sharing a prefix (a k-shot
/// prompt's instruction and exemplars) together, so that the prefix runs once and is kept for later requests
/// (`prefixes`); generation requests run greedily, batched the same way.
public struct LocalBackend: EvalBackend {
    public let generator: Generator
    public let identity: ModelIdentity
    /// Contexts per scoring batch, prompts per generation batch.
    public var batchSize: Int
    /// Shared context prefixes kept across requests, within its memory budget.
    public let prefixes: PrefixCache

    /// Refuses a tokenizer with ids the model has no embedding for (files of two different models in one folder).
    public init(generator: Generator, identity: ModelIdentity, batchSize: Int = 8, prefixes: PrefixCache = PrefixCache()) throws {
        guard generator.tokenizer.vocabularySize <= generator.model.config.vocabSize else {
            throw EvalError.tokenizerMismatch(tokenizerSize: generator.tokenizer.vocabularySize, modelSize: generator.model.config.vocabSize)
        }
        self.generator = generator
        self.identity = identity
        self.batchSize = max(1, batchSize)
        self.prefixes = prefixes
    }

    /// The engine for the checkpoint in `directory` (weights converted to `format` if given, `threads` kernel
    /// threads, every core by default), with the identity its answers are cached under.
    public static func load(directory: URL, format: WeightFormat? = nil, headFormat: WeightFormat? = nil, threads: Int? = nil,
                            batchSize: Int = 8) throws -> LocalBackend {
        let generator = Generator(model: try OPTModel(directory: directory, format: format, headFormat: headFormat, threads: threads),
                                  tokenizer: try BPETokenizer.load(directory: directory))
        return try LocalBackend(generator: generator, identity: try identity(directory: directory, model: generator.model), batchSize: batchSize)
    }

    /// The tokenizer files that decide how text becomes ids.
    static let tokenizerFiles = ["tokenizer.json", "vocab.json", "merges.txt", "tokenizer_config.json",
                                 "special_tokens_map.json", "added_tokens.json"]

    /// What decides `model`'s answers, loaded from `directory`: the content of config.json, the weight files
    /// and the tokenizer files (not their names or sizes), the weight formats computed in, and the kernel
    /// and BLAS paths that order the sums.
    public static func identity(directory: URL, model: OPTModel) throws -> ModelIdentity {
        let checkpoint = try Checkpoint(directory: directory)
        let read = ([directory.appendingPathComponent("config.json")] + checkpoint.weightFiles
            + tokenizerFiles.map { directory.appendingPathComponent($0) })
            .filter { FileManager.default.fileExists(atPath: $0.path) }
        var listing = ""
        for file in read { listing += "\(file.lastPathComponent)\u{0}\(try ContentHash.sha256(file: file))\n" }
        let formats = Set(model.weights.namedMatrices.map(\.matrix.format.rawValue)).sorted()
        var facts = ["weights_sha256": ContentHash.sha256(Data(listing.utf8)), "format": formats.joined(separator: ","),
                     "kernels": KernelPath.current, "blas": BLAS.implementation]
        // The set of formats does not say which matrix is in which (int4 with its head in int8 or in int4 both hold
        // the two); the head's is named where it is not the embedding's. Only then, so earlier identities stand.
        let weights = model.weights
        if weights.lmHead.format != weights.embedTokens.format { facts["lm_head_format"] = weights.lmHead.format.rawValue }
        return ModelIdentity(facts)
    }

    public func answer(_ requests: [EvalRequest]) throws -> [EvalResponse] {
        var responses = [EvalResponse?](repeating: nil, count: requests.count)
        var byContext: [String: [(index: Int, continuation: String)]] = [:]
        var generations: [(index: Int, context: String, until: [String], maxTokens: Int)] = []
        for (index, request) in requests.enumerated() {
            switch request {
            case let .loglikelihood(context, continuation): byContext[context, default: []].append((index, continuation))
            case let .generate(context, until, maxTokens): generations.append((index, context, until, maxTokens))
            }
        }
        // Each context runs once for all its continuations, in batches of contexts that share a prefix, by length
        // (little padding after the kept prefix); contexts that share none are batched by length.
        let contexts = PrefixOrder.arrange(Set(byContext.keys)).map { (key: $0, value: byContext[$0] ?? []) }
        for start in stride(from: 0, to: contexts.count, by: batchSize) {
            let batch = Array(contexts[start..<min(start + batchSize, contexts.count)])
            let scores = try generator.score(contexts: batch.map { ($0.key, $0.value.map(\.continuation)) }, prefixes: prefixes)
            for ((_, group), groupScores) in zip(batch, scores) {
                for (item, score) in zip(group, groupScores) {
                    responses[item.index] = .loglikelihood(logprob: score.logprob, isGreedy: score.isGreedy, tokens: score.continuationIDs.count)
                }
            }
        }
        // Batches share stop strings and length limits; within them, prompts of similar length.
        let limit = generator.model.config.maxPositionEmbeddings
        let keyed = try generations.map { item -> (index: Int, ids: [Int], until: [String], maxTokens: Int) in
            let ids = try generator.encodePrompt(item.context)
            // Left truncation keeps room for the new tokens, as lm-evaluation-harness does (BOS goes with the cut tokens).
            let room = max(1, limit - item.maxTokens)
            return (item.index, Array(ids.suffix(room)), item.until, item.maxTokens)
        }
        // Prompts that share a prefix come together (it runs once and is kept), each run by length.
        let rank = Dictionary(uniqueKeysWithValues: PrefixOrder.arrange(Set(generations.map(\.context))).enumerated().map { ($1, $0) })
        let contextOf = Dictionary(generations.map { ($0.index, $0.context) }, uniquingKeysWith: { first, _ in first })
        let groups = Dictionary(grouping: keyed) { "\($0.maxTokens)\u{0}" + $0.until.joined(separator: "\u{0}") }
        for key in groups.keys.sorted() {
            let items = (groups[key] ?? []).sorted { rank[contextOf[$0.index] ?? ""] ?? 0 < rank[contextOf[$1.index] ?? ""] ?? 0 }
            var parameters = GenerationParameters()
            parameters.maxNewTokens = items[0].maxTokens
            parameters.stop = items[0].until
            for start in stride(from: 0, to: items.count, by: batchSize) {
                let batch = Array(items[start..<min(start + batchSize, items.count)])
                let results = try generator.generate(promptIDs: batch.map(\.ids), parameters: parameters, prefixes: prefixes)
                for (item, result) in zip(batch, results) { responses[item.index] = .generated(result.text) }
            }
        }
        return responses.map { $0 ?? .generated("") }
    }

}

/// An order of contexts for batching behind shared prefixes: in text order they fall into runs that share a prefix of
/// at least `sharedBytes` (the questions of one k-shot task); each run comes by length, then the contexts in no run,
/// by length.
enum PrefixOrder {
    static func arrange(_ contexts: Set<String>, sharedBytes: Int = 64) -> [String] {
        var runs: [[String]] = [], loose: [String] = [], run: [String] = []
        func close() {
            if run.count > 1 { runs.append(run) } else { loose += run }
            run = []
        }
        for context in contexts.sorted() {
            if let last = run.last, zip(last.utf8, context.utf8).prefix(while: { $0 == $1 }).count < sharedBytes { close() }
            run.append(context)
        }
        close()
        let byLength = { (items: [String]) in items.sorted { ($0.utf8.count, $0) < ($1.utf8.count, $1) } }
        return runs.flatMap(byLength) + byLength(loose)
    }
}
