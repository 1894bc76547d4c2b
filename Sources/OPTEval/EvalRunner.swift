import Foundation
import OPTMetrics
import OPTSupport
import OPTBench
import OPTTokenizer

/// What an evaluation run measures; part of the run's identity in the results store.
public struct EvalSettings: Codable, Sendable, Equatable {
    /// The split evaluated.
    public enum Split: String, Codable, Sendable, CaseIterable {
        case validation, test
    }
    /// How a bench's instances are prompted.
    public enum Style: String, Codable, Sendable, CaseIterable {
        /// The paper's encoding: instruction, k demonstrations of the task, the query.
        case optIML = "opt-iml"
        /// Tk-Instruct's (Super-NI's): definition, k of the task's positive examples, the input.
        case tk
    }

    public var split: Split = .test
    public var levels: [Int] = [1, 2, 3]
    public var shots: [Int] = [0]
    public var style: Style = .optIML
    /// At most this many instances per task (file order).
    public var limit: Int?
    public var seed: UInt64 = 0
    /// Generation stops at EOS, a stop string or this many new tokens (the paper: 256).
    public var maxNewTokens: Int = 256
    /// Also score each candidate after a content-free input ("N/A"), for calibrated accuracy (not for suite tasks).
    public var calibrate: Bool = true
    /// The evaluation suite the bench was built from (`optiml eval --suite`): every task is evaluated (a suite's
    /// bench has no levels) and prompted and scored as lm-evaluation-harness does.
    public var suite: String?
    /// This run evaluates shard `shard` (0-based) of `shards`: the instances whose (task, id) hash
    /// falls there. `optiml eval merge` combines the shards' samples.
    public var shard: Int?
    public var shards: Int?

    public init() {}

    enum CodingKeys: String, CodingKey {
        case split, levels, shots, style, limit, seed, calibrate, shard, shards, suite
        case maxNewTokens = "max_new_tokens"
    }

    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }
}

/// The outcome of a run: its id in the store and the aggregated results.
public struct EvalOutcome: Sendable {
    public var runID: Int64
    public var tasks: [TaskResult]
    public var groups: [GroupResult]
    /// Requests answered by the backend in this run (the rest came from the cache).
    public var computed: Int
    public var cached: Int
}

/// Evaluates a backend on a bench: formats each selected task's instances, asks the backend (through
/// the response cache, so an interrupted or repeated run resumes), scores, stores samples and
/// aggregates. Tasks with answer options are ranked by likelihood; the others generate greedily.
public struct EvalRunner {
    public var bench: URL
    public var backend: any EvalBackend
    public var store: ResultsStore
    public var settings: EvalSettings
    /// The model's tokenizer: cross-lingual ROUGE-L over its (GPT-2) tokens for non-English outputs.
    public var tokenizer: BPETokenizer?
    /// Requests per backend call; the cache is written after each.
    public var chunkSize = 32
    /// Called after each chunk with (requests done, requests in all).
    public var progress: (Int, Int) -> Void = { _, _ in }

    public init(bench: URL, backend: any EvalBackend, store: ResultsStore, settings: EvalSettings, tokenizer: BPETokenizer?) {
        self.bench = bench
        self.backend = backend
        self.store = store
        self.settings = settings
        self.tokenizer = tokenizer
    }

    /// One instance to score: its prompt and the requests that answer it.
    struct Planned {
        var task: String
        var level: Int
        var shots: Int
        var example: FormattedExample
        var crossLingual: Bool
        var requests: [EvalRequest]
        /// Candidates' content-free requests follow the candidates' own in `requests`.
        var calibrated: Bool
        /// How a suite task is scored (nil for the bench's own tasks).
        var suite: SuitePrompt?
        /// The answer options as written (without the delimiter that precedes them in a request).
        var options: [String]?
    }

