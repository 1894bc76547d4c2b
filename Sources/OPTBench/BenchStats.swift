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
