import Foundation
import OPTSupport

/// A task source named on the command line: `niv2:DIR`, `promptsource:TEMPLATES_DIR`, `bigbench:DIR` or `jsonl:PATH`.
public struct TaskSource: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable { case niv2, promptsource, bigbench, jsonl }
    public var kind: Kind
    public var path: String

    public init(kind: Kind, path: String) {
        self.kind = kind
        self.path = path
    }

    /// Parses `KIND:PATH`.
    public init(parsing spec: String) throws {
        guard let colon = spec.firstIndex(of: ":"), let kind = Kind(rawValue: String(spec[..<colon])) else {
            throw BenchError.invalidSource(spec, reason: "expected niv2:DIR, promptsource:DIR, bigbench:DIR or jsonl:PATH")
        }
        let path = String(spec[spec.index(after: colon)...])
        guard !path.isEmpty else { throw BenchError.invalidSource(spec, reason: "the path is empty") }
        self.init(kind: kind, path: path)
    }
}

/// What a bench build decided for one task.
public struct TaskAssignment: Codable, Sendable, Equatable {
    public enum Role: String, Codable, Sendable { case train, validation, test, excluded }
    public var role: Role
    /// 1 (its categories are never trained on) or 2 (other tasks of its category are) for held-out tasks.
    public var level: Int?
    /// Why an excluded task is excluded.
    public var reason: String?
}

/// Builds a bench from task sources and a split: consolidates categories, assigns every task a role
/// and level, splits instances, applies caps, detects answer options, and audits leakage.
public struct BenchBuilder {
    public var spec: SplitSpec
    public var seed: UInt64
    public var taxonomy: Taxonomy
    /// Where the spec came from, for error messages ("niv2-default", "opt-iml" or a file path).
    public var specOrigin: String
    /// Whether every category and task the spec names must exist in the sources. A user's split file
    /// is checked so that a typo does not silently hold out nothing; the presets name the paper's
    /// categories and Super-NI's full task lists, of which a source may hold only some.
    public var requireNamesExist: Bool

    public init(spec: SplitSpec, seed: UInt64? = nil, taxonomy: Taxonomy, specOrigin: String,
                requireNamesExist: Bool = true) {
        self.spec = spec
        self.seed = seed ?? spec.seed
        self.taxonomy = taxonomy
        self.specOrigin = specOrigin
        self.requireNamesExist = requireNamesExist
    }

    /// What PromptSource sources read besides their templates.
    public struct PromptSourceOptions: Sendable {
        /// The folder of dataset rows (`--datasets`); required by a `promptsource:` source.
        public var datasets: URL?
        public var selection: PromptSourceSelection = .original
        public var split = "train"
        /// A category map to use instead of the shipped one.
        public var categories: URL?
        /// The seed of the templates' random choices: the bench's (`run` sets it).
        public var seed: UInt64 = 0

        public init(datasets: URL? = nil) { self.datasets = datasets }
    }

    /// Reads every source: the tasks (ids unique across sources), how many each source held, and the
    /// Super-NI split lists found.
    public static func loadTasks(_ sources: [TaskSource], promptSource: PromptSourceOptions = PromptSourceOptions())
        throws -> (tasks: [BenchTask], counts: [Int], niv2Splits: [String: NIV2SplitLists]) {
        var tasks: [BenchTask] = [], counts: [Int] = [], splits: [String: NIV2SplitLists] = [:], origin: [String: String] = [:]
        for source in sources {
            let url = URL(fileURLWithPath: source.path)
            let loaded: [BenchTask]
            switch source.kind {
            case .niv2:
                let result = try NIV2Source.load(directory: url)
                loaded = result.tasks
                splits.merge(result.splits) { first, _ in first }
            case .jsonl:
                loaded = try JSONLSource.load(path: url)
            case .bigbench:
                loaded = try BigBenchSource.load(directory: url)
            case .promptsource:
                guard let datasets = promptSource.datasets else {
                    throw BenchError.invalidSource("promptsource:\(source.path)", reason: "needs --datasets DIR, the folder of the datasets' rows")
                }
                let categories = try promptSource.categories.map { try PromptSourceCategories(file: $0) } ?? PromptSourceCategories.builtin()
                loaded = try PromptSourceSource(templates: url, datasets: datasets, selection: promptSource.selection,
                                                split: promptSource.split, categories: categories, seed: promptSource.seed).load()
            }
            for task in loaded {
                if let first = origin[task.id] { throw BenchError.duplicateTask(id: task.id, first: first, second: task.origin) }
                origin[task.id] = task.origin
            }
            tasks += loaded
            counts.append(loaded.count)
        }
        return (tasks, counts, splits)
    }

