import Foundation
import OPTSupport
import OPTBench

/// Everything that decides a backend's answers: the response cache is keyed by it and every run records it,
/// so an answer computed under one setting (other weights, another dtype, another kernel path) is never
/// served or reported under another.
public struct ModelIdentity: Codable, Sendable, Equatable {
    /// Each fact by name: e.g. `weights_sha256`, `format`, `kernels`, `blas` for the local engine,
    /// `base_url` and `model` for a server.
    public var facts: [String: String]

    public init(_ facts: [String: String]) { self.facts = facts }

    /// The facts as JSON with sorted keys: what a run records.
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(facts)) ?? Data(), as: UTF8.self)
    }

    /// The SHA-256 of `json`: the cache keys' prefix and the run's `model_hash`.
    public var hash: String { ContentHash.sha256(Data(json.utf8)) }
}
