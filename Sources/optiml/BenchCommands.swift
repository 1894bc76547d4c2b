import ArgumentParser
import Foundation
import OPTBench
import OPTData
import OPTEval
import OPTTokenizer

/// `optiml bench`: build OPT-IML Bench from task sources, and look into a built one.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Build OPT-IML Bench from task collections, with the three evaluation levels, a leakage audit and the paper's prompt formats.",
        subcommands: [BenchBuild.self, BenchStatsCommand.self, BenchShow.self, BenchExportCommand.self, BenchRender.self])
}

/// `optiml bench build`
struct BenchBuild: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "build",
        abstract: "Build a bench: consolidate categories, split tasks and instances into the three levels, audit leakage, write it atomically.",
        discussion: """
        Presets: niv2-default (Super-NI's official default split: train_tasks.txt, test_tasks.txt, excluded_tasks.txt, \
        English only), opt-iml (the paper's held-out categories, partially held-out categories and held-out instances), \
        or a YAML split file (see README).
        """)

    @Option(name: .customLong("source"), help: """
        A task source, repeatable: niv2:DIR (task files, or the official layout with splits/), promptsource:TEMPLATES_DIR         (with --datasets), bigbench:DIR (BIG-bench JSON tasks) or jsonl:PATH.
        """)
    var sources: [String]
    @Option(help: "The datasets' rows for promptsource: sources: DIR/<dataset>[/<subset>]/<split>.{jsonl,json,csv,tsv,arrow}, save_to_disk folders or a Hugging Face cache.")
    var datasets: String?
    @Option(help: "PromptSource templates that make tasks: original (original-task templates only, as T0 and the paper) or all.")
    var promptsourceTemplates: PromptSourceSelection = .original
    @Option(help: "The split of each PromptSource dataset whose rows become instances.") var promptsourceSplit = "train"
    @Option(help: "A PromptSource dataset → category map to use instead of the shipped one (same JSON format).")
    var promptsourceCategories: String?
    @Option(help: "niv2-default, opt-iml, or a .yaml/.yml/.json split file.") var preset: String
    @Option(help: "Seed for every random choice (default: the split's own, 0 for the presets).") var seed: UInt64?
    @Option(help: "A category map to use instead of the built-in one (same JSON format).") var taxonomy: String?
    @Flag(help: "Exclude the training task of every train/eval pair the n-gram audit reports.") var removeLeaks = false
    @Flag(help: "Replace an existing bench at --out (only a bench: a folder with manifest.json that holds none of the sources).") var force = false
    @Option(help: "The bench folder to write.") var out: String

    func run() throws {
        do {
            var settings = BenchBuildSettings(sources: try sources.map(TaskSource.init(parsing:)), split: try .init(parsing: preset),
                                              out: URL(fileURLWithPath: out, isDirectory: true))
            settings.promptSource.datasets = datasets.map { URL(fileURLWithPath: $0, isDirectory: true) }
            settings.promptSource.selection = promptsourceTemplates
            settings.promptSource.split = promptsourceSplit
            settings.promptSource.categories = promptsourceCategories.map { URL(fileURLWithPath: $0) }
            settings.seed = seed
            settings.taxonomy = taxonomy.map { URL(fileURLWithPath: $0) }
            settings.removeLeaks = removeLeaks
            settings.replace = force
            var clock = StageClock()
            Self.printSummary(try BenchBuilder.run(settings) { clock.done($0) }, out: out)
        } catch let error as BenchError { throw CLIError(error) }
    }

    /// What a build prints: the counts per level, the leakage audit and the categories the taxonomy lacks.
    static func printSummary(_ result: BenchBuildResult, out: String) {
        let (bench, manifest) = (result.bench, result.manifest)
        print("wrote \(out): \(manifest.counts.tasksKept) tasks kept of \(manifest.counts.tasksRead) read (\(manifest.counts.tasksExcluded) excluded)")
        for level in ["1", "2", "3"] {
            let splits = manifest.levels[level] ?? [:]
            print("level \(level): validation \(splits["validation"]?.count ?? 0) tasks, test \(splits["test"]?.count ?? 0) tasks")
        }
        print(String(format: "leakage audit: %d pairs above %.1f%% (%d-grams; %d train words against %d eval words in %.2f s)",
                     bench.leakage.pairs.count, bench.spec.leakage.threshold * 100, bench.spec.leakage.ngram,
                     bench.leakage.trainWords, bench.leakage.evalWords, bench.leakage.seconds))
        if !manifest.taxonomy.unmapped.isEmpty {
            print("categories the taxonomy does not know (kept as they are): " + manifest.taxonomy.unmapped.joined(separator: ", "))
        }
    }
}

/// Prints on stderr how long each stage of a long job took.
struct StageClock {
    private var last = Date()

    mutating func done(_ stage: String) {
        let now = Date()
        FileHandle.standardError.write(Data("\(stage) (\(String(format: "%.1f", now.timeIntervalSince(last))) s)\n".utf8))
        last = now
    }
}