    public func run(modelName: String) async throws -> EvalOutcome {
        let manifest = try BenchStore.manifest(bench)
        let benchHash = ContentHash.sha256(try Data(contentsOf: bench.appendingPathComponent("manifest.json")))
        let identity = backend.identity, modelHash = identity.hash
        let runID = try store.matchingRun(modelHash: modelHash, benchHash: benchHash, settings: settings.json)?.id
            ?? store.beginRun(RunRecord(id: nil, model: modelName, modelHash: modelHash, modelIdentity: identity.json, benchHash: benchHash,
                                        settings: settings.json, gitRevision: nil, startedAt: Date(), finishedAt: nil, resultsJSON: nil))
        let (planned, infos) = try plan(manifest)

        // Answers: cached ones first, the rest from the backend, chunk by chunk into the cache.
        var unique: [String: EvalRequest] = [:]
        // Each request's cache key, computed once (a JSON encoding and a SHA-256 each).
        let keys = planned.map { $0.requests.map { $0.cacheKey(modelHash: modelHash) } }
        for (item, itemKeys) in zip(planned, keys) { for (request, key) in zip(item.requests, itemKeys) { unique[key] = request } }
        var answers = try store.cachedResponses(for: Array(unique.keys)).compactMapValues(Self.response)
        // Requests of one context stay together (the backend runs it once), contexts with a shared prefix too.
        let missing = Self.ordered(unique.filter { answers[$0.key] == nil })
        progress(answers.count, unique.count)
        var start = 0
        while start < missing.count {
            var end = min(start + chunkSize, missing.count)
            while end < missing.count && Self.context(missing[end].value) == Self.context(missing[end - 1].value) { end += 1 }
            let chunk = Array(missing[start..<end])
            let responses = try await backend.answer(chunk.map(\.value))
            try store.store(zip(chunk, responses).map { Self.cached($1, key: $0.key) })
            for (item, response) in zip(chunk, responses) { answers[item.key] = response }
            progress(answers.count, unique.count)
            start = end
        }

        var scores: [InstanceScore] = [], samples: [SampleRecord] = []
        for (item, itemKeys) in zip(planned, keys) {
            let responses = itemKeys.map { answers[$0] }
            let scored = score(item, responses.compactMap { $0 })
            scores.append(InstanceScore(task: item.task, instance: item.example.id, shots: item.shots, metrics: scored.metrics))
            samples.append(SampleRecord(runID: runID, task: item.task, instanceID: item.example.id, shots: item.shots,
                                        level: item.suite == nil ? item.level : nil, prompt: item.example.src, prediction: scored.prediction,
                                        references: item.example.references, metrics: scored.metrics, gold: scored.gold,
                                        loglikelihoods: scored.loglikelihoods))
        }
        try store.addSamples(samples)
        let summary = Aggregation.summarize(scores, tasks: infos, seed: settings.seed)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let results = String(decoding: try encoder.encode(EvalResultsFile(model: modelName, modelIdentity: identity, benchHash: benchHash, settings: settings,
                                                                            taskInfo: infos, tasks: summary.tasks, groups: summary.groups)),
                             as: UTF8.self)
        try store.finishRun(id: runID, resultsJSON: results, at: Date())
        return EvalOutcome(runID: runID, tasks: summary.tasks, groups: summary.groups, computed: missing.count,
                           cached: unique.count - missing.count)
    }

