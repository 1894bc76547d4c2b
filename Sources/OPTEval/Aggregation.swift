import Foundation
import OPTBench

/// One scored instance: its task, id, shot count and metric values (fractions in 0…1).
public struct InstanceScore: Sendable, Equatable {
    public var task: String
    /// Orders a task's instances for the bootstrap, so that results do not depend on input order.
    public var instance: String
    public var shots: Int
    public var metrics: [String: Double]

    public init(task: String, instance: String = "", shots: Int, metrics: [String: Double]) {
        self.task = task
        self.instance = instance
        self.shots = shots
        self.metrics = metrics
    }
}

/// What aggregation needs to know of a task.
public struct TaskInfo: Sendable, Equatable, Codable {
    public var benchmark: String
    public var categories: [String]
    public var level: Int
    /// The metric that stands for the task: `acc` for rank classification, `rougeL` for generation.
    public var primaryMetric: String

    public init(benchmark: String, categories: [String], level: Int, primaryMetric: String) {
        self.benchmark = benchmark
        self.categories = categories
        self.level = level
        self.primaryMetric = primaryMetric
    }
}

/// A task's means at one shot count (percentages).
public struct TaskResult: Codable, Sendable, Equatable {
    public var task: String
    public var shots: Int
    public var level: Int
    public var instances: Int
    public var metrics: [String: Double]
    /// Standard error of the primary metric's mean.
    public var stderr: Double
    public var primaryMetric: String
    public var score: Double

    enum CodingKeys: String, CodingKey {
        case task, shots, level, instances, metrics, stderr, score
        case primaryMetric = "primary_metric"
    }
}

/// The mean of tasks' scores over a category, a benchmark or a level (percentages).
public struct GroupResult: Codable, Sendable, Equatable {
    /// "category", "benchmark" or "level".
    public var kind: String
    public var name: String
    public var level: Int
    /// nil: the mean over every shot count (the paper's combined 0+k average).
    public var shots: Int?
    public var tasks: Int
    public var score: Double
    /// Bootstrap standard error (instances resampled within each task), for levels.
    public var stderr: Double?
}

/// The paper's aggregation: instances → task → category and benchmark → level (the mean of its
/// categories), per shot count, plus the mean over shot counts.
public enum Aggregation {
    public static func summarize(_ scores: [InstanceScore], tasks: [String: TaskInfo], bootstrap: Int = 200,
                                 seed: UInt64 = 0) -> (tasks: [TaskResult], groups: [GroupResult]) {
        struct Key: Hashable { let task: String; let shots: Int }
        let byTask = Dictionary(grouping: scores) { Key(task: $0.task, shots: $0.shots) }
        var taskResults: [TaskResult] = []
        // Primary-metric values of each (task, shots), for the bootstrap.
        var primaryValues: [Key: [Double]] = [:]
        for (key, unordered) in byTask.sorted(by: { ($0.key.task, $0.key.shots) < ($1.key.task, $1.key.shots) }) {
            guard let info = tasks[key.task] else { continue }
            let items = unordered.sorted { $0.instance < $1.instance }
            let names = Set(items.flatMap(\.metrics.keys)).sorted()
            var means: [String: Double] = [:]
            for name in names {
                let values = items.compactMap { $0.metrics[name] }
                means[name] = 100 * values.reduce(0, +) / Double(max(values.count, 1))
            }
            let primary = items.compactMap { $0.metrics[info.primaryMetric] }
            primaryValues[key] = primary
            taskResults.append(TaskResult(task: key.task, shots: key.shots, level: info.level, instances: items.count, metrics: means,
                                          stderr: 100 * standardError(primary), primaryMetric: info.primaryMetric,
                                          score: means[info.primaryMetric] ?? 0))
        }
        var groups: [GroupResult] = []
        let shotCounts = Set(taskResults.map(\.shots)).sorted()
        for level in Set(taskResults.map(\.level)).sorted() {
            var levelByShots: [Int: Double] = [:]
            for shots in shotCounts {
                let results = taskResults.filter { $0.level == level && $0.shots == shots }
                guard !results.isEmpty else { continue }
                let categories = groupMeans(results) { tasks[$0.task]?.categories ?? [] }
                let benchmarks = groupMeans(results) { [tasks[$0.task]?.benchmark ?? ""] }
                for (name, value) in categories {
                    groups.append(GroupResult(kind: "category", name: name, level: level, shots: shots, tasks: value.count, score: value.mean))
                }
                for (name, value) in benchmarks {
                    groups.append(GroupResult(kind: "benchmark", name: name, level: level, shots: shots, tasks: value.count, score: value.mean))
                }
                let score = categories.map(\.value.mean).reduce(0, +) / Double(categories.count)
                levelByShots[shots] = score
                let resampled = bootstrapLevel(results, values: { primaryValues[Key(task: $0.task, shots: shots)] ?? [] },
                                               categories: { tasks[$0.task]?.categories ?? [] }, rounds: bootstrap,
                                               seed: seed &+ UInt64(level * 1000 + shots))
                groups.append(GroupResult(kind: "level", name: "level \(level)", level: level, shots: shots, tasks: results.count,
                                          score: score, stderr: resampled))
            }
            if levelByShots.count > 1 {
                let mean = levelByShots.values.reduce(0, +) / Double(levelByShots.count)
                groups.append(GroupResult(kind: "level", name: "level \(level)", level: level, shots: nil,
                                          tasks: Set(taskResults.filter { $0.level == level }.map(\.task)).count, score: mean, stderr: nil))
            }
        }
        return (taskResults, groups)
    }

    /// Mean task score per group name, groups sorted by name; a task in several groups counts in each.
    static func groupMeans(_ results: [TaskResult], names: (TaskResult) -> [String]) -> [(key: String, value: (mean: Double, count: Int))] {
        var members: [String: [Double]] = [:]
        for result in results { for name in names(result) { members[name, default: []].append(result.score) } }
        return members.map { ($0.key, ($0.value.reduce(0, +) / Double($0.value.count), $0.value.count)) }.sorted { $0.key < $1.key }
    }

    static func standardError(_ values: [Double]) -> Double {
        guard values.count > 1 else { return 0 }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
        return (variance / Double(values.count)).squareRoot()
    }

    /// The standard deviation of the level score over `rounds` resamplings of each task's instances.
    static func bootstrapLevel(_ results: [TaskResult], values: (TaskResult) -> [Double], categories: (TaskResult) -> [String],
                               rounds: Int, seed: UInt64) -> Double? {
        guard rounds > 1 else { return nil }
        var generator = SplitMix(state: seed)
        var levels: [Double] = []
        for _ in 0..<rounds {
            var members: [String: [Double]] = [:]
            for result in results {
                let sample = values(result)
                guard !sample.isEmpty else { continue }
                var total = 0.0
                for _ in sample.indices { total += sample[Int(generator.next() % UInt64(sample.count))] }
                for name in categories(result) { members[name, default: []].append(100 * total / Double(sample.count)) }
            }
            guard !members.isEmpty else { return nil }
            levels.append(members.values.map { $0.reduce(0, +) / Double($0.count) }.reduce(0, +) / Double(members.count))
        }
        let mean = levels.reduce(0, +) / Double(levels.count)
        return (levels.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(levels.count - 1)).squareRoot()
    }
}

/// SplitMix64: a small seeded generator, the same on every platform.
struct SplitMix {
    var state: UInt64

    mutating func next() -> UInt64 {
        defer { state &+= 0x9e37_79b9_7f4a_7c15 }
        return StableHash.mix(state)
    }
}
