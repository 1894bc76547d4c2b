import Foundation
import OPTSupport
import Yams

/// How a bench divides its tasks and instances: which categories and tasks are held out for
/// validation and test (levels 1 and 2), which instances of training tasks are held out (level 3),
/// caps, filters and the leakage rules. A preset, or a YAML/JSON file with these keys (snake_case).
public struct SplitSpec: Codable, Sendable, Equatable {
    public var name: String
    /// Default seed; `--seed` overrides it.
    public var seed: UInt64 = 0
    /// Keep only tasks whose input, output and instruction languages are all among these (empty: keep all).
    public var languages: [String] = []
    /// When set, only these tasks (besides held-out ones) are trained on; the others are excluded.
    public var trainTasks: [String]?
    public var excludeTasks: [String] = []
    public var validation = HeldOut()
    public var test = HeldOut()
    public var partiallyHeldOut = PartiallyHeldOut()
    public var instances = InstanceHoldout()
    public var caps = Caps()
    public var leakage = LeakageRules()
    /// Benchmark shares of the training mixture that the bench is meant for (`tune --proportions`); empty: none given.
    public var proportions: [String: Double] = [:]

    /// The paper's benchmark proportions (§4: CrossFit/ExMix/FLAN/NIV2/PS/T5/U-SKG = 4/2/20/25/45/2/2), by benchmark name.
    public static let paperProportions: [String: Double] = [
        "crossfit": 4, "exmix": 2, "flan": 20, "niv2": 25, "promptsource": 45, "t5": 2, "unifiedskg": 2,
    ]

    public init(name: String) { self.name = name }

    /// Held out for one evaluation split.
    public struct HeldOut: Codable, Sendable, Equatable {
        /// Categories none of whose tasks is trained on.
        public var categories: [String] = []
        /// Tasks held out by name.
        public var tasks: [String] = []
    }

    /// Level 2: categories whose tasks are divided between training and evaluation.
    public struct PartiallyHeldOut: Codable, Sendable, Equatable {
        /// Share of a category's tasks held out (at least one, and never all of them).
        public var fraction: Double = 0.2
        public var validation: [String] = []
        public var test: [String] = []
    }

    /// Level 3: instances of training tasks held out from training.
    public struct InstanceHoldout: Codable, Sendable, Equatable {
        /// Share of each training task's instances held out (0: none).
        public var fraction: Double = 0
        public var maxPerTask: Int = 250
        public var split: InstanceSplit = .test
    }

    public struct Caps: Codable, Sendable, Equatable {
        /// Training instances kept per task (the first in file order).
        public var trainPerTask: Int = 100_000
        /// Per-benchmark overrides of `trainPerTask` (the paper: FLAN 30k).
        public var trainPerBenchmark: [String: Int] = ["flan": 30_000]
        /// Evaluation instances per held-out task (the first in file order; Super-NI evaluates 100).
        public var evalPerTask: Int = 100
        /// A task's outputs become rank-classification options when they form a set this small.
        public var maxOptions: Int = 10
    }

    public struct LeakageRules: Codable, Sendable, Equatable {
        /// Exclude training tasks that share a source dataset with an evaluation task (Super-NI's rule).
        public var excludeSharedSources: Bool = true
        public var ngram: Int = 13
        /// Report train/eval task pairs where more than this share of eval instances share an n-gram.
        public var threshold: Double = 0.01
        /// Exclude the training task of every reported pair.
        public var remove: Bool = false
    }

    enum CodingKeys: String, CodingKey {
        case name, seed, languages, validation, test, instances, caps, leakage, proportions
        case trainTasks = "train_tasks", excludeTasks = "exclude_tasks", partiallyHeldOut = "partially_held_out"
    }
}

extension SplitSpec.InstanceHoldout {
    enum CodingKeys: String, CodingKey { case fraction, split, maxPerTask = "max_per_task" }
}

extension SplitSpec.Caps {
    enum CodingKeys: String, CodingKey {
        case trainPerTask = "train_per_task", trainPerBenchmark = "train_per_benchmark", evalPerTask = "eval_per_task"
        case maxOptions = "max_options"
    }
}

extension SplitSpec.LeakageRules {
    enum CodingKeys: String, CodingKey { case ngram, threshold, remove, excludeSharedSources = "exclude_shared_sources" }
}