    /// The instances of the selected tasks, formatted for every shot count, with their requests.
    func plan(_ manifest: BenchManifest) throws -> ([Planned], [String: TaskInfo]) {
        let split: InstanceSplit = settings.split == .validation ? .validation : .test
        var planned: [Planned] = [], infos: [String: TaskInfo] = [:]
        for record in manifest.tasks {
            let level = record.role == .train ? 3 : record.level ?? 0
            guard settings.suite != nil || settings.levels.contains(level), (record.instances[split.rawValue] ?? 0) > 0 else { continue }
            let (task, _) = try BenchStore.task(record.id, in: bench, manifest: manifest)
            let evaluated = Array(task.instances(in: split).prefix(settings.limit ?? Int.max))
            let instances = evaluated.filter { settings.includes(task: task.id, instance: $0.id) }
            let crossLingual = !task.outputLanguages.isEmpty && !task.outputLanguages.contains("English")
            infos[task.id] = TaskInfo(benchmark: task.benchmark, categories: task.categories, level: level,
                                      primaryMetric: task.suite?.metrics.first ?? (task.options == nil ? "rougeL" : "acc"),
                                      aggregate: task.suite?.aggregate, fewshotOrigin: task.suite?.fewshotOrigin)
            for shots in settings.shots {
                let formatter = PromptFormatter(style: style(shots: shots), seed: settings.seed, tokenizer: tokenizer)
                // A suite's examples as its sampler draws them, question by question over every evaluated one (not only this shard's).
                let exemplars = try task.suite.flatMap { prompt in
                    prompt.tkEncoding != nil ? nil : Dictionary(zip(evaluated.map(\.id), try prompt.exemplars(for: evaluated, pool: task.positiveExamples, shots: shots, task: task.id)),
                               uniquingKeysWith: { first, _ in first })
                }
                for instance in instances {
                    if let prompt = task.suite, var encoding = prompt.tkEncoding {
                        // Super-NI: the task's own first `shots` positive examples, the generation scored as its script does.
                        encoding.positiveExamples = shots
                        let example = PromptFormatter(style: .tk(encoding), tokenizer: tokenizer).format(instance, of: task)
                        planned.append(Planned(task: task.id, level: level, shots: shots, example: example, crossLingual: crossLingual,
                                               requests: [.generate(context: example.src, until: prompt.until, maxTokens: prompt.maxGenToks)],
                                               calibrated: false, suite: prompt))
                        continue
                    }
                    if let prompt = task.suite, let exemplars {
                        let example = formatter.formatSuite(instance, of: task, exemplars: exemplars[instance.id] ?? [])
                        let requests: [EvalRequest] = switch prompt.outputType {
                        case .multipleChoice where prompt.choicesAreContexts:
                            (example.candidates ?? []).map { .loglikelihood(context: $0, continuation: example.tgt) }
                        case .multipleChoice: (example.candidates ?? []).map { .loglikelihood(context: example.src, continuation: $0) }
                        case .generateUntil: [.generate(context: example.src, until: prompt.until, maxTokens: prompt.maxGenToks)]
                        }
                        planned.append(Planned(task: task.id, level: level, shots: shots, example: example, crossLingual: false,
                                               requests: requests, calibrated: false, suite: prompt, options: task.options(for: instance)))
                        continue
                    }
                    let example = formatter.format(instance, of: task)
                    var requests: [EvalRequest]
                    var calibrated = false
                    if let candidates = example.candidates {
                        requests = candidates.map { .loglikelihood(context: example.src, continuation: $0) }
                        if settings.calibrate {
                            var contentFree = instance
                            contentFree.input = "N/A"
                            let neutral = formatter.format(contentFree, of: task).src
                            requests += candidates.map { .loglikelihood(context: neutral, continuation: $0) }
                            calibrated = true
                        }
                    } else {
                        let until = shots > 0 && settings.style == .optIML ? ["\n\n\n"] : []
                        requests = [.generate(context: example.src, until: until, maxTokens: settings.maxNewTokens)]
                    }
                    planned.append(Planned(task: task.id, level: level, shots: shots, example: example, crossLingual: crossLingual,
                                           requests: requests, calibrated: calibrated))
                }
            }
        }
        guard !planned.isEmpty else { throw EvalError.nothingToEvaluate(bench: bench.path, split: settings.split.rawValue, levels: settings.levels) }
        return (planned, infos)
    }

    private func style(shots: Int) -> PromptStyle {
        // Tk-Instruct's demonstrations are the task's own positive examples.
        settings.style == .tk ? .tk(TkEncoding(positiveExamples: shots)) : .optIML(OPTIMLEncoding(shots: shots))
    }

    /// What a sample records of a scored instance.
    struct Scored {
        var prediction: String
        var metrics: [String: Double]
        var gold: String?
        var loglikelihoods: [Double]?
    }

