import Foundation
import OPTBench
import OPTCheckpoint
import OPTKernels
import OPTModel
import OPTTokenizer
import Testing
@testable import OPTEval

/// The runner end to end: a bench built from the shipped Super-NI task fixtures, the tiny fixture
/// model behind the local backend, the results store.
@Suite("Eval runner")
struct EvalRunnerTests {
    static let model = Paths.packageRoot.appendingPathComponent("Tests/Fixtures/models/tiny-preln-safetensors-sharded")
    static let tasks = Paths.packageRoot.appendingPathComponent("Tests/Fixtures/bench/tk_instruct/tasks")

    /// A bench over the fixture tasks: task363 (options NEG/POS) and task1564 held out, the rest trained
    /// on with a level-3 hold-out.
    static func bench(in folder: URL) throws -> URL {
        let sources = [TaskSource(kind: .niv2, path: tasks.path)]
        let (loaded, counts, _) = try BenchBuilder.loadTasks(sources)
        var spec = SplitSpec(name: "runner-test")
        spec.test.tasks = ["task363_sst2_polarity_classification", "task1564_triviaqa_answer_generation"]
        spec.instances.fraction = 0.5
        let taxonomy = try Taxonomy.builtin()
        let bench = try BenchBuilder(spec: spec, taxonomy: taxonomy, specOrigin: "test", requireNamesExist: false).build(tasks: loaded)
        let url = folder.appendingPathComponent("bench")
        _ = try BenchStore.write(bench, sources: sources, sourceCounts: counts, taxonomy: taxonomy, to: url)
        return url
    }

    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("optimleval-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test("a run scores every selected instance, a second run answers everything from the cache with the same results")
    func runAndResume() async throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bench = try Self.bench(in: folder)
        let generator = try Generator(directory: Self.model)
        let backend = try LocalBackend(generator: generator, identity: try LocalBackend.identity(directory: Self.model, model: generator.model), batchSize: 3)
        var settings = EvalSettings()
        settings.shots = [0, 1]
        settings.limit = 3
        settings.maxNewTokens = 4
        let store = try ResultsStore(path: folder.appendingPathComponent("results.sqlite"))
        let runner = EvalRunner(bench: bench, backend: backend, store: store, settings: settings, tokenizer: generator.tokenizer)
        let first = try await runner.run(modelName: "tiny")
        #expect(first.cached == 0 && first.computed > 0)
        let classification = first.tasks.filter { $0.task == "task363_sst2_polarity_classification" }
        #expect(classification.map(\.shots) == [0, 1])
        #expect(classification.allSatisfy { $0.primaryMetric == "acc" && $0.metrics["acc_norm"] != nil && $0.metrics["acc_calibrated"] != nil })
        let generation = first.tasks.filter { $0.task == "task1564_triviaqa_answer_generation" }
        #expect(generation.allSatisfy { $0.primaryMetric == "rougeL" && $0.metrics["exact_match"] != nil && $0.instances == 3 })
        #expect(first.tasks.contains { $0.level == 3 })
        #expect(first.groups.contains { $0.kind == "level" && $0.shots == nil }, "the mean over shot counts")
        let samples = try store.samples(runID: first.runID)
        #expect(samples.count == first.tasks.reduce(0) { $0 + $1.instances })

        // The same model, bench and settings: the unfinished-run lookup does not apply (finished),
        // but every answer comes from the cache and the numbers are the same.
        let second = try await EvalRunner(bench: bench, backend: backend, store: store, settings: settings, tokenizer: generator.tokenizer)
            .run(modelName: "tiny")
        #expect(second.computed == 0 && second.cached == first.computed)
        #expect(second.tasks == first.tasks)
        #expect(second.groups == first.groups)
    }