    /// The bench, in memory; `BenchStore.write` puts it on disk.
    public func build(tasks loaded: [BenchTask]) throws -> Bench {
        var tasks = loaded.map { task -> BenchTask in
            var task = task
            task.categories = taxonomy.consolidate(task.originalCategories)
            return task
        }.sorted { $0.id < $1.id }
        try checkNames(tasks)
        var assignments = assignRoles(tasks)
        if spec.leakage.excludeSharedSources { excludeSharedSources(tasks, &assignments) }
        let splitter = InstanceSplitter(spec: spec, seed: seed)
        // Tasks whose instances are not held are split when they are read again (audit, writing).
        for index in tasks.indices where tasks[index].provider == nil {
            splitter.split(&tasks[index], role: assignments.role(of: tasks[index].id))
        }
        let audit = try LeakageAudit(ngram: spec.leakage.ngram, threshold: spec.leakage.threshold)
            .run(tasks: tasks, assignments: assignments) { task in try splitter.prepared(task, role: assignments.role(of: task.id)).instances }
        if spec.leakage.remove {
            for pair in audit.pairs where assignments[pair.trainTask]?.role == .train {
                assignments[pair.trainTask] = TaskAssignment(
                    role: .excluded, level: nil,
                    reason: "leakage: \(pair.sharedInstances) of \(pair.evalInstances) instances of \(pair.evalTask) share a \(spec.leakage.ngram)-gram with it")
            }
        }
        assignLevels(tasks, &assignments)
        let kept = tasks.filter { assignments.role(of: $0.id) != .excluded }.map { task -> BenchTask in
            var task = task
            if task.provider == nil, task.options == nil { task.options = splitter.detectOptions(task) }
            return task
        }
        let unmapped = Set(loaded.flatMap(\.originalCategories).filter { taxonomy.consolidated($0) == nil }).sorted()
        return Bench(tasks: kept, assignments: assignments, allTasks: tasks.map { TaskSummary($0) }, spec: spec, seed: seed,
                     leakage: audit, unmappedCategories: unmapped)
    }

    /// Every category and task a split names must exist (see `requireNamesExist`).
    private func checkNames(_ tasks: [BenchTask]) throws {
        guard requireNamesExist else { return }
        let ids = Set(tasks.map(\.id))
        let categories = Set(tasks.flatMap(\.categories))
        let namedCategories = [("validation.categories", spec.validation.categories), ("test.categories", spec.test.categories),
                               ("partially_held_out.validation", spec.partiallyHeldOut.validation),
                               ("partially_held_out.test", spec.partiallyHeldOut.test)]
        for (key, names) in namedCategories {
            if let name = names.first(where: { !categories.contains(taxonomy.consolidated($0) ?? $0) }) {
                throw BenchError.unknownName(path: specOrigin, key: key, name: name)
            }
        }
        for (key, names) in [("validation.tasks", spec.validation.tasks), ("test.tasks", spec.test.tasks),
                             ("train_tasks", spec.trainTasks ?? []), ("exclude_tasks", spec.excludeTasks)] {
            if let name = names.first(where: { !ids.contains($0) }) { throw BenchError.unknownName(path: specOrigin, key: key, name: name) }
        }
    }

