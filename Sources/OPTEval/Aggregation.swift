import Foundation
import OPTSupport
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
    /// The metric that stands for the task: `acc` for rank classification, `rougeL` for generation (a suite's own).
    public var primaryMetric: String
    /// For a suite's task: how its categories and the suite combine task scores (nil: the bench's levels).
    public var aggregate: SuiteAggregation?
    /// For a suite's task whose few-shot examples were carved out of its evaluated rows: which, and that they are
    /// not evaluated.
    public var fewshotOrigin: String?

    public init(benchmark: String, categories: [String], level: Int, primaryMetric: String, aggregate: SuiteAggregation? = nil,
                fewshotOrigin: String? = nil) {
        self.benchmark = benchmark
        self.categories = categories
        self.level = level
        self.primaryMetric = primaryMetric
        self.aggregate = aggregate
        self.fewshotOrigin = fewshotOrigin
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
    /// "category", "benchmark" or "level"; for a suite's tasks "category" and "suite".
    public var kind: String
    public var name: String
    public var level: Int
    /// nil: the mean over every shot count (the paper's combined 0+k average).
    public var shots: Int?
    public var tasks: Int
    public var score: Double
    /// Bootstrap standard error (instances resampled within each task), for levels; pooled for suites' groups.
    public var stderr: Double?
    /// The instances scored, for suites' groups (nil for the bench's).
    public var instances: Int?
    /// The median of the parts' scores, for suites that average tasks (T0 reports the median over templates).
    public var median: Double?
    /// Every metric of a suite's group combined as its score is (Super-NI's Exact Match beside ROUGE-L); nil for the bench's.
    public var metrics: [String: Double]?
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
        var groups = suiteGroups(taskResults.filter { tasks[$0.task]?.aggregate != nil }, tasks: tasks)
        let benchResults = taskResults.filter { tasks[$0.task]?.aggregate == nil }
        let shotCounts = Set(benchResults.map(\.shots)).sorted()
        for level in Set(benchResults.map(\.level)).sorted() {
            var levelByShots: [Int: Double] = [:]
            for shots in shotCounts {
                let results = benchResults.filter { $0.level == level && $0.shots == shots }
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
                                          tasks: Set(benchResults.filter { $0.level == level }.map(\.task)).count, score: mean, stderr: nil))
            }
        }
        return (taskResults, groups)
    }

    /// A suite's groups per shot count, as lm-evaluation-harness aggregates them: each category (MMLU's stem,
    /// humanities, …), then the suite over its categories (over its tasks when it has none). `weight_by_size`
    /// weights by instances and pools the standard errors as lm-eval does; `mean` averages tasks.
    static func suiteGroups(_ results: [TaskResult], tasks: [String: TaskInfo]) -> [GroupResult] {
        var groups: [GroupResult] = []
        for shots in Set(results.map(\.shots)).sorted() {
            let atShots = results.filter { $0.shots == shots }
            for suite in Set(atShots.compactMap { tasks[$0.task]?.benchmark }).sorted() {
                let members = atShots.filter { tasks[$0.task]?.benchmark == suite }
                guard let aggregate = members.first.flatMap({ tasks[$0.task]?.aggregate }) else { continue }
                var categories: [GroupResult] = []
                for category in Set(members.flatMap { tasks[$0.task]?.categories ?? [] }).sorted() where category != suite {
                    let parts = members.filter { tasks[$0.task]?.categories.contains(category) == true }
                    categories.append(combine(parts.map { ($0.score, $0.stderr, $0.instances, $0.metrics) }, kind: "category", name: category,
                                              shots: shots, tasks: parts.count, aggregate: aggregate))
                }
                let parts = categories.isEmpty ? members.map { ($0.score, $0.stderr, $0.instances, $0.metrics) }
                    : categories.map { ($0.score, $0.stderr ?? 0, $0.instances ?? 0, $0.metrics ?? [:]) }
                groups += categories
                groups.append(combine(parts, kind: "suite", name: suite, shots: shots, tasks: members.count, aggregate: aggregate))
            }
        }
        return groups
    }

    /// One group from its parts' (score, standard error, instances).
    static func combine(_ parts: [(score: Double, stderr: Double, size: Int, metrics: [String: Double])], kind: String, name: String,
                        shots: Int, tasks: Int, aggregate: SuiteAggregation) -> GroupResult {
        let total = parts.reduce(0) { $0 + $1.size }
        func combined(_ values: [Double]) -> Double {
            switch aggregate {
            case .weightBySize: zip(values, parts).reduce(0) { $0 + $1.0 * Double($1.1.size) } / Double(max(total, 1))
            case .mean: values.reduce(0, +) / Double(max(values.count, 1))
            }
        }
        // Metrics every part has (one task's Exact Match is not averaged with another's accuracy).
        var names = Set(parts.first.map { Array($0.metrics.keys) } ?? [])
        for part in parts.dropFirst() { names.formIntersection(part.metrics.keys) }
        let metrics = Dictionary(uniqueKeysWithValues: names.map { name in (name, combined(parts.map { $0.metrics[name] ?? 0 })) })
        let score = combined(parts.map(\.score))
        switch aggregate {
        case .weightBySize:
            // The pooled sample variance of the parts (lm-eval's `pooled_sample_stderr`).
            let pooled = parts.reduce(0) { $0 + Double($1.size - 1) * $1.stderr * $1.stderr * Double($1.size) }
                / Double(max(total - parts.count, 1))
            return GroupResult(kind: kind, name: name, level: 0, shots: shots, tasks: tasks, score: score,
                               stderr: (pooled / Double(max(total, 1))).squareRoot(), instances: total, metrics: metrics)
        case .mean:
            let stderr = parts.reduce(0) { $0 + $1.stderr * $1.stderr }.squareRoot() / Double(max(parts.count, 1))
            let sorted = parts.map(\.score).sorted()
            let median = sorted.isEmpty ? 0 : (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
            return GroupResult(kind: kind, name: name, level: 0, shots: shots, tasks: tasks, score: score, stderr: stderr, instances: total,
                               median: median, metrics: metrics)
        }
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
        var generator = SplitMix64(state: seed)
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
            // Summed in the categories' order, not the dictionary's (which changes from run to run), so that the same
            // scores give the same bits.
            let means = members.sorted { $0.key < $1.key }.map { $0.value.reduce(0, +) / Double($0.value.count) }
            levels.append(means.reduce(0, +) / Double(members.count))
        }
        let mean = levels.reduce(0, +) / Double(levels.count)
        return (levels.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(levels.count - 1)).squareRoot()
    }
}