    @Test("the cache never answers under another dtype or other weights; a copy of the same files shares it; runs record what decided their answers")
    func cacheKeyedByWhatDecidesAnswers() async throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bench = try Self.bench(in: folder)
        var settings = EvalSettings()
        settings.limit = 2
        settings.maxNewTokens = 3
        let store = try ResultsStore(path: folder.appendingPathComponent("results.sqlite"))
        func run(_ directory: URL, _ format: WeightFormat?, head: WeightFormat? = nil) async throws -> (EvalOutcome, ModelIdentity) {
            let generator = Generator(model: try OPTModel(directory: directory, format: format, headFormat: head),
                                      tokenizer: try BPETokenizer.load(directory: directory))
            let backend = try LocalBackend(generator: generator, identity: try LocalBackend.identity(directory: directory, model: generator.model))
            return (try await EvalRunner(bench: bench, backend: backend, store: store, settings: settings, tokenizer: generator.tokenizer)
                .run(modelName: directory.lastPathComponent), backend.identity)
        }
        let (f32, f32Identity) = try await run(Self.model, .f32)
        let (int8, int8Identity) = try await run(Self.model, .int8)
        #expect(f32.computed > 0 && int8.cached == 0 && int8.computed == f32.computed, "int8 answers are computed, not taken from f32's")
        #expect(f32Identity.facts["format"] == "f32" && int8Identity.facts["format"] == "int8")
        #expect(f32Identity.facts["weights_sha256"] == int8Identity.facts["weights_sha256"])
        #expect(f32Identity.facts["kernels"] == KernelPath.current)
        // int4 holds int4 and int8 matrices whichever format its head is in: the head's format tells them apart.
        let (int4, int4Identity) = try await run(Self.model, .int4)
        let (head4, head4Identity) = try await run(Self.model, .int4, head: .int4)
        #expect(int4.cached == 0 && head4.cached == 0 && head4.computed == f32.computed, "the int4 head's answers are its own")
        #expect(int4Identity.facts["format"] == "int4,int8" && head4Identity.facts["format"] == "int4,int8")
        #expect(int4Identity.facts["lm_head_format"] == nil && head4Identity.facts["lm_head_format"] == "int4")

        // The same bytes under another folder name share the cache; one changed byte (same size) does not.
        let copy = folder.appendingPathComponent("renamed-copy")
        try FileManager.default.copyItem(at: Self.model, to: copy)
        let (again, againIdentity) = try await run(copy, .f32)
        #expect(again.computed == 0 && againIdentity == f32Identity)
        let checkpoint = try Checkpoint(directory: copy)
        let weightFile = try #require(checkpoint.weightFiles.last)
        var bytes = try Data(contentsOf: weightFile)
        bytes[bytes.count - 1] ^= 0x01
        try bytes.write(to: weightFile)
        let (changed, changedIdentity) = try await run(copy, .f32)
        #expect(changed.cached == 0 && changedIdentity.facts["weights_sha256"] != f32Identity.facts["weights_sha256"])