// Every key is optional in a split file: a missing one keeps the default above.
extension SplitSpec {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(name: try c.decodeIfPresent(String.self, forKey: .name) ?? "custom")
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        languages = try c.decodeIfPresent([String].self, forKey: .languages) ?? languages
        trainTasks = try c.decodeIfPresent([String].self, forKey: .trainTasks)
        excludeTasks = try c.decodeIfPresent([String].self, forKey: .excludeTasks) ?? excludeTasks
        validation = try c.decodeIfPresent(HeldOut.self, forKey: .validation) ?? validation
        test = try c.decodeIfPresent(HeldOut.self, forKey: .test) ?? test
        partiallyHeldOut = try c.decodeIfPresent(PartiallyHeldOut.self, forKey: .partiallyHeldOut) ?? partiallyHeldOut
        instances = try c.decodeIfPresent(InstanceHoldout.self, forKey: .instances) ?? instances
        caps = try c.decodeIfPresent(Caps.self, forKey: .caps) ?? caps
        leakage = try c.decodeIfPresent(LeakageRules.self, forKey: .leakage) ?? leakage
        proportions = try c.decodeIfPresent([String: Double].self, forKey: .proportions) ?? proportions
    }
}

extension SplitSpec.HeldOut {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        categories = try c.decodeIfPresent([String].self, forKey: .categories) ?? []
        tasks = try c.decodeIfPresent([String].self, forKey: .tasks) ?? []
    }
}

extension SplitSpec.PartiallyHeldOut {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        fraction = try c.decodeIfPresent(Double.self, forKey: .fraction) ?? fraction
        validation = try c.decodeIfPresent([String].self, forKey: .validation) ?? []
        test = try c.decodeIfPresent([String].self, forKey: .test) ?? []
    }
}

extension SplitSpec.InstanceHoldout {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        fraction = try c.decodeIfPresent(Double.self, forKey: .fraction) ?? fraction
        maxPerTask = try c.decodeIfPresent(Int.self, forKey: .maxPerTask) ?? maxPerTask
        split = try c.decodeIfPresent(InstanceSplit.self, forKey: .split) ?? split
    }
}

extension SplitSpec.Caps {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        trainPerTask = try c.decodeIfPresent(Int.self, forKey: .trainPerTask) ?? trainPerTask
        trainPerBenchmark = try c.decodeIfPresent([String: Int].self, forKey: .trainPerBenchmark) ?? trainPerBenchmark
        evalPerTask = try c.decodeIfPresent(Int.self, forKey: .evalPerTask) ?? evalPerTask
        maxOptions = try c.decodeIfPresent(Int.self, forKey: .maxOptions) ?? maxOptions
    }
}

extension SplitSpec.LeakageRules {
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        excludeSharedSources = try c.decodeIfPresent(Bool.self, forKey: .excludeSharedSources) ?? excludeSharedSources
        ngram = try c.decodeIfPresent(Int.self, forKey: .ngram) ?? ngram
        threshold = try c.decodeIfPresent(Double.self, forKey: .threshold) ?? threshold
        remove = try c.decodeIfPresent(Bool.self, forKey: .remove) ?? remove
    }
}

extension SplitSpec {
    /// Super-NaturalInstructions' official default split: its `train_tasks.txt`, its `test_tasks.txt`
    /// (12 categories held out whole), its `excluded_tasks.txt`, English only, no instance hold-out.
    /// `lists` are the source's `splits/default` lists, or the copies shipped with optiml.
    public static func niv2Default(lists: NIV2SplitLists) -> SplitSpec {
        var spec = SplitSpec(name: "niv2-default")
        spec.languages = ["English"]
        spec.trainTasks = lists.train
        spec.test.tasks = lists.test
        spec.excludeTasks = lists.excluded
        return spec
    }

    /// The paper's choices (§2.3 and its validation table): categories held out whole for validation
    /// and test, three categories split between training and evaluation, and 10% of each training
    /// task's instances (at most 250) held out for level 3.
    public static func optIML() -> SplitSpec {
        var spec = SplitSpec(name: "opt-iml")
        spec.languages = ["English"]
        spec.validation.categories = ["Stereotype Detection", "Word Analogy", "Cause Effect Classification", "Grammar Error Correction"]
        spec.test.categories = ["Textual Entailment", "Coreference Resolution", "Dialogue Act Recognition", "Data to Text"]
        spec.partiallyHeldOut.validation = ["Toxic Language Detection", "Summarization", "Question Answering"]
        spec.partiallyHeldOut.test = ["Question Answering"]
        spec.instances.fraction = 0.1
        spec.proportions = paperProportions
        return spec
    }

