import Foundation
import OPTSupport
import OPTBench

/// What a task asks of a model. Tasks produce requests and backends answer them; tasks never call
/// models and models never know tasks (lm-evaluation-harness's split).
public enum EvalRequest: Hashable, Sendable, Codable {
    /// log p(continuation | context), summed over the continuation's tokens.
    case loglikelihood(context: String, continuation: String)
    /// Greedy text after the context, until EOS, one of `until`, or `maxTokens` new tokens.
    case generate(context: String, until: [String], maxTokens: Int)

    /// A stable key for the response cache: the request with the model's identity.
    public func cacheKey(modelHash: String) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(self)) ?? Data()
        return ContentHash.sha256(Data((modelHash + "\u{0}").utf8) + body)
    }
}

/// A backend's answer to one request.
public enum EvalResponse: Hashable, Sendable {
    case loglikelihood(logprob: Double, isGreedy: Bool, tokens: Int)
    case generated(String)

    public var logprob: Double? { if case let .loglikelihood(value, _, _) = self { value } else { nil } }
    public var text: String? { if case let .generated(text) = self { text } else { nil } }
}

/// Answers requests: the local engine (computing on the caller's thread), or a remote OpenAI-compatible server.
public protocol EvalBackend: Sendable {
    /// What decides the answers (weights, tokenizer, formats, kernels; or the server and model name), for
    /// the response cache and the run's record.
    var identity: ModelIdentity { get }
    /// Answers every request, in order.
    func answer(_ requests: [EvalRequest]) async throws -> [EvalResponse]
}

/// Why an evaluation cannot run.
public enum EvalError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The tokenizer has more ids than the model has embeddings: they do not belong together.
    case tokenizerMismatch(tokenizerSize: Int, modelSize: Int)
    /// The bench has no instance in that split at those levels.
    case nothingToEvaluate(bench: String, split: String, levels: [Int])

    public var description: String {
        switch self {
        case let .nothingToEvaluate(bench, split, levels):
            return "\(bench) has no \(split) instances at level \(levels.map(String.init).joined(separator: ", ")) (see optiml bench stats)"
        case let .tokenizerMismatch(tokenizerSize, modelSize):
            return "the tokenizer has \(tokenizerSize) tokens but the model only \(modelSize) embeddings: they are not from the same checkpoint"
        }
    }
}