/// `optiml bench stats`
struct BenchStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats", abstract: "Per split and level: benchmarks, categories, tasks and examples (the paper's Table 1 view).")

    @Argument(help: "A built bench folder.") var bench: String
    @Flag(help: "One JSON object per row.") var json = false

    func run() throws {
        let manifest: BenchManifest
        do { manifest = try BenchStore.manifest(URL(fileURLWithPath: bench, isDirectory: true)) } catch { throw CLIError(error) }
        let rows = BenchStats.rows(manifest)
        let benchmarks = BenchStats.benchmarks(manifest)
        if json {
            for row in rows { try printJSON(row) }
            for row in benchmarks { try printJSON(row) }
            return
        }
        print("| benchmark | instructions | categories | tasks | examples |")
        print("|---|---|--:|--:|--:|")
        for row in benchmarks {
            print("| \(row.benchmark) | \(row.instructions.isEmpty ? "–" : row.instructions + "-level") | \(row.categories) | \(row.tasks) | \(row.examples) |")
        }
        if !manifest.spec.proportions.isEmpty {
            print("training proportions: " + manifest.spec.proportions.sorted { $0.key < $1.key }.map { "\($0.key) \(Int($0.value))" }.joined(separator: ", "))
        }
        print("")
        print("| split | level | benchmarks | categories | tasks | examples |")
        print("|---|---|--:|--:|--:|--:|")
        for row in rows {
            let level = row.level.map { "\($0) (held-out \($0 == 1 ? "categories" : $0 == 2 ? "tasks" : "instances"))" } ?? "–"
            print("| \(row.split) | \(level) | \(row.benchmarks) | \(row.categories) | \(row.tasks) | \(row.examples) |")
        }
        print("preset \(manifest.spec.name), seed \(manifest.seed); \(manifest.counts.tasksExcluded) tasks excluded")
    }
}

/// The prompt options `show` and `export` share.
struct PromptOptions: ParsableArguments {
    @Option(help: "tk (Tk-Instruct / Super-NI encoding) or opt-iml (default, unless --pos/--neg/--explanations/--no-definition ask for tk).")
    var style: EvalSettings.Style?
    @Flag(help: "Tk-Instruct: leave out the task definition.") var noDefinition = false
    @Flag(help: "Tk-Instruct: prefix the task name.") var addTaskName = false
    @Option(help: "Tk-Instruct: positive examples of the task definition to show (default 2).") var pos: Int?
    @Option(help: "Tk-Instruct: negative examples to show (default 0).") var neg: Int?
    @Flag(help: "Tk-Instruct: add the examples' explanations.") var explanations = false
    @Option(help: "OPT-IML: demonstrations (k-shot, 0 to 32) drawn from the task's training instances.") var shots = 0
    @Option(help: "OPT-IML: how answer options are shown.") var options: OptionsStyle = .auto
    @Option(help: "OPT-IML: separator between demonstrations.") var separator = "\n\n\n"
    @Option(help: "Seed for delimiters and demonstrations.") var seed: UInt64 = 0
    @Option(help: "Token budget of a prompt (Tk-Instruct: max_source_length with BOS; OPT-IML: left truncation). Needs --tokenizer.")
    var maxTokens: Int?
    @Option(help: "A model or tokenizer folder, for --max-tokens.") var tokenizer: String?

    var isTk: Bool { style == .tk || (style == nil && (pos != nil || neg != nil || explanations || noDefinition || addTaskName)) }

    func validate() throws {
        if !(0...32).contains(shots) { throw ValidationError("--shots must be between 0 and 32") }
        if isTk && shots > 0 { throw ValidationError("the Tk-Instruct encoding shows the task's own examples: use --pos/--neg instead of --shots") }
        if (pos ?? 0) < 0 || (neg ?? 0) < 0 { throw ValidationError("--pos and --neg must not be negative") }
        if maxTokens != nil && tokenizer == nil { throw ValidationError("--max-tokens needs --tokenizer DIR to count tokens") }
        if let maxTokens, maxTokens < 1 { throw ValidationError("--max-tokens must be at least 1") }
    }

    func formatter() throws -> PromptFormatter {
        let loaded = try tokenizer.map { directory in
            do { return try BPETokenizer.load(directory: URL(fileURLWithPath: directory, isDirectory: true)) } catch { throw CLIError(error) }
        }
        let style: PromptStyle = isTk
            ? .tk(TkEncoding(addTaskName: addTaskName, addDefinition: !noDefinition, positiveExamples: pos ?? 2, negativeExamples: neg ?? 0,
                             explanations: explanations, maxSourceLength: maxTokens))
            : .optIML(OPTIMLEncoding(shots: shots, separator: separator, options: options, maxTokens: maxTokens))
        return PromptFormatter(style: style, seed: seed, tokenizer: loaded)
    }
}

