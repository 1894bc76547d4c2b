import ArgumentParser
import Foundation
import OPTSupport
import OPTBench
import OPTEval
import OPTKernels
import OPTMetrics
import OPTTokenizer

/// `optiml eval`: evaluate a model on a bench, or score prediction files the Super-NI way.
struct EvalCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Evaluate a model on a bench (the default), or score prediction files.",
        subcommands: [EvalRun.self, EvalMerge.self, EvalScore.self], defaultSubcommand: EvalRun.self)
}

/// `optiml eval [run]`
struct EvalRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Evaluate a model on a bench's levels, 0- and k-shot: rank classification for tasks with options, greedy generation (EM, ROUGE-L) for the rest.",
        discussion: """
        Results go to --out: results.sqlite (runs, a response cache, samples), results.json and samples.jsonl.         A repeated or interrupted run with the same model, bench and settings reuses every answer already in the cache.
        """)

    @OptionGroup var modelOptions: ModelOptions
    @Option(help: "A bench folder built by optiml bench build (or give --suite and --data).") var bench: String?
    @Option(help: ArgumentHelp("An evaluation suite of the paper (prompted and scored as lm-evaluation-harness does; superni as Super-NI's evaluation does): \(EvalSuite.available.joined(separator: ", ")), or a suite .yaml file.",
                               discussion: "Its bench is built from --data into OUT/bench."))
    var suite: String?
    @Option(help: "--suite: the folder with the suite's data (e.g. MMLU's data/ archive, BIG-Bench-Hard's repository, Super-NI's repository).") var data: String?
    @Option(help: "--suite promptsource-heldout: PromptSource's templates folder (promptsource/templates).") var templates: String?
    @Option(help: "--suite: only these tasks (comma-separated names, e.g. mmlu_anatomy or anatomy).") var tasks: String?
    @Flag(help: "--suite: leave out tasks whose data is not in --data (they are listed) instead of failing.") var skipMissing = false
    @Option(help: "The split evaluated.") var split: EvalSettings.Split = .test
    @Option(help: "Levels to evaluate, e.g. 1,2,3.") var levels = "1,2,3"
    @Option(help: "Shot counts, e.g. 0,5 (default 0; a suite's own, e.g. 0,5 for mmlu).") var shots: String?
    @Option(help: "The prompt encoding: the paper's (opt-iml) or Tk-Instruct's (tk).") var style: EvalSettings.Style = .optIML
    @Option(help: "At most this many instances per task.") var limit: Int?
    @Option(help: "Seed for delimiters, demonstrations and the bootstrap.") var seed: UInt64 = 0
    @Option(help: "Prompts per generation batch.") var batchSize = 8
    @Option(help: "New tokens at most per generation (default 256; a suite's tasks their own, e.g. 1024 for bbh-cot).") var maxNewTokens: Int?
    @Flag(help: "Skip the content-free requests of calibrated accuracy.") var noCalibration = false
    @Option(help: "local (the engine in this process) or openai (an OpenAI-compatible completions server at --base-url).")
    var backend: Backend = .local
    @Option(help: "openai backend: the server's base URL, e.g. http://127.0.0.1:8080/v1.") var baseURL: String?
    @Option(help: "openai backend: the model name sent in requests (default: --model's folder name).") var remoteModel: String?
    @Option(help: "openai backend: bearer token.") var apiKey: String?
    @Option(help: "openai backend: requests in flight at once.") var concurrency = 8
    @Option(help: "openai backend: seconds before a request times out.") var timeout: Double = 120
    @Option(help: "openai backend: retries of a failed request (with exponential backoff).") var retries = 3
    @Option(help: "Evaluate only shard i of N (0-based, e.g. 2/8); combine the shards' folders with optiml eval merge.")
    var shard: String?
    @Option(help: "The folder for the results.") var out: String

    /// Where the answers come from.
    enum Backend: String, CaseIterable, ExpressibleByArgument {
        case local, openai
    }

    /// `i/N` as (i, N).
    var shardParts: (index: Int, count: Int)? {
        guard let shard else { return nil }
        let parts = shard.split(separator: "/").compactMap { Int($0) }
        return parts.count == 2 ? (parts[0], parts[1]) : nil
    }

    func numbers(_ text: String, _ name: String) throws -> [Int] {
        let values = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !values.isEmpty, values.allSatisfy({ $0 != nil }) else { throw ValidationError("--\(name) \(text): expected comma-separated numbers") }
        var seen = Set<Int>()
        if let repeated = values.compactMap({ $0 }).first(where: { !seen.insert($0).inserted }) {
            throw ValidationError("--\(name) \(text): \(repeated) is listed twice")
        }
        return values.compactMap { $0 }
    }

    func validate() throws {
        if try numbers(levels, "levels").contains(where: { !(1...3).contains($0) }) { throw ValidationError("--levels: only 1, 2 and 3") }
        if let shots, try numbers(shots, "shots").contains(where: { !EvalSuite.shotRange.contains($0) }) {
            throw ValidationError("--shots: each between \(EvalSuite.shotRange.lowerBound) and \(EvalSuite.shotRange.upperBound)")
        }
        switch (bench, suite, data) {
        case (_?, nil, nil), (nil, _?, _?): break
        default: throw ValidationError("give either --bench, or --suite with --data")
        }
        if batchSize < 1 || (maxNewTokens ?? 1) < 1 || (limit ?? 1) < 1 { throw ValidationError("--batch-size, --max-new-tokens and --limit must be at least 1") }
        if backend == .openai {
            guard let baseURL, let url = URL(string: baseURL), url.scheme == "http" || url.scheme == "https" else {
                throw ValidationError("--backend openai needs --base-url http(s)://HOST:PORT/v1")
            }
            if concurrency < 1 || timeout <= 0 || retries < 0 { throw ValidationError("--concurrency and --timeout must be positive, --retries not negative") }
        }
        if let shard {
            guard let (index, count) = shardParts, count >= 1, (0..<count).contains(index) else {
                throw ValidationError("--shard \(shard): expected i/N with 0 ≤ i < N")
            }
        }
    }

    /// The options as the runner's settings (a suite changes some once it is loaded).
    func makeSettings() throws -> EvalSettings {
        var settings = EvalSettings()
        settings.split = split
        settings.levels = try numbers(levels, "levels")
        settings.shots = try numbers(shots ?? "0", "shots")
        settings.style = style
        settings.limit = limit
        settings.seed = seed
        settings.maxNewTokens = maxNewTokens ?? settings.maxNewTokens
        settings.calibrate = !noCalibration
        settings.shard = shardParts?.index
        settings.shards = shardParts?.count
        return settings
    }

    func run() async throws {
        var settings = try makeSettings()
        let outFolder = URL(fileURLWithPath: out, isDirectory: true)
        do {
            // The remote backend needs only the tokenizer (cross-lingual ROUGE-L, Tk-Instruct's length limits).
            let tokenizer: BPETokenizer
            let answering: any EvalBackend
            if backend == .openai, let baseURL, let url = URL(string: baseURL) {
                tokenizer = try BPETokenizer.load(directory: modelOptions.directory)
                answering = OpenAIBackend(baseURL: url, model: remoteModel ?? modelOptions.directory.lastPathComponent, apiKey: apiKey,
                                          concurrency: concurrency, timeout: timeout, retries: retries)
            } else {
                KernelPath.useUnitGEMMs(bf16: modelOptions.bf16Gemm)
                let local = try LocalBackend.load(directory: modelOptions.directory, format: modelOptions.dtype,
                                                  headFormat: modelOptions.headDtype, threads: modelOptions.threads,
                                                  batchSize: batchSize)
                tokenizer = local.generator.tokenizer
                answering = local
            }
            try FileManager.default.createDirectory(at: outFolder, withIntermediateDirectories: true)
            var benchFolder = URL(fileURLWithPath: bench ?? "", isDirectory: true)
            if let suite, let data {
                let definition = suite.hasSuffix(".yaml") ? try EvalSuite.load(URL(fileURLWithPath: suite)) : try EvalSuite.named(suite)
                settings.suite = definition.suite
                settings.levels = []
                settings.calibrate = false
                settings.shots = try shots.map { try numbers($0, "shots") } ?? definition.shots
                benchFolder = outFolder.appendingPathComponent("bench", isDirectory: true)
                var builder = SuiteBuilder(suite: definition, data: URL(fileURLWithPath: data, isDirectory: true),
                                           only: tasks.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } },
                                           skipMissing: skipMissing, maxShots: settings.shots.max() ?? 0, maxNewTokens: maxNewTokens)
                builder.templates = templates.map { URL(fileURLWithPath: $0, isDirectory: true) }
                let (manifest, missing) = try builder.write(to: benchFolder)
                print("\(definition.title): \(manifest.tasks.count) tasks, \(manifest.counts.instances["test"] ?? 0) questions from \(data)")
                if !missing.isEmpty { print("left out (no data): \(missing.joined(separator: ", "))") }
            }
            try await Self.evaluate(bench: benchFolder, backend: answering, tokenizer: tokenizer, modelName: modelOptions.model, settings: settings, out: out)
        } catch { throw CLIError(error) }
    }

    /// Evaluates through `Evaluation.run` with a progress bar on stderr, then prints the results table and
    /// where they went: what `optiml eval` prints, and the demo for each model.
    static func evaluate(bench: URL, backend: any EvalBackend, tokenizer: BPETokenizer, modelName: String, settings: EvalSettings,
                         out: String) async throws {
        let bar = ProgressBar(label: "requests")
        let outcome = try await Evaluation.run(bench: bench, backend: backend, tokenizer: tokenizer, modelName: modelName, settings: settings,
                                         out: URL(fileURLWithPath: out, isDirectory: true)) { bar.update($0, $1) }
        bar.finish()
        printTable(outcome)
        print("\(outcome.computed) requests computed, \(outcome.cached) from the cache; results in \(out)")
    }

    private static func printTable(_ outcome: EvalOutcome) {
        if outcome.groups.contains(where: { $0.kind == "suite" }) {
            print("| group | shots | tasks | questions | score | ± | median of tasks | other metrics |")
            print("|---|--:|--:|--:|--:|--:|--:|---|")
            let primaries = Set(outcome.tasks.map(\.primaryMetric))
            for group in outcome.groups where group.kind == "suite" || group.kind == "category" {
                let name = group.kind == "suite" ? "**\(group.name)**" : group.name
                // Super-NI's Exact Match beside its ROUGE-L score, say.
                let others = (group.metrics ?? [:]).filter { !primaries.contains($0.key) }.sorted { $0.key < $1.key }
                    .map { "\($0.key) \(String(format: "%.1f", $0.value))" }.joined(separator: ", ")
                print("| \(name) | \(group.shots.map(String.init) ?? "all") | \(group.tasks) | \(group.instances ?? 0) | "
                      + "\(String(format: "%.1f", group.score)) | \(String(format: "%.1f", group.stderr ?? 0)) | "
                      + "\(group.median.map { String(format: "%.1f", $0) } ?? "") | \(others) |")
            }
            return
        }
        print("| level | shots | tasks | score | ± |")
        print("|---|--:|--:|--:|--:|")
        for group in outcome.groups where group.kind == "level" {
            let shots = group.shots.map(String.init) ?? "all"
            let stderr = group.stderr.map { String(format: "%.1f", $0) } ?? ""
            print("| \(group.level) | \(shots) | \(group.tasks) | \(String(format: "%.1f", group.score)) | \(stderr) |")
        }
    }
}

