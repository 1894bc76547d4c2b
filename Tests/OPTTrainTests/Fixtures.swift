import Foundation
import OPTTrain
import TestSupport

/// Paths of the committed fixtures (tools/make_model_fixtures.py, tools/make_training_fixtures.py).
enum Fixtures {
    static let packageRoot = RepositoryPaths.packageRoot

    static let models = RepositoryPaths.fixtures("models")
    static let training = RepositoryPaths.fixtures("training")

    static let modelNames = [
        "tiny-preln-safetensors-sharded",
        "tiny-postln-bin-sharded",
        "tiny-f16-nobias-safetensors",
        "tiny-bf16-bin-untied",
    ]

    /// A packed batch and transformers' loss on it.
    struct TrainingBatch: Decodable {
        struct Example: Decodable {
            let row: Int
            let start: Int
            let tokens: [Int32]
            let mask: [Bool]
        }
        let rows: Int
        let length: Int
        let examples: [Example]
        let labels: Int
        let loss_sum: Double
        let loss: Double

        var packed: PackedBatch {
            var batch = PackedBatch(rows: rows, length: length, padToken: 1)
            for e in examples { try! batch.place(e.tokens, lossMask: e.mask, row: e.row, start: e.start) }
            batch.padRows()
            return batch
        }
    }

    static func trainingBatch(_ name: String) throws -> TrainingBatch {
        try JSONDecoder().decode(TrainingBatch.self, from: Data(contentsOf: training.appendingPathComponent("\(name)/batch.json")))
    }

    /// A temporary directory removed when `body` returns.
    static func withTemporaryDirectory<R>(_ body: (URL) throws -> R) throws -> R {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("opttrain-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: url) }
        return try body(url)
    }
}
