import Foundation
import OPTSupport
import Yams

/// An evaluation suite (MMLU, BIG-Bench Hard, …): tasks with fixed prompts, written as lm-evaluation-harness
/// writes its task YAMLs (`doc_to_text`, `doc_to_choice`, `doc_to_target`, delimiters, metrics), with the file
/// layouts it can read the data from. Suites are data files of the project (`Resources/suites/NAME.yaml`);
/// `SuiteBuilder` turns one and a data folder into an evaluation bench.
public struct EvalSuite: Codable, Sendable, Equatable {
    public var suite: String
    public var title: String
    /// Which numbers of the paper (and of lm-evaluation-harness) the suite reproduces.
    public var reproduces: String
    /// Shot counts evaluated when `--shots` is not given.
    public var shots: [Int]
    /// How task scores combine into category and suite scores.
    public var aggregate: SuiteAggregation
    /// Where the data may be, tried in order for each task.
    public var layouts: [SuiteLayout]
    /// Settings every task has unless it says otherwise (lm-eval's `include`d template).
    public var taskDefaults: SuiteTaskConfig
    public var tasks: [SuiteTaskConfig]
    /// A suite of PromptSource datasets instead of tasks: every original-task template of each is a task, its
    /// rows rendered by PromptSource's templates (`--templates`) and ranked over the template's answer choices.
    public var promptsource: [PromptSourceEntry]?
    /// A suite of Super-NaturalInstructions task files instead of tasks: the tasks a split lists, prompted with
    /// the Tk-Instruct encoding and scored as Super-NI's evaluation script scores them.
    public var superni: SuperNISuite?

    enum CodingKeys: String, CodingKey {
        case suite, title, reproduces, shots, aggregate, layouts, tasks, promptsource, superni
        case taskDefaults = "task_defaults"
    }

    /// The suites shipped with the project.
    public static var available: [String] {
        let files = Bundle.module.resourceURL.flatMap { try? FileManager.default.contentsOfDirectory(atPath: $0.path) } ?? []
        return files.filter { $0.hasPrefix("suite-") && $0.hasSuffix(".yaml") }
            .map { String($0.dropFirst("suite-".count).dropLast(".yaml".count)) }.sorted()
    }

    /// The shipped suite `name`.
    public static func named(_ name: String) throws -> EvalSuite {
        guard let url = Bundle.module.url(forResource: "suite-" + name, withExtension: "yaml") else {
            throw SuiteError.unknownSuite(name, available: available)
        }
        return try load(url)
    }

    /// A suite file (the shipped ones, or a user's own in the same format).
    public static func load(_ url: URL) throws -> EvalSuite {
        let text: String
        do { text = try UTF8File.read(url) } catch {
            throw BenchError.unreadableFile(path: url.path, reason: error.reason)
        }
        do { return try YAMLDecoder().decode(EvalSuite.self, from: text) } catch {
            throw BenchError.malformedFile(path: url.path, line: nil, reason: DecodingProblem.describe(error))
        }
    }

    /// Shot counts a suite or `--shots` may ask for.
    public static let shotRange = 0...32

    /// Each task's settings over the defaults, checked with the suite's own: shot counts in range, task names
    /// unique (each names the task's results), and some task unless the suite is a PromptSource or Super-NI one.
    public func resolvedTasks() throws -> [SuiteTask] {
        if let bad = shots.first(where: { !Self.shotRange.contains($0) }) {
            throw SuiteError.badDefinition(suite: suite, reason: "shots: \(bad) is not between \(Self.shotRange.lowerBound) and \(Self.shotRange.upperBound)")
        }
        if Set(shots).count < shots.count { throw SuiteError.badDefinition(suite: suite, reason: "shots: \(shots) lists a count twice") }
        if tasks.isEmpty && promptsource == nil && superni == nil {
            throw SuiteError.badDefinition(suite: suite, reason: "it lists no tasks (nor promptsource or superni datasets)")
        }
        let resolved = try tasks.map { try SuiteTask(taskDefaults.overridden(by: $0), suite: suite) }
        var seen = Set<String>()
        for task in resolved where !seen.insert(task.name).inserted {
            throw SuiteError.badDefinition(suite: suite, reason: "the task \(task.name) is listed twice")
        }
        return resolved
    }
}

/// One dataset of a PromptSource suite.
public struct PromptSourceEntry: Codable, Sendable, Equatable {
    /// The suite's name for it (its category in the results).
    public var name: String
    /// Its folder under PromptSource's templates and under `--data`, e.g. `super_glue/cb`.
    public var folder: String
    /// The split evaluated.
    public var split: String
}