/// `optiml eval merge`
struct EvalMerge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge", abstract: "Combine the result folders of `optiml eval --shard i/N` into the results of the whole evaluation.")

    @Argument(help: "The shards' result folders (each with results.json and samples.jsonl).") var shards: [String]
    @Option(help: "The folder for the merged results.json and samples.jsonl.") var out: String

    func run() throws {
        do {
            let (results, samples) = try ShardMerge.merge(shards.map { URL(fileURLWithPath: $0, isDirectory: true) })
            let folder = URL(fileURLWithPath: out, isDirectory: true)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
            try AtomicFile.write(encoder.encode(results), to: folder.appendingPathComponent(Evaluation.resultsFile))
            try AtomicFile.write(samples, to: folder.appendingPathComponent(Evaluation.samplesFile))
            print("merged \(shards.count) shards: \(results.tasks.count) task results into \(out)")
        } catch { throw CLIError(error) }
    }
}

/// A one-line progress bar on stderr with rate and ETA.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let start = Date()
    private var first: Int?

    init(label: String) { self.label = label }

    func update(_ done: Int, _ total: Int) {
        if first == nil { first = done }
        let elapsed = Date().timeIntervalSince(start)
        let fresh = done - (first ?? 0)
        let rate = elapsed > 0 ? Double(fresh) / elapsed : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 30, filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        FileHandle.standardError.write(Data("\r[\(bar)] \(done)/\(total) \(label)  \(String(format: "%.1f", rate))/s  ETA \(Int(eta))s".utf8))
    }

    func finish() { FileHandle.standardError.write(Data("\n".utf8)) }
}

