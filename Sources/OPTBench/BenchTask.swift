/// One task of the bench: its instruction, demonstrations and instances, with the metadata the
/// splits, the taxonomy and the leakage audit need.
public struct BenchTask: Codable, Sendable, Equatable {
    /// Unique name, e.g. `task1344_glue_entailment_classification`.
    public var id: String
    /// The collection it came from: niv2, promptsource, flan, crossfit, exmix, t5, unifiedskg, reasoning, or a user's own.
    public var benchmark: String
    /// Categories as the source names them.
    public var originalCategories: [String]
    /// Categories after the taxonomy's consolidation (equal to `originalCategories` until a bench build maps them).
    public var categories: [String]
    /// Source datasets (Super-NI's `Source`): an evaluation task never shares one with a training task.
    public var sources: [String]
    /// Whether the instruction is given once for the task (Super-NI's `Definition`) or is part of each instance's input (PromptSource, FLAN templates).
    public var instructionLevel: InstructionLevel
    /// Task-level instruction(s); the first is the one prompts use. Empty for instance-level tasks.
    public var definition: [String]
    /// Names of the instance-level templates the instances were rendered with, when the source records them.
    public var templates: [String]
    public var positiveExamples: [TaskExample]
    public var negativeExamples: [TaskExample]
    public var instances: [TaskInstance]
    /// The closed label set for rank classification, or nil when the task is scored by generation.
    public var options: [String]?
    public var inputLanguages: [String]
    public var outputLanguages: [String]
    public var instructionLanguages: [String]
    public var domains: [String]
    public var reasoning: [String]
    /// Where the task file was read (for error messages and the manifest).
    public var origin: String
    /// How the task is prompted and scored when it comes from an evaluation suite (lm-evaluation-harness's way);
    /// nil for the bench's own tasks, which the prompt styles format.
    public var suite: SuitePrompt?
    /// Reads the instances again when they are not held (`instances` is then empty): a bench build keeps one
    /// such task's instances in memory at a time. Not stored in files.
    public var provider: InstanceProvider?

    public init(id: String, benchmark: String, categories: [String], sources: [String] = [],
                instructionLevel: InstructionLevel = .task, definition: [String] = [], templates: [String] = [],
                positiveExamples: [TaskExample] = [], negativeExamples: [TaskExample] = [], instances: [TaskInstance],
                options: [String]? = nil, inputLanguages: [String] = ["English"], outputLanguages: [String] = ["English"],
                instructionLanguages: [String] = ["English"], domains: [String] = [], reasoning: [String] = [],
                origin: String = "") {
        self.id = id
        self.benchmark = benchmark
        self.originalCategories = categories
        self.categories = categories
        self.sources = sources
        self.instructionLevel = instructionLevel
        self.definition = definition
        self.templates = templates
        self.positiveExamples = positiveExamples
        self.negativeExamples = negativeExamples
        self.instances = instances
        self.options = options
        self.inputLanguages = inputLanguages
        self.outputLanguages = outputLanguages
        self.instructionLanguages = instructionLanguages
        self.domains = domains
        self.reasoning = reasoning
        self.origin = origin
    }

    enum CodingKeys: String, CodingKey {
        case id, benchmark, categories, sources, definition, templates, instances, options, domains, reasoning, origin, suite
        case originalCategories = "original_categories"
        case instructionLevel = "instruction_level"
        case positiveExamples = "positive_examples"
        case negativeExamples = "negative_examples"
        case inputLanguages = "input_languages"
        case outputLanguages = "output_languages"
        case instructionLanguages = "instruction_languages"
    }
}

/// Where a task's instruction lives.
public enum InstructionLevel: String, Codable, Sendable {
    /// One instruction for the whole task, placed before the demonstrations and the query.
    case task
    /// Each instance's input already holds its instruction (a template applied per instance).
    case instance
}

/// A worked example shown in the instruction (Super-NI's positive and negative examples).
public struct TaskExample: Codable, Sendable, Equatable {
    public var input: String
    public var output: String
    public var explanation: String?

    public init(input: String, output: String, explanation: String? = nil) {
        self.input = input
        self.output = output
        self.explanation = explanation
    }
}

/// One instance: an input and every acceptable output.
public struct TaskInstance: Codable, Sendable, Equatable {
    public var id: String
    public var input: String
    /// References; the first is the training target.
    public var outputs: [String]
    /// Answer options of this instance alone (multiple-choice questions), overriding the task's.
    public var options: [String]?
    /// The index of the right option when the source gives it (suites: two options may have the same text);
    /// nil: the first option that is an output.
    public var gold: Int?
    /// Which part of the bench the instance belongs to; set by the bench build.
    public var split: InstanceSplit?

    public init(id: String, input: String, outputs: [String], options: [String]? = nil, gold: Int? = nil, split: InstanceSplit? = nil) {
        self.id = id
        self.input = input
        self.outputs = outputs
        self.options = options
        self.gold = gold
        self.split = split
    }
}

/// The part of the bench an instance belongs to.
public enum InstanceSplit: String, Codable, Sendable, CaseIterable {
    /// Trained on (instances of training tasks).
    case train
    /// Instances of a held-out task beyond its evaluation cap: never trained on, used only as k-shot demonstrations.
    case demonstrations
    case validation
    case test
}

extension BenchTask {
    /// Whether `id` can name the task's file in a bench: one path component (no `/`, `\\` or NUL), not
    /// starting with `.`.
    public static func isValidID(_ id: String) -> Bool {
        !id.isEmpty && !id.hasPrefix(".") && !id.contains(where: { $0 == "/" || $0 == "\\" || $0 == "\u{0}" })
    }

    /// The answer options of an instance: its own, else the task's.
    public func options(for instance: TaskInstance) -> [String]? { instance.options ?? options }

    /// Instances of one split, in file order.
    public func instances(in split: InstanceSplit) -> [TaskInstance] { instances.filter { $0.split == split } }
}

/// A task's instances produced on demand, the same each time (PromptSource renders its rows again), so that
/// a large source never holds every instance at once.
public final class InstanceProvider: Sendable, Equatable {
    /// How many instances `load` gives (counted when the source was read).
    public let count: Int
    private let produce: @Sendable () throws -> [TaskInstance]

    public init(count: Int, _ produce: @escaping @Sendable () throws -> [TaskInstance]) {
        self.count = count
        self.produce = produce
    }

    public func load() throws -> [TaskInstance] { try produce() }

    public static func == (lhs: InstanceProvider, rhs: InstanceProvider) -> Bool { lhs === rhs }
}

extension BenchTask {
    /// The task with its instances in memory (read from its provider when it has one).
    public func loaded() throws -> BenchTask {
        guard let provider else { return self }
        var task = self
        task.instances = try provider.load()
        task.provider = nil
        return task
    }

    /// How many instances the task has, held or not.
    public var instanceCount: Int { provider?.count ?? instances.count }
}