/// Super-NaturalInstructions as its paper evaluates it: each task of a split list, its first instances in file order,
/// the task's definition and k of its own positive examples before the input (the Tk-Instruct encoding, k the shot
/// count), greedy generation, Exact Match and ROUGE-L over the references.
public struct SuperNISuite: Codable, Sendable, Equatable {
    /// The split list under `--data`, one task name a line (`splits/default/test_tasks.txt`).
    public var split: String
    /// The folder of task files under `--data` (`tasks`).
    public var tasks: String
    /// Instances evaluated per task, the first in file order (Super-NI's `max_num_instances_per_eval_task`).
    public var instances: Int
    /// The collator's `max_source_length` in tokens.
    public var maxSourceLength: Int
    public var maxGenToks: Int
    /// The first is the task's score.
    public var metrics: [String]

    enum CodingKeys: String, CodingKey {
        case split, tasks, instances, metrics
        case maxSourceLength = "max_source_length"
        case maxGenToks = "max_gen_toks"
    }
}

/// lm-evaluation-harness's group aggregation.
public enum SuiteAggregation: String, Codable, Sendable {
    /// Every question counts once (`weight_by_size: true`): MMLU's and BBH's groups.
    case weightBySize = "weight_by_size"
    /// Every task counts once: the paper's averages over tasks (Table 9).
    case mean
}

/// One way a suite's data may be laid out. Paths and expressions are Jinja, with the task's `dataset_name`
/// (and, for `where` and `doc`, a row's columns) as variables.
public struct SuiteLayout: Codable, Sendable, Equatable {
    public var name: String
    /// The evaluated rows: a file (JSONL, JSON, CSV, TSV, Arrow) or a dataset folder (then `test_split` names the split).
    public var test: String
    public var testSplit: String?
    /// The few-shot pool, in the same way; absent: see `fewshot_prompt` and `carve_fewshot`.
    public var fewshot: String?
    public var fewshotSplit: String?
    /// A BIG-Bench Hard chain-of-thought prompt file whose exemplars are the few-shot pool.
    public var fewshotPrompt: String?
    /// What an exemplar of `fewshot_prompt` gives as its `target`: its final answer (default) or its reasoning.
    public var fewshotTarget: ExemplarTarget?
    /// Field names of header-less CSV files.
    public var columns: [String]?
    /// Keeps the rows for which this expression is true (one file holding every task).
    public var `where`: String?
    /// An expression making lm-eval's document from a row (default: the row itself).
    public var doc: String?
    /// With no few-shot file: the first k evaluated rows of each task become its few-shot pool and leave the evaluation.
    public var carveFewshot: Bool?

    enum CodingKeys: String, CodingKey {
        case name, test, fewshot, columns, `where`, doc
        case testSplit = "test_split"
        case fewshotSplit = "fewshot_split"
        case fewshotPrompt = "fewshot_prompt"
        case fewshotTarget = "fewshot_target"
        case carveFewshot = "carve_fewshot"
    }
}

/// The part of a chain-of-thought exemplar that answer-only and CoT prompting show.
public enum ExemplarTarget: String, Codable, Sendable {
    case answer, reasoning
}

/// lm-evaluation-harness's few-shot samplers.
public enum FewshotSampler: String, Codable, Sendable {
    /// The pool's first k, the same for every question.
    case firstN = "first_n"
    /// `random.Random(1234)` made once per task, drawing `sample(pool, k)` for each question in order — `k + 1`,
    /// then dropping the question itself and keeping k, when the pool is the split evaluated or both are the
    /// task's defaults (lm-eval's rule).
    case `default`
}

/// lm-evaluation-harness's output types.
public enum SuiteOutputType: String, Codable, Sendable {
    case multipleChoice = "multiple_choice"
    case generateUntil = "generate_until"

    /// The metrics the evaluation gives a task of this type, of which `metrics` chooses (the first being its score).
    public var metrics: [String] { self == .multipleChoice ? ["acc", "acc_norm", "acc_calibrated"] : ["exact_match"] }
}

/// One step of lm-evaluation-harness's filter pipeline on a generation.
public struct SuiteFilter: Codable, Sendable, Equatable {
    /// `regex` (the first match's group, `[invalid]` when none) or `take_first`.
    public var function: String
    public var regexPattern: String?
    /// Which match of `regex` to take (lm-eval's `group_select`, default 0).
    public var groupSelect: Int?

    public init(function: String, regexPattern: String? = nil, groupSelect: Int? = nil) {
        self.function = function
        self.regexPattern = regexPattern
        self.groupSelect = groupSelect
    }

    enum CodingKeys: String, CodingKey {
        case function
        case regexPattern = "regex_pattern"
        case groupSelect = "group_select"
    }
}