/// `optiml eval score`: Super-NaturalInstructions' `eval/automatic/evaluation.py`, same keys and values.
struct EvalScore: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "score",
        abstract: "Exact Match and ROUGE-L of predictions against references, as Super-NI's evaluation.py reports them.",
        discussion: """
        Predictions: JSONL {id, prediction}. References: JSONL {id, references, task_id?, task_category?, track?}. \
        Prints (and with --output-file writes) the same JSON as the official script: exact_match_default_track, \
        rougeL_default_track, rougeL_for_<category>_<track>_track, exact_match_for_<task>_<track>_track, … \
        The xlingual track tokenizes with GPT-2's BPE from --gpt2-tokenizer.
        """)

    @Option(help: "Predictions, one JSON object {id, prediction} a line.") var predictionFile: String
    @Option(help: "References, one JSON object {id, references, task_id?, task_category?, track?} a line.") var referenceFile: String
    @Option(help: "Write the JSON report here too (atomically).") var outputFile: String?
    @Option(help: "A folder with GPT-2's vocab.json and merges.txt, for the xlingual track.") var gpt2Tokenizer: String?
    @Flag(help: "A reference without a prediction, or a prediction of an unknown id, is an error (the script scores the first as \"\" and ignores the second).") var strict = false

    func validate() throws {
        for (input, option) in [(predictionFile, "--prediction-file"), (referenceFile, "--reference-file")]
        where outputFile.map({ samePath(URL(fileURLWithPath: $0), URL(fileURLWithPath: input)) }) == true {
            throw ValidationError("--output-file \(outputFile ?? "") is the \(option): the report would replace it; give another file")
        }
    }

    func run() throws {
        do {
            let tokenizer = try gpt2Tokenizer.map { try BPETokenizer.load(directory: URL(fileURLWithPath: $0, isDirectory: true)) }
            let options = strict ? SuperNIEvaluation.Options(missingPredictions: .fail, unknownPredictions: .fail) : .init()
            let report = try SuperNIEvaluation(crossLingualTokenizer: tokenizer, options: options)
                .evaluate(predictionsFile: URL(fileURLWithPath: predictionFile), referencesFile: URL(fileURLWithPath: referenceFile))
            print(report.json)
            if let outputFile { try AtomicFile.write(Data(report.json.utf8), to: URL(fileURLWithPath: outputFile)) }
        } catch { throw CLIError(error) }
    }
}

extension EvalSettings.Split: ExpressibleByArgument {}
extension EvalSettings.Style: ExpressibleByArgument {}