    private func assignRoles(_ tasks: [BenchTask]) -> [String: TaskAssignment] {
        var result: [String: TaskAssignment] = [:]
        let excluded = Set(spec.excludeTasks)
        let languages = Set(spec.languages)
        func consolidated(_ names: [String]) -> Set<String> { Set(names.map { taxonomy.consolidated($0) ?? $0 }) }
        let heldOutCategories: [(TaskAssignment.Role, Set<String>)] = [(.test, consolidated(spec.test.categories)),
                                                                       (.validation, consolidated(spec.validation.categories))]
        let heldOutTasks: [(TaskAssignment.Role, Set<String>)] = [(.test, Set(spec.test.tasks)), (.validation, Set(spec.validation.tasks))]
        for task in tasks {
            let taskLanguages = task.inputLanguages + task.outputLanguages + task.instructionLanguages
            if excluded.contains(task.id) {
                result[task.id] = TaskAssignment(role: .excluded, reason: "listed in the split's excluded tasks")
            } else if task.instanceCount == 0 {
                // Nothing to train on or score: counted in a level it would silently drop out of every evaluation.
                result[task.id] = TaskAssignment(role: .excluded, reason: "it has no instances")
            } else if !languages.isEmpty, let other = taskLanguages.first(where: { !languages.contains($0) }) {
                result[task.id] = TaskAssignment(role: .excluded, reason: "language \(other) is not among \(spec.languages.joined(separator: ", "))")
            } else if let (role, _) = heldOutTasks.first(where: { $0.1.contains(task.id) }) {
                result[task.id] = TaskAssignment(role: role)
            } else if let (role, _) = heldOutCategories.first(where: { !$0.1.isDisjoint(with: task.categories) }) {
                result[task.id] = TaskAssignment(role: role)
            }
        }
        // Level 2 by category: a seeded share of the category's remaining tasks, spread over the splits naming it.
        let partial = consolidated(spec.partiallyHeldOut.validation).union(consolidated(spec.partiallyHeldOut.test)).sorted()
        for category in partial {
            let roles: [TaskAssignment.Role] = (consolidated(spec.partiallyHeldOut.validation).contains(category) ? [.validation] : [])
                + (consolidated(spec.partiallyHeldOut.test).contains(category) ? [.test] : [])
            let candidates = tasks.filter { result[$0.id] == nil && $0.categories.contains(category) && isTrainable($0) }
            guard candidates.count >= 2 else { continue }
            let wanted = max(Int((spec.partiallyHeldOut.fraction * Double(candidates.count)).rounded()), roles.count)
            let count = min(wanted, candidates.count - 1)
            for (index, task) in StableHash.ordered(candidates, seed: seed, salt: "level2:" + category, key: \.id).prefix(count).enumerated() {
                result[task.id] = TaskAssignment(role: roles[index % roles.count])
            }
        }
        for task in tasks where result[task.id] == nil {
            result[task.id] = isTrainable(task)
                ? TaskAssignment(role: .train) : TaskAssignment(role: .excluded, reason: "not in the split's training tasks")
        }
        return result
    }

    private func isTrainable(_ task: BenchTask) -> Bool { spec.trainTasks.map { $0.contains(task.id) } ?? true }

    /// Super-NI's rule: a training task sharing a source dataset with an evaluation task is excluded.
    private func excludeSharedSources(_ tasks: [BenchTask], _ assignments: inout [String: TaskAssignment]) {
        var evalSource: [String: String] = [:]
        for task in tasks where assignments.role(of: task.id).isHeldOut {
            for source in task.sources where evalSource[source] == nil { evalSource[source] = task.id }
        }
        for task in tasks where assignments.role(of: task.id) == .train {
            if let (source, evalTask) = task.sources.lazy.compactMap({ source in evalSource[source].map { (source, $0) } }).first {
                assignments[task.id] = TaskAssignment(
                    role: .excluded, reason: "shares source dataset \(source) with evaluation task \(evalTask)")
            }
        }
    }

    /// Level 1 when no training task has any of the task's categories, else level 2.
    private func assignLevels(_ tasks: [BenchTask], _ assignments: inout [String: TaskAssignment]) {
        let trained = Set(tasks.filter { assignments.role(of: $0.id) == .train }.flatMap(\.categories))
        for task in tasks where assignments.role(of: task.id).isHeldOut {
            assignments[task.id]?.level = trained.isDisjoint(with: task.categories) ? 1 : 2
        }
    }

}