        let recorded = try store.runs().map(\.modelIdentity)
        #expect(recorded.first == f32Identity.json && recorded.contains(int8Identity.json))
        #expect(recorded.first?.contains("\"format\":\"f32\"") == true)
    }

    /// Runs the runner into `folder` and writes results.json and samples.jsonl there, as the CLI does.
    func runInto(_ folder: URL, bench: URL, backend: LocalBackend, settings: EvalSettings, tokenizer: BPETokenizer) async throws -> EvalOutcome {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let store = try ResultsStore(path: folder.appendingPathComponent("results.sqlite"))
        let outcome = try await EvalRunner(bench: bench, backend: backend, store: store, settings: settings, tokenizer: tokenizer).run(modelName: "tiny")
        try store.exportSamples(runID: outcome.runID, to: folder.appendingPathComponent("samples.jsonl"))
        let results = try #require(try store.runs().first { $0.id == outcome.runID }?.resultsJSON)
        try Data(results.utf8).write(to: folder.appendingPathComponent("results.json"))
        return outcome
    }

    @Test("shards of an evaluation, merged, give the results of the whole evaluation")
    func shardsMerge() async throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bench = try Self.bench(in: folder)
        let generator = try Generator(directory: Self.model)
        let backend = try LocalBackend(generator: generator, identity: ModelIdentity(["model": "tiny"]), batchSize: 4)
        var settings = EvalSettings()
        settings.shots = [0, 1]
        settings.limit = 4
        settings.maxNewTokens = 3
        let whole = try await runInto(folder.appendingPathComponent("whole"), bench: bench, backend: backend, settings: settings,
                                tokenizer: generator.tokenizer)
        var parts: [URL] = []
        var instances = 0
        for index in 0..<3 {
            var part = settings
            part.shard = index
            part.shards = 3
            let url = folder.appendingPathComponent("shard\(index)")
            instances += try await runInto(url, bench: bench, backend: backend, settings: part, tokenizer: generator.tokenizer)
                .tasks.reduce(0) { $0 + $1.instances }
            parts.append(url)
        }
        #expect(instances == whole.tasks.reduce(0) { $0 + $1.instances })
        let merged = try ShardMerge.merge(parts.reversed())
        #expect(merged.results.tasks == whole.tasks)
        #expect(merged.results.groups == whole.groups)
        #expect(throws: ShardMergeError.incomplete(have: [0, 1], shards: 3)) { try ShardMerge.merge(Array(parts.prefix(2))) }
        #expect(throws: ShardMergeError.self) { try ShardMerge.merge([parts[0], folder.appendingPathComponent("whole")]) }
    }

    @Test("the local backend's loglikelihoods over a shared context equal one-by-one scoring")
    func sharedContextScores() throws {
        let generator = try Generator(directory: Self.model)
        let backend = try LocalBackend(generator: generator, identity: ModelIdentity(["model": "tiny"]))
        let context = "Review: a moving, funny film.\nSentiment:"
        let candidates = [" negative", " positive", " neutral and long winded"]
        let requests = candidates.map { EvalRequest.loglikelihood(context: context, continuation: $0) }
            + [.generate(context: "Hello", until: [], maxTokens: 3)]
        let answers = try backend.answer(requests)
        for (candidate, answer) in zip(candidates, answers) {
            let alone = try generator.score(context: context, continuation: candidate)
            let logprob = answer.logprob ?? .nan
            #expect(abs(logprob - alone.logprob) <= 1e-4)
        }
        var parameters = GenerationParameters()
        parameters.maxNewTokens = 3
        let direct = try generator.generate(prompt: "Hello", parameters: parameters)
        #expect(answers[3].text == direct.text)
    }

    @Test("aggregation: category means, levels as the mean of their categories, bootstrap error")
    func aggregation() {
        let infos = ["a": TaskInfo(benchmark: "niv2", categories: ["X"], level: 1, primaryMetric: "acc"),
                     "b": TaskInfo(benchmark: "niv2", categories: ["X"], level: 1, primaryMetric: "acc"),
                     "c": TaskInfo(benchmark: "flan", categories: ["Y"], level: 1, primaryMetric: "rougeL")]
        let scores = [InstanceScore(task: "a", shots: 0, metrics: ["acc": 1]), InstanceScore(task: "a", shots: 0, metrics: ["acc": 0]),
                      InstanceScore(task: "b", shots: 0, metrics: ["acc": 1]),
                      InstanceScore(task: "c", shots: 0, metrics: ["rougeL": 0.2]), InstanceScore(task: "c", shots: 5, metrics: ["rougeL": 0.6]),
                      InstanceScore(task: "a", shots: 5, metrics: ["acc": 1])]
        let (tasks, groups) = Aggregation.summarize(scores, tasks: infos)
        #expect(tasks.first { $0.task == "a" && $0.shots == 0 }?.score == 50)
        let categoryX = groups.first { $0.kind == "category" && $0.name == "X" && $0.shots == 0 }
        #expect(categoryX?.score == 75 && categoryX?.tasks == 2)
        let level0 = groups.first { $0.kind == "level" && $0.shots == 0 }
        #expect(abs((level0?.score ?? 0) - (75 + 20) / 2) < 1e-9, "the mean of categories X and Y")
        #expect((level0?.stderr ?? 0) > 0)
        let level5 = groups.first { $0.kind == "level" && $0.shots == 5 }
        #expect(abs((level5?.score ?? 0) - (100 + 60) / 2) < 1e-9)
        let combined = groups.first { $0.kind == "level" && $0.shots == nil }
        #expect(abs((combined?.score ?? 0) - (47.5 + 80) / 2) < 1e-9)
        #expect(groups.contains { $0.kind == "benchmark" && $0.name == "flan" && $0.score == 20 })
    }
}

