import Foundation

/// The paper's Table 1 view of a bench: per split and level, how many benchmarks, categories, tasks and examples.
public struct BenchStatsRow: Codable, Sendable, Equatable {
    public var split: String
    /// nil for the training split.
    public var level: Int?
    public var benchmarks: Int
    public var categories: Int
    public var tasks: Int
    public var examples: Int
}

public enum BenchStats {
    /// Rows for train, then validation and test at levels 1, 2 and 3 (level 3: the held-out instances of training tasks).
    public static func rows(_ manifest: BenchManifest) -> [BenchStatsRow] {
        func row(_ split: String, _ level: Int?, _ records: [BenchManifest.TaskRecord], instanceSplit: String) -> BenchStatsRow {
            BenchStatsRow(split: split, level: level, benchmarks: Set(records.map(\.benchmark)).count,
                          categories: Set(records.flatMap(\.categories)).count, tasks: records.count,
                          examples: records.reduce(0) { $0 + ($1.instances[instanceSplit] ?? 0) })
        }
        let train = manifest.tasks.filter { $0.role == .train }
        var rows = [row("train", nil, train.filter { ($0.instances["train"] ?? 0) > 0 }, instanceSplit: "train")]
        for split in ["validation", "test"] {
            for level in [1, 2] {
                rows.append(row(split, level, manifest.tasks.filter { $0.role.rawValue == split && $0.level == level }, instanceSplit: split))
            }
            rows.append(row(split, 3, train.filter { ($0.instances[split] ?? 0) > 0 }, instanceSplit: split))
        }
        return rows
    }
}

/// The paper's Table 1 proper: per benchmark, how its instructions are given and how many categories
/// (clusters), tasks and examples the bench holds of it.
public struct BenchmarkStatsRow: Codable, Sendable, Equatable {
    public var benchmark: String
    /// `task`, `instance`, or both joined by `/` where a benchmark's tasks differ.
    public var instructions: String
    public var categories: Int
    public var tasks: Int
    /// Instances of every split.
    public var examples: Int
}

extension BenchStats {
    /// One row per benchmark of the bench's kept tasks, sorted by name.
    public static func benchmarks(_ manifest: BenchManifest) -> [BenchmarkStatsRow] {
        Dictionary(grouping: manifest.tasks, by: \.benchmark).map { benchmark, records in
            BenchmarkStatsRow(benchmark: benchmark,
                              instructions: Set(records.compactMap { $0.instructionLevel?.rawValue }).sorted().joined(separator: "/"),
                              categories: Set(records.flatMap(\.categories)).count, tasks: records.count,
                              examples: records.reduce(0) { $0 + $1.instances.values.reduce(0, +) })
        }.sorted { $0.benchmark < $1.benchmark }
    }
}