    /// The Super-NI default lists shipped with optiml (verbatim copies of `splits/default/*.txt`).
    public static func builtinNIV2DefaultLists() throws -> NIV2SplitLists {
        func list(_ name: String) throws -> [String] {
            guard let url = Bundle.module.url(forResource: "niv2-default-\(name)_tasks", withExtension: "txt") else {
                throw BenchError.unreadableFile(path: "niv2-default-\(name)_tasks.txt", reason: "the resource is missing from the OPTBench bundle")
            }
            return try NIV2SplitLists.read(url)
        }
        return NIV2SplitLists(train: try list("train"), test: try list("test"), excluded: try list("excluded"))
    }

    static let topLevelKeys: Set<String> = Set(CodingKeys.allCases.map(\.rawValue))
    static let nestedKeys: [String: Set<String>] = [
        "validation": ["categories", "tasks"], "test": ["categories", "tasks"],
        "partially_held_out": ["fraction", "validation", "test"], "instances": ["fraction", "max_per_task", "split"],
        "caps": ["train_per_task", "train_per_benchmark", "eval_per_task", "max_options"],
        "leakage": ["exclude_shared_sources", "ngram", "threshold", "remove"],
    ]

    private static func checkKeys(_ mapping: [String: Any], known: Set<String>, prefix: String, path: String) throws {
        if let unknown = mapping.keys.sorted().first(where: { !known.contains($0) }) {
            throw BenchError.invalidSplit(path: path, key: prefix + unknown,
                                          reason: "unknown key (expected one of \(known.sorted().joined(separator: ", ")))")
        }
    }

    /// A split file: YAML (or JSON, which is YAML too). Unknown keys are errors, so that a typo is not silently ignored.
    public static func load(file: URL) throws -> SplitSpec {
        let path = file.path
        let text: String
        do { text = try UTF8File.read(file) } catch {
            throw BenchError.unreadableFile(path: path, reason: error.reason)
        }
        let tree: Any?
        do { tree = try Yams.load(yaml: text) } catch { throw BenchError.malformedFile(path: path, line: nil, reason: "\(error)") }
        // An empty file (or only comments) keeps every default.
        guard let mapping = tree.map({ $0 as? [String: Any] }) ?? [:] else {
            throw BenchError.wrongType(path: path, key: "the file", expected: "a mapping")
        }
        try checkKeys(mapping, known: topLevelKeys, prefix: "", path: path)
        for (key, known) in nestedKeys {
            if let nested = mapping[key] as? [String: Any] { try checkKeys(nested, known: known, prefix: key + ".", path: path) }
        }
        var spec: SplitSpec
        do { spec = mapping.isEmpty ? SplitSpec(name: "custom") : try YAMLDecoder().decode(SplitSpec.self, from: text) } catch let error as DecodingError {
            throw BenchError.invalidSplit(path: path, key: DecodingProblem.keyPath(error) ?? "the file", reason: DecodingProblem.reason(error))
        }
        if spec.name == "custom" { spec.name = file.deletingPathExtension().lastPathComponent }
        try spec.validateValues(path: path)
        return spec
    }

    func validateValues(path: String) throws {
        func check(_ condition: Bool, _ key: String, _ reason: String) throws {
            if !condition { throw BenchError.invalidSplit(path: path, key: key, reason: reason) }
        }
        try check((0...1).contains(partiallyHeldOut.fraction), "partially_held_out.fraction", "must be between 0 and 1")
        try check((0...1).contains(instances.fraction), "instances.fraction", "must be between 0 and 1")
        try check(instances.split == .validation || instances.split == .test, "instances.split", "must be validation or test")
        try check(instances.maxPerTask >= 0, "instances.max_per_task", "must not be negative")
        try check(caps.trainPerTask >= 0, "caps.train_per_task", "must not be negative")
        for (benchmark, cap) in caps.trainPerBenchmark.sorted(by: { $0.key < $1.key }) {
            try check(cap >= 0, "caps.train_per_benchmark.\(benchmark)", "must not be negative")
        }
        try check(caps.evalPerTask >= 1, "caps.eval_per_task", "must be at least 1")
        try check(caps.maxOptions >= 2, "caps.max_options", "must be at least 2")
        try check(leakage.ngram >= 1, "leakage.ngram", "must be at least 1")
        try check((0...1).contains(leakage.threshold), "leakage.threshold", "must be between 0 and 1")
        // Held out whole for one split or the other: a name under both would silently go to test.
        let categories = Set(validation.categories).intersection(test.categories).sorted()
        try check(categories.isEmpty, "test.categories", "\(categories.joined(separator: ", ")) also under validation.categories")
        let tasks = Set(validation.tasks).intersection(test.tasks).sorted()
        try check(tasks.isEmpty, "test.tasks", "\(tasks.joined(separator: ", ")) also under validation.tasks")
    }
}

extension SplitSpec.CodingKeys: CaseIterable {}