extension EvalRunnerTests {
    /// The level's bootstrap error is the same bits whatever the categories hash to: it summed the categories in a
    /// dictionary's order, which changes from process to process (the last digits of results.json changed on a
    /// rerun from the cache). Renaming the categories, their sorted order kept, changes their hashes and so that order.
    @Test("aggregation: the bootstrap error does not depend on how the categories hash")
    func bootstrapIsDeterministic() {
        func summary(_ prefix: String) -> Double? {
            var infos: [String: TaskInfo] = [:], scores: [InstanceScore] = []
            for task in 0..<24 {
                let name = "t\(task)"
                infos[name] = TaskInfo(benchmark: "niv2", categories: ["\(prefix)\(Character(UnicodeScalar(97 + task % 12)!))"], level: 1,
                                       primaryMetric: "rougeL")
                for instance in 0..<(5 + task) {
                    scores.append(InstanceScore(task: name, instance: "\(instance)", shots: 0,
                                                metrics: ["rougeL": Double((instance * 7919 + task * 104_729) % 1000) / 997]))
                }
            }
            return Aggregation.summarize(scores, tasks: infos, bootstrap: 50, seed: 3).groups.first { $0.kind == "level" }?.stderr
        }
        let reference = summary("")
        #expect(reference != nil)
        for prefix in ["x", "category ", "Zz_", "0"] { #expect(summary(prefix) == reference, "categories named \(prefix)…") }
    }

    @Test("bad input: a folder that is no bench, a tokenizer from another model")
    func badInput() async throws {
        let folder = try folder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let generator = try Generator(directory: Self.model)
        let backend = try LocalBackend(generator: generator, identity: ModelIdentity(["model": "tiny"]))
        let store = try ResultsStore(path: folder.appendingPathComponent("results.sqlite"))
        let runner = EvalRunner(bench: folder.appendingPathComponent("nothing"), backend: backend, store: store,
                                settings: EvalSettings(), tokenizer: nil)
        let error = try await #require(throws: BenchError.self) { try await runner.run(modelName: "tiny") }
        #expect(error.description.contains("nothing") && error.description.contains("manifest.json"))
        var validation = EvalSettings()
        validation.split = .validation
        let empty = EvalRunner(bench: try Self.bench(in: folder), backend: backend, store: store, settings: validation, tokenizer: nil)
        await #expect(throws: EvalError.self) { try await empty.run(modelName: "tiny") }
        // The GPT-2 tokenizer (50k tokens) with the tiny model (1,000 embeddings).
        if Paths.hasGPT2 {
            let gpt2 = try BPETokenizer.load(directory: Paths.gpt2)
            let mismatched = Generator(model: generator.model, tokenizer: gpt2)
            #expect(throws: EvalError.tokenizerMismatch(tokenizerSize: gpt2.vocabularySize, modelSize: generator.model.config.vocabSize)) {
                try LocalBackend(generator: mismatched, identity: ModelIdentity(["model": "x"]))
            }
        }
    }
}
