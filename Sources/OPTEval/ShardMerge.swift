import Foundation
import OPTSupport

/// Why shards could not be merged; each case names the folder at fault.
public enum ShardMergeError: Error, Sendable, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    /// The shards were not made by the same model, bench and settings.
    case mismatch(path: String, what: String)
    /// The shard indices do not cover 0..<N exactly once.
    case incomplete(have: [Int], shards: Int)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .mismatch(path, what): return "\(path) is not a shard of the same evaluation: its \(what) differs"
        case let .incomplete(have, shards): return "shards \(have.map(String.init).joined(separator: ", ")) do not cover 0..<\(shards) exactly once"
        }
    }
}

/// Combines the run folders of `optiml eval --shard i/N` (their results.json and samples.jsonl)
/// into the results of the whole evaluation, aggregated as one run would have been.
public enum ShardMerge {
    struct SampleLine: Codable {
        var task: String
        var id: String
        var shots: Int
        var metrics: [String: Double?]
    }

    /// The merged results file and the shards' sample lines, concatenated in shard order.
    public static func merge(_ folders: [URL], bootstrapSeed: UInt64? = nil) throws -> (results: EvalResultsFile, samples: Data) {
        var files: [(URL, EvalResultsFile)] = []
        for folder in folders {
            let url = folder.appendingPathComponent(Evaluation.resultsFile)
            do { files.append((folder, try JSONDecoder().decode(EvalResultsFile.self, from: Data(contentsOf: url)))) } catch {
                throw ShardMergeError.unreadable(path: url.path, reason: "\(error)")
            }
        }
        guard let (_, first) = files.first else { throw ShardMergeError.incomplete(have: [], shards: 0) }
        let shards = first.settings.shards ?? 1
        var common = first.settings
        common.shard = nil
        for (folder, file) in files {
            var settings = file.settings
            settings.shard = nil
            if file.model != first.model { throw ShardMergeError.mismatch(path: folder.path, what: "model") }
            // Machines may differ in kernel paths; the weights, their format and the server may not.
            let answers = { (identity: ModelIdentity?) in identity?.facts.filter { !["kernels", "blas"].contains($0.key) } }
            if answers(file.modelIdentity) != answers(first.modelIdentity) {
                throw ShardMergeError.mismatch(path: folder.path, what: "model identity (weights, format or server)")
            }
            if file.benchHash != first.benchHash { throw ShardMergeError.mismatch(path: folder.path, what: "bench") }
            if settings != common { throw ShardMergeError.mismatch(path: folder.path, what: "settings") }
        }
        let indices = files.map { $0.1.settings.shard ?? 0 }.sorted()
        guard indices == Array(0..<shards) else { throw ShardMergeError.incomplete(have: indices, shards: shards) }

        var infos: [String: TaskInfo] = [:], scores: [InstanceScore] = [], samples = Data()
        for (folder, file) in files.sorted(by: { ($0.1.settings.shard ?? 0) < ($1.1.settings.shard ?? 0) }) {
            infos.merge(file.taskInfo) { current, _ in current }
            let url = folder.appendingPathComponent(Evaluation.samplesFile)
            let data: Data
            do { data = try Data(contentsOf: url) } catch { throw ShardMergeError.unreadable(path: url.path, reason: "\(error)") }
            // The bytes are copied into the merged file as they are, so they are read whole.
            let lines = JSONLinesReader(data: data, file: url.path)
            while let line = try lines.next() {
                guard !line.bytes.isEmpty else { continue }
                do {
                    let sample = try JSONDecoder().decode(SampleLine.self, from: Data(line.bytes))
                    scores.append(InstanceScore(task: sample.task, instance: sample.id, shots: sample.shots,
                                                metrics: sample.metrics.compactMapValues { $0 }))
                } catch {
                    throw ShardMergeError.unreadable(path: "\(url.path):\(line.number)", reason: "\(error)")
                }
            }
            samples.append(data)
            if let last = data.last, last != 0x0A { samples.append(0x0A) }
        }
        let summary = Aggregation.summarize(scores, tasks: infos, seed: bootstrapSeed ?? common.seed)
        common.shards = nil
        return (EvalResultsFile(model: first.model, modelIdentity: first.modelIdentity, benchHash: first.benchHash, settings: common, taskInfo: infos,
                                tasks: summary.tasks, groups: summary.groups), samples)
    }
}