/// `optiml bench show`
struct BenchShow: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print a task's formatted prompts, its instances in file order.")

    @Argument(help: "A built bench folder.") var bench: String
    @Option(help: "The task id.") var task: String
    @Option(help: "At most this many instances.") var limit: Int?
    @OptionGroup var prompt: PromptOptions
    @Flag(help: "One JSON object per line: id, split, src, tgt, references, candidates, gold, shots.") var json = false

    func run() throws {
        let directory = URL(fileURLWithPath: bench, isDirectory: true)
        let formatter = try prompt.formatter()
        do {
            let manifest = try BenchStore.manifest(directory)
            let (loaded, record) = try BenchStore.task(task, in: directory, manifest: manifest)
            for instance in loaded.instances.prefix(limit ?? Int.max) {
                let example = formatter.format(instance, of: loaded)
                if json {
                    try printJSON(ShownExample(example: example, split: instance.split?.rawValue ?? ""))
                } else {
                    print("=== \(instance.id) [\(instance.split?.rawValue ?? "")\(record.level.map { ", level \($0)" } ?? "")]")
                    print(example.src)
                    print("--- target: \(example.tgt.debugDescription)")
                    if let candidates = example.candidates { print("candidates: \(candidates)  gold: \(example.gold.map(String.init) ?? "none")") }
                }
            }
        } catch let error as BenchError { throw CLIError(error) }
    }

    private struct ShownExample: Encodable {
        let example: FormattedExample
        let split: String
        func encode(to encoder: Encoder) throws {
            try example.encode(to: encoder)
            var container = encoder.container(keyedBy: Key.self)
            try container.encode(split, forKey: .split)
        }
        enum Key: String, CodingKey { case split }
    }
}

/// `optiml bench export`
struct BenchExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write a split as metaseq-style {src, tgt} JSONL (evaluation splits add candidates) for existing trainers.")

    @Argument(help: "A built bench folder.") var bench: String
    @Option(help: "The split to write.") var split: InstanceSplit
    @Option(help: "Evaluation splits: only these levels, e.g. 1,2 (default: all).") var levels: String?
    @Option(help: "Output format (metaseq).") var format = "metaseq"
    @OptionGroup var prompt: PromptOptions
    @Option(help: "The JSONL file to write.") var out: String

    func validate() throws {
        guard format == "metaseq" else { throw ValidationError("--format \(format): only metaseq is implemented") }
        if let levels, levels.split(separator: ",").contains(where: { Int($0).map { !(1...3).contains($0) } ?? true }) {
            throw ValidationError("--levels \(levels): expected a comma-separated list of 1, 2 and 3")
        }
    }

    func run() throws {
        let formatter = try prompt.formatter()
        do {
            let count = try BenchExport.metaseq(
                bench: URL(fileURLWithPath: bench, isDirectory: true), split: split,
                levels: levels.map { Set($0.split(separator: ",").compactMap { Int($0) }) }, formatter: formatter,
                to: URL(fileURLWithPath: out))
            print("wrote \(count) examples to \(out)")
        } catch let error as BenchError { throw CLIError(error) }
    }
}

extension PromptSourceSelection: ExpressibleByArgument {}

/// `optiml bench render`
struct BenchRender: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Apply PromptSource templates to dataset rows, exactly as PromptSource's Template.apply and get_answer_choices_list.",
        discussion: """
        One JSON line per (template, row) with --json: template (id), name, row (0-based), input, target (null when the \
        template renders none) and answer_choices (null when it has none).
        """)

    @Option(help: "PromptSource's templates folder.") var promptsource: String
    @Option(help: "The dataset, as its templates folder: NAME or NAME/SUBSET (e.g. glue/mrpc).") var dataset: String
    @Option(help: "The rows: a .jsonl/.json/.csv/.tsv/.arrow file, or a dataset folder (with --split).") var rows: String
    @Option(help: "The split to read when --rows is a folder.") var split = "train"
    @Option(help: "Only this template (its id or name).") var template: String?
    @Option(help: "Seed of PromptSource's random `choice` filter (each row draws with seed, template and row).") var seed: UInt64 = 0
    @Flag(help: "JSON lines instead of text.") var json = false

    func run() throws {
        do {
            let root = URL(fileURLWithPath: promptsource, isDirectory: true)
            let collection = try PromptSourceTemplates.load(file: root.appendingPathComponent(dataset).appendingPathComponent("templates.yaml"),
                                                             folder: dataset)
            let templates = collection.templates.filter { template == nil || $0.id == template || $0.name == template }
            if let template, templates.isEmpty {
                throw CLIError(BenchError.badTemplate(path: collection.file.path, template: template, reason: "no template has this id or name"))
            }
            let source = try DatasetSplit.open(URL(fileURLWithPath: rows), split: split)
            try source.forEachRow { index, row in
                for rendered in try PromptSourceSource.render(templates, row: row, index: index, seed: seed, path: source.root.path) {
                    if json {
                        try printJSON(rendered)
                    } else {
                        print("=== \(rendered.name) (\(rendered.template)), row \(index)")
                        print(rendered.input)
                        print("--- target: " + (rendered.target.map(\.debugDescription) ?? "none (the template renders no target for this row)"))
                        if let choices = rendered.answerChoices { print("answer_choices: \(choices)") }
                    }
                }
                return true
            }
        } catch let error as CLIError { throw error } catch { throw CLIError(error) }
    }
}

extension OptionsStyle: ExpressibleByArgument {}
extension InstanceSplit: ExpressibleByArgument {}