/// How a bench divides a task's instances once its role is known; the same decisions however often a task
/// whose instances are not held is read again.
struct InstanceSplitter {
    var spec: SplitSpec
    var seed: UInt64

    /// The task with its instances read, split and (without given options) its label set found.
    func prepared(_ task: BenchTask, role: TaskAssignment.Role) throws -> BenchTask {
        guard task.provider != nil else { return task }
        var loaded = try task.loaded()
        split(&loaded, role: role)
        if loaded.options == nil { loaded.options = detectOptions(loaded) }
        return loaded
    }

    /// Training tasks: a seeded level-3 hold-out, the rest trained on up to the cap (file order).
    /// Held-out tasks: the first `eval_per_task` are evaluated, the rest kept as demonstrations.
    func split(_ task: inout BenchTask, role: TaskAssignment.Role) {
        switch role {
        case .excluded:
            return
        case .validation, .test:
            let split: InstanceSplit = role == .validation ? .validation : .test
            for index in task.instances.indices {
                task.instances[index].split = index < spec.caps.evalPerTask ? split : .demonstrations
            }
        case .train:
            let holdout = task.instances.count >= 2
                ? min(spec.instances.maxPerTask, Int(spec.instances.fraction * Double(task.instances.count)), task.instances.count - 1) : 0
            let heldOut = Set(StableHash.ordered(task.instances, seed: seed, salt: "level3:" + task.id, key: \.id).prefix(holdout).map(\.id))
            let cap = spec.caps.trainPerBenchmark[task.benchmark] ?? spec.caps.trainPerTask
            var trained = 0
            task.instances = task.instances.compactMap { instance in
                var instance = instance
                if heldOut.contains(instance.id) {
                    instance.split = spec.instances.split
                } else {
                    guard trained < cap else { return nil }
                    trained += 1
                    instance.split = .train
                }
                return instance
            }
        }
    }

    /// The outputs form a closed label set: at least 2 and at most `max_options` distinct outputs (those
    /// of the positive examples included), each instance's outputs inside it, and at least twice as many
    /// instances as labels (so that a small free-text task is not mistaken for classification).
    func detectOptions(_ task: BenchTask) -> [String]? {
        guard task.instances.allSatisfy({ $0.options == nil }) else { return nil }
        var labels = Set<String>()
        for output in task.instances.flatMap(\.outputs) + task.positiveExamples.map(\.output) {
            labels.insert(output)
            if labels.count > spec.caps.maxOptions { return nil }
        }
        guard labels.count >= 2, task.instances.count >= 2 * labels.count else { return nil }
        return labels.sorted()
    }
}

extension TaskAssignment.Role {
    var isHeldOut: Bool { self == .validation || self == .test }
}

extension [String: TaskAssignment] {
    /// A task's role; a task the build never saw counts as excluded.
    func role(of id: String) -> TaskAssignment.Role { self[id]?.role ?? .excluded }
}

/// What the manifest records of every task read, kept or not.
public struct TaskSummary: Codable, Sendable, Equatable {
    public var id: String
    public var benchmark: String
    public var categories: [String]
    public var originalCategories: [String]
    public var sources: [String]
    public var instances: Int

    init(_ task: BenchTask) {
        id = task.id
        benchmark = task.benchmark
        categories = task.categories
        originalCategories = task.originalCategories
        sources = task.sources
        instances = task.instanceCount
    }

    enum CodingKeys: String, CodingKey {
        case id, benchmark, categories, sources, instances
        case originalCategories = "original_categories"
    }
}

/// A built bench in memory: the kept tasks with their instances split, and every decision made.
public struct Bench: Sendable {
    public var tasks: [BenchTask]
    public var assignments: [String: TaskAssignment]
    public var allTasks: [TaskSummary]
    public var spec: SplitSpec
    public var seed: UInt64
    public var leakage: LeakageReport
    public var unmappedCategories: [String]
}