    /// The prediction shown in samples and the instance's metrics.
    func score(_ item: Planned, _ responses: [EvalResponse]) -> Scored {
        let example = item.example
        if let candidates = example.candidates, item.suite?.tkEncoding == nil {
            let count = candidates.count
            let logprobs = responses.prefix(count).map { $0.logprob ?? -.infinity }
            let gold = example.gold ?? -1
            // A suite's samples and acc_norm use the options as written, without the delimiter before them
            // (lm-evaluation-harness's `len(choice)`); the bench's own tasks the candidates as scored.
            let shown = item.suite != nil ? item.options ?? candidates : candidates
            let goldText = shown.indices.contains(gold) ? shown[gold] : nil
            guard logprobs.count == count, let choice = try? RankClassification.choose(logprobs: logprobs) else {
                return Scored(prediction: "", metrics: [:], gold: goldText, loglikelihoods: logprobs)
            }
            var metrics: [String: Double] = ["acc": choice == gold ? 1 : 0]
            let lengths = shown.map(RankClassification.characterLength)
            if let normalized = try? RankClassification.chooseNormalized(logprobs: logprobs, characterLengths: lengths) {
                metrics["acc_norm"] = normalized == gold ? 1 : 0
            }
            if item.calibrated, responses.count == 2 * count,
               let calibrated = try? RankClassification.chooseCalibrated(logprobs: logprobs,
                                                                           contentFreeLogprobs: responses.suffix(count).map { $0.logprob ?? 0 }) {
                metrics["acc_calibrated"] = calibrated == gold ? 1 : 0
            }
            if let suite = item.suite { metrics = metrics.filter { suite.metrics.contains($0.key) } }
            return Scored(prediction: shown[choice], metrics: metrics, gold: goldText, loglikelihoods: logprobs)
        }
        if let suite = item.suite, suite.tkEncoding == nil {
            // lm-evaluation-harness compares the filtered generation with the target as they are.
            let prediction = SuiteFilters.apply(suite.filters, to: responses.first?.text ?? "")
            let target = example.references.first ?? ""
            return Scored(prediction: prediction, metrics: ["exact_match": prediction == target ? 1 : 0], gold: target)
        }
        let prediction = (responses.first?.text ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let rouge = item.crossLingual ? tokenizer.map { RougeL(crossLingual: $0) } ?? RougeL() : RougeL()
        return Scored(prediction: prediction,
                      metrics: ["exact_match": ExactMatch.score(prediction: prediction, references: example.references),
                                "rougeL": rouge.fmeasure(prediction: prediction, references: example.references)])
    }

    static func context(_ request: EvalRequest) -> String {
        switch request {
        case let .loglikelihood(context, _), let .generate(context, _, _): context
        }
    }

    /// Scoring before generation; within each, contexts that share a prefix come together, by length (`PrefixOrder`),
    /// so that each chunk holds questions the backend can batch behind their kept prefix.
    static func ordered(_ requests: [String: EvalRequest]) -> [(key: String, value: EvalRequest)] {
        let rank = Dictionary(uniqueKeysWithValues: PrefixOrder.arrange(Set(requests.values.map(context))).enumerated().map { ($1, $0) })
        func key(_ request: EvalRequest) -> (Int, Int, String) {
            switch request {
            case let .loglikelihood(context, continuation): (0, rank[context] ?? 0, continuation)
            case let .generate(context, _, _): (1, rank[context] ?? 0, "")
            }
        }
        return requests.map { $0 }.sorted { key($0.value) < key($1.value) }
    }

    static func response(_ cached: CachedResponse) -> EvalResponse? {
        switch cached.kind {
        case "loglikelihood":
            guard let logprob = cached.logprob else { return nil }
            return .loglikelihood(logprob: logprob, isGreedy: cached.isGreedy ?? false, tokens: cached.tokenCount ?? 0)
        case "generate": return cached.text.map(EvalResponse.generated)
        default: return nil
        }
    }

    static func cached(_ response: EvalResponse, key: String) -> CachedResponse {
        switch response {
        case let .loglikelihood(logprob, isGreedy, tokens):
            return CachedResponse(key: key, kind: "loglikelihood", logprob: logprob, isGreedy: isGreedy, tokenCount: tokens, text: nil)
        case let .generated(text):
            return CachedResponse(key: key, kind: "generate", logprob: nil, isGreedy: nil, tokenCount: nil, text: text)
        }
    }
}

/// results.json: the run's settings, what aggregation knows of each task, per-task results and group means.
public struct EvalResultsFile: Codable, Sendable {
    public var model: String
    /// What decided the answers (nil in files written before runs recorded it).
    public var modelIdentity: ModelIdentity?
    public var benchHash: String
    public var settings: EvalSettings
    public var taskInfo: [String: TaskInfo]
    public var tasks: [TaskResult]
    public var groups: [GroupResult]

    public init(model: String, modelIdentity: ModelIdentity?, benchHash: String, settings: EvalSettings, taskInfo: [String: TaskInfo],
                tasks: [TaskResult], groups: [GroupResult]) {
        self.model = model
        self.modelIdentity = modelIdentity
        self.benchHash = benchHash
        self.settings = settings
        self.taskInfo = taskInfo
        self.tasks = tasks
        self.groups = groups
    }

    enum CodingKeys: String, CodingKey {
        case model, settings, tasks, groups
        case benchHash = "bench_sha256"
        case taskInfo = "task_info"
        case modelIdentity = "model_identity"
    }
}

extension EvalSettings {
    /// Whether this run's shard holds the instance (every instance without sharding).
    func includes(task: String, instance: String) -> Bool {
        guard let shard, let shards, shards > 1 else { return true }
        return Int(StableHash.of(0, "shard", task, instance) % UInt64(shards)) == shard
    }
}
