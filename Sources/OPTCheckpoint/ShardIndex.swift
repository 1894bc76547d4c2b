import Foundation
import OPTSupport

/// A `model.safetensors.index.json` or `pytorch_model.bin.index.json`: which shard holds each tensor.
struct ShardIndex {
    /// Tensor name → shard file name (a plain file name in the same directory).
    var weightMap: [String: String]

    /// Reads and checks the index at `url`.
    init(url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw CheckpointError.fileAccess(url, reason: "cannot read: \(FileProblem.reason(error))")
        }
        do {
            weightMap = try JSONDecoder().decode(Contents.self, from: data).weightMap
        } catch {
            throw CheckpointError.invalidIndex(url, reason: DecodingProblem.describe(error, json: data))
        }
        guard !weightMap.isEmpty else {
            throw CheckpointError.invalidIndex(url, reason: "weight_map is empty")
        }
        // Shards live beside the index; a path would let an index reach files outside the checkpoint.
        if let odd = weightMap.values.first(where: { $0.isEmpty || $0.contains("/") || $0 == ".." || $0 == "." }) {
            throw CheckpointError.invalidIndex(url, reason: "shard name '\(odd)' is not a plain file name")
        }
    }

    private struct Contents: Decodable {
        var weightMap: [String: String]

        enum CodingKeys: String, CodingKey {
            case weightMap = "weight_map"
        }
    }
}