/// `doc_to_choice`: a list of templates, or one template (or column) that gives the list.
public enum SuiteChoices: Codable, Sendable, Equatable {
    case list([String])
    case expression(String)

    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let list = try? container.decode([String].self) { self = .list(list) } else { self = .expression(try container.decode(String.self)) }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .list(let list): try container.encode(list)
        case .expression(let text): try container.encode(text)
        }
    }
}

/// A task's settings as written in a suite file; absent ones come from the suite's `task_defaults`.
public struct SuiteTaskConfig: Codable, Sendable, Equatable {
    public var task: String?
    public var datasetName: String?
    /// The split evaluated and the one few-shot examples come from, over the layout's.
    public var testSplit: String?
    public var fewshotSplit: String?
    /// lm-eval's `process_docs`: the document made from the layout's, as an expression, or as a template whose
    /// output is a Python literal (when it holds `{{` or `{%`).
    public var doc: String?
    /// How few-shot examples are chosen: `first_n` (the pool's first k, lm-eval's MMLU and BBH) or `default`
    /// (lm-eval's random draw per question).
    public var sampler: FewshotSampler?
    /// The aggregation group (MMLU's stem, humanities, social_sciences, other).
    public var category: String?
    public var description: String?
    public var outputType: SuiteOutputType?
    public var docToText: String?
    public var docToTarget: String?
    public var docToChoice: SuiteChoices?
    public var targetDelimiter: String?
    public var fewshotDelimiter: String?
    public var until: [String]?
    public var maxGenToks: Int?
    public var filters: [SuiteFilter]?
    public var metrics: [String]?

    enum CodingKeys: String, CodingKey {
        case task, category, description, until, filters, metrics, doc, sampler
        case datasetName = "dataset_name"
        case testSplit = "test_split"
        case fewshotSplit = "fewshot_split"
        case outputType = "output_type"
        case docToText = "doc_to_text"
        case docToTarget = "doc_to_target"
        case docToChoice = "doc_to_choice"
        case targetDelimiter = "target_delimiter"
        case fewshotDelimiter = "fewshot_delimiter"
        case maxGenToks = "max_gen_toks"
    }

    /// These settings with every one `other` gives replaced.
    func overridden(by other: SuiteTaskConfig) -> SuiteTaskConfig {
        SuiteTaskConfig(task: other.task ?? task, datasetName: other.datasetName ?? datasetName, testSplit: other.testSplit ?? testSplit,
                        fewshotSplit: other.fewshotSplit ?? fewshotSplit, doc: other.doc ?? doc, sampler: other.sampler ?? sampler,
                        category: other.category ?? category,
                        description: other.description ?? description, outputType: other.outputType ?? outputType,
                        docToText: other.docToText ?? docToText, docToTarget: other.docToTarget ?? docToTarget,
                        docToChoice: other.docToChoice ?? docToChoice, targetDelimiter: other.targetDelimiter ?? targetDelimiter,
                        fewshotDelimiter: other.fewshotDelimiter ?? fewshotDelimiter, until: other.until ?? until,
                        maxGenToks: other.maxGenToks ?? maxGenToks, filters: other.filters ?? filters, metrics: other.metrics ?? metrics)
    }
}

/// A task's complete settings, checked.
public struct SuiteTask: Sendable, Equatable {
    public var name: String
    public var datasetName: String
    public var testSplit: String?
    public var fewshotSplit: String?
    public var doc: String?
    public var sampler: FewshotSampler
    public var category: String
    public var description: String
    public var outputType: SuiteOutputType
    public var docToText: String
    public var docToTarget: String
    public var docToChoice: SuiteChoices?
    public var targetDelimiter: String
    public var fewshotDelimiter: String
    public var until: [String]
    public var maxGenToks: Int
    public var filters: [SuiteFilter]
    public var metrics: [String]

    init(_ config: SuiteTaskConfig, suite: String) throws {
        guard let name = config.task, BenchTask.isValidID(name) else {
            throw SuiteError.badDefinition(suite: suite, reason: "a task without a usable `task` name (\(config.task ?? "none"))")
        }
        guard let outputType = config.outputType, let docToText = config.docToText, let docToTarget = config.docToTarget else {
            throw SuiteError.badDefinition(suite: suite, reason: "\(name): output_type, doc_to_text and doc_to_target are required")
        }
        if outputType == .multipleChoice && config.docToChoice == nil {
            throw SuiteError.badDefinition(suite: suite, reason: "\(name): a multiple_choice task needs doc_to_choice")
        }
        if let unknown = config.metrics?.first(where: { !outputType.metrics.contains($0) }) {
            throw SuiteError.badDefinition(
                suite: suite, reason: "\(name): no metric \(unknown) for \(outputType.rawValue) (it has \(outputType.metrics.joined(separator: ", ")))")
        }
        if config.metrics?.isEmpty == true {
            throw SuiteError.badDefinition(suite: suite, reason: "\(name): metrics is empty (the first is the task's score)")
        }
        if let tokens = config.maxGenToks, tokens < 1 {
            throw SuiteError.badDefinition(suite: suite, reason: "\(name): max_gen_toks must be at least 1, not \(tokens)")
        }
        self.name = name
        datasetName = config.datasetName ?? name
        testSplit = config.testSplit
        fewshotSplit = config.fewshotSplit
        doc = config.doc
        sampler = config.sampler ?? .firstN
        category = config.category ?? suite
        description = config.description ?? ""
        self.outputType = outputType
        self.docToText = docToText
        self.docToTarget = docToTarget
        docToChoice = config.docToChoice
        // lm-evaluation-harness's defaults.
        targetDelimiter = config.targetDelimiter ?? " "
        fewshotDelimiter = config.fewshotDelimiter ?? "\n\n"
        until = config.until ?? ["\n\n"]
        maxGenToks = config.maxGenToks ?? 256
        filters = config.filters ?? []
        metrics = config.metrics ?? [outputType.metrics[0]]
    }
}

/// How a suite task is prompted and scored, kept with the task in the evaluation bench.
public struct SuitePrompt: Codable, Sendable, Equatable {
    public var suite: String
    public var outputType: SuiteOutputType
    /// The options are contexts sharing one continuation, the target (lm-eval's multiple inputs: Winogrande): an
    /// instance's `input` is its right context, `outputs[0]` the continuation.
    public var choicesAreContexts: Bool
    /// Rendered once per task (lm-eval renders it with the document; suites' descriptions do not use it).
    public var description: String
    public var targetDelimiter: String
    public var fewshotDelimiter: String
    public var until: [String]
    public var maxGenToks: Int
    public var filters: [SuiteFilter]
    /// The first is the task's score.
    public var metrics: [String]
    public var aggregate: SuiteAggregation
    public var sampler: FewshotSampler
    /// lm-eval draws k + 1 and drops the evaluated question (its few-shot and evaluated splits are "the same").
    public var drawsAroundQuestion: Bool
    /// How the few-shot pool was made, when it was not a split of the data (shown with the results).
    public var fewshotOrigin: String?
    /// The Tk-Instruct encoding (its positive examples as many as the shots) instead of lm-eval's prompt, and
    /// Super-NI's metrics instead of lm-eval's exact match: a Super-NI suite's tasks.
    public var tkEncoding: TkEncoding? = nil

    enum CodingKeys: String, CodingKey {
        case suite, description, until, filters, metrics, aggregate, sampler
        case drawsAroundQuestion = "draws_around_question"
        case outputType = "output_type"
        case choicesAreContexts = "choices_are_contexts"
        case targetDelimiter = "target_delimiter"
        case fewshotDelimiter = "fewshot_delimiter"
        case maxGenToks = "max_gen_toks"
        case fewshotOrigin = "fewshot_origin"
        case tkEncoding = "tk_encoding"
    }
}

/// Why a suite cannot be built.
public enum SuiteError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownSuite(String, available: [String])
    case badDefinition(suite: String, reason: String)
    /// No layout of the suite finds the task's data in the folder.
    case missingData(suite: String, task: String, folder: String, tried: [String])
    case unknownTasks(suite: String, names: [String])
    /// A row does not fit the suite's templates (a missing column, a target outside the choices).
    case badRow(file: String, row: Int, task: String, reason: String)
    /// Fewer few-shot examples than asked for.
    case tooFewExamples(task: String, have: Int, need: Int)

    public var description: String {
        switch self {
        case let .unknownSuite(name, available):
            return "no suite \(name.debugDescription) (available: \(available.joined(separator: ", ")))"
        case let .badDefinition(suite, reason): return "suite \(suite): \(reason)"
        case let .missingData(suite, task, folder, tried):
            return "suite \(suite): no data for task \(task) in \(folder) (looked for \(tried.joined(separator: ", "))); "
                + "give --tasks to evaluate a subset, or --skip-missing"
        case let .unknownTasks(suite, names): return "suite \(suite) has no task \(names.joined(separator: ", "))"
        case let .badRow(file, row, task, reason): return "\(file): row \(row) (task \(task)): \(reason)"
        case let .tooFewExamples(task, have, need): return "task \(task) has \(have) few-shot examples, \(need) asked for"
        }
    }
}
