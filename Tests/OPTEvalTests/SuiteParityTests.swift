import Foundation
import OPTBench
import OPTModel
import Testing
@testable import OPTEval

/// Suites against lm-evaluation-harness 0.4.13's `hf` backend on the same models and data
/// (Tests/Fixtures/suites, made by tools/make_suite_fixtures.py): the same requests (context and continuation
/// strings), log-likelihoods within 1e-4, the same chosen option on every question, the same generations and
/// the same accuracies; MMLU's category and overall scores as lm-eval's groups weight them.
@Suite("Suite parity with lm-evaluation-harness")
struct SuiteParityTests {
    static let fixtures = Paths.packageRoot.appendingPathComponent("Tests/Fixtures/suites")

    struct Fixture: Decodable {
        struct Request: Decodable {
            var doc_id: Int
            var idx: Int
            var context: String
            var continuation: String?
            var loglikelihood: Double?
            var until: [String]?
            var generation: String?
            var filtered: String?
        }
        struct Sample: Decodable {
            var doc_id: Int
            var chosen: Int?
            var acc: Double?
            var acc_norm: Double?
            var exact_match: Double?
        }
        var lm_eval_task: String
        var model: String
        var shots: Int
        var requests: [Request]
        var samples: [Sample]
        var metrics: [String: Double]
        var settings: Settings
        struct Settings: Decodable {
            var generation_kwargs: GenerationKWArgs?
            struct GenerationKWArgs: Decodable { var max_gen_toks: Int? }
        }
    }

    /// Every (model, task, shots) case the script wrote.
    static let cases: [String] = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: fixtures.appendingPathComponent("lmeval").path)) ?? []
        return names.filter { $0.hasSuffix("shot.json") && !$0.contains("mmlu_groups") }.sorted()
    }()

    /// lm-eval's task name as (our suite, our task, its data folder).
    static func ours(_ lmEvalTask: String) -> (suite: String, task: String, data: String) {
        if lmEvalTask.hasPrefix("mmlu_") { return ("mmlu", lmEvalTask, "mmlu") }
        if lmEvalTask.hasPrefix("bbh_cot_fewshot_") { return ("bbh-cot", "bbh_cot_" + lmEvalTask.dropFirst("bbh_cot_fewshot_".count), "bbh") }
        if lmEvalTask.hasPrefix("bbh_fewshot_") { return ("bbh", "bbh_" + lmEvalTask.dropFirst("bbh_fewshot_".count), "bbh") }
        return ("opt14", lmEvalTask == "sglue_rte" ? "rte" : lmEvalTask, "opt14")
    }

    /// One case run through SuiteBuilder, EvalRunner and the local backend.
    static func run(_ fixture: Fixture, in folder: URL) async throws -> (planned: [EvalRunner.Planned], outcome: EvalOutcome, samples: [SampleRecord]) {
        let (suite, task, data) = ours(fixture.lm_eval_task)
        let bench = folder.appendingPathComponent("bench")
        _ = try SuiteBuilder(suite: try EvalSuite.named(suite), data: fixtures.appendingPathComponent("data/" + data), only: [task],
                             maxShots: fixture.shots, maxNewTokens: fixture.settings.generation_kwargs?.max_gen_toks).write(to: bench)
        let model = fixture.model == "nano" ? Paths.packageRoot.appendingPathComponent("Models/nano")
            : Paths.packageRoot.appendingPathComponent("Tests/Fixtures/models/" + fixture.model)
        let generator = try Generator(directory: model)
        let backend = try LocalBackend(generator: generator, identity: ModelIdentity(["model": fixture.model]))
        var settings = EvalSettings()
        settings.suite = suite
        settings.levels = []
        settings.calibrate = false
        settings.shots = [fixture.shots]
        let store = try ResultsStore(path: folder.appendingPathComponent("results.sqlite"))
        let runner = EvalRunner(bench: bench, backend: backend, store: store, settings: settings, tokenizer: generator.tokenizer)
        let planned = try runner.plan(try BenchStore.manifest(bench)).0
        let outcome = try await runner.run(modelName: fixture.model)
        return (planned, outcome, try store.samples(runID: outcome.runID))
    }

    @Test("requests, log-likelihoods, choices, generations and accuracies equal lm-eval's", arguments: cases)
    func parity(_ name: String) async throws {
        let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("lmeval/" + name)))
        let folder = try temporaryFolder(name)
        defer { try? FileManager.default.removeItem(at: folder) }
        let (planned, outcome, samples) = try await Self.run(fixture, in: folder)

        // The same requests, doc by doc, in lm-eval's order within a doc.
        let ours = planned.sorted { Int($0.example.id)! < Int($1.example.id)! }.flatMap { item in
            item.requests.enumerated().map { (doc: Int(item.example.id)!, idx: $0.offset, request: $0.element) }
        }
        try #require(ours.count == fixture.requests.count, "\(ours.count) requests, lm-eval \(fixture.requests.count)")
        for (mine, theirs) in zip(ours, fixture.requests) {
            #expect(mine.doc == theirs.doc_id && mine.idx == theirs.idx)
            switch mine.request {
            case let .loglikelihood(context, continuation):
                #expect(context == theirs.context, "doc \(theirs.doc_id) context:\n\(show(context))\n\(show(theirs.context))")
                #expect(continuation == theirs.continuation, "doc \(theirs.doc_id): \(show(continuation)) vs \(show(theirs.continuation ?? "nil"))")
            case let .generate(context, until, _):
                #expect(context == theirs.context, "doc \(theirs.doc_id) context:\n\(show(context))\n\(show(theirs.context))")
                #expect(until == theirs.until)
            }
        }

        // Per question: each option's log-likelihood, the chosen option, the generation and the metrics.
        let byDoc = Dictionary(grouping: fixture.requests, by: \.doc_id)
        for sample in samples where sample.shots == fixture.shots {
            let doc = Int(sample.instanceID)!
            let requests = byDoc[doc] ?? []
            let theirs = try #require(fixture.samples.first { $0.doc_id == doc })
            if let loglikelihoods = sample.loglikelihoods {
                for (mine, request) in zip(loglikelihoods, requests) {
                    #expect(abs(mine - (request.loglikelihood ?? .nan)) <= 1e-4, "doc \(doc) option \(request.idx): \(mine) vs \(request.loglikelihood ?? .nan)")
                }
                #expect(sample.metrics["acc"] == theirs.acc && sample.metrics["acc_norm"] == theirs.acc_norm, "doc \(doc)")
            } else {
                #expect(sample.prediction == requests.first?.filtered, "doc \(doc): \(show(sample.prediction)) vs \(show(requests.first?.filtered ?? "nil"))")
                #expect(sample.metrics["exact_match"] == theirs.exact_match)
            }
        }
        let task = try #require(outcome.tasks.first)
        for (metric, value) in fixture.metrics where ["acc", "acc_norm", "exact_match"].contains(metric) {
            #expect(abs((task.metrics[metric] ?? .nan) - 100 * value) < 1e-9, "\(metric)")
        }
    }

    @Test("MMLU's categories and overall score equal lm-eval's groups", arguments: ["nano", "tiny-random-2048"], [0, 5])
    func mmluGroups(_ model: String, _ shots: Int) async throws {
        struct Groups: Decodable {
            struct Group: Decodable {
                var acc: Double
                var sample_len: Int
                enum CodingKeys: String, CodingKey { case acc = "acc,none", sample_len }
            }
            var results: [String: Group]
        }
        let groups = try JSONDecoder().decode(Groups.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("lmeval/\(model)__mmlu_groups__\(shots)shot.json")))
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let bench = folder.appendingPathComponent("bench")
        _ = try SuiteBuilder(suite: try EvalSuite.named("mmlu"), data: Self.fixtures.appendingPathComponent("data/mmlu"), skipMissing: true, maxShots: shots)
            .write(to: bench)
        let directory = model == "nano" ? Paths.packageRoot.appendingPathComponent("Models/nano") : Paths.packageRoot.appendingPathComponent("Tests/Fixtures/models/" + model)
        let generator = try Generator(directory: directory)
        var settings = EvalSettings()
        settings.suite = "mmlu"
        settings.levels = []
        settings.calibrate = false
        settings.shots = [shots]
        let outcome = try await EvalRunner(bench: bench, backend: try LocalBackend(generator: generator, identity: ModelIdentity(["model": model])),
                                     store: try ResultsStore(path: folder.appendingPathComponent("results.sqlite")), settings: settings,
                                     tokenizer: generator.tokenizer).run(modelName: model)
        for group in outcome.groups {
            let name = group.kind == "suite" ? group.name : "mmlu_" + group.name
            let theirs = try #require(groups.results[name], "lm-eval has no group \(name)")
            #expect(abs(group.score - 100 * theirs.acc) < 1e-9 && group.instances == theirs.sample_len, "\(name)")
        }
        #expect(outcome.groups.count == groups.results.count)
    }

    @Test("BBH generations: the raw text lm-eval's hf backend returns, cut at its stop strings")
    func generations() throws {
        for name in Self.cases where name.contains("bbh_") {
            let fixture = try JSONDecoder().decode(Fixture.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("lmeval/" + name)))
            let folder = try temporaryFolder(name)
            defer { try? FileManager.default.removeItem(at: folder) }
            let model = fixture.model == "nano" ? Paths.packageRoot.appendingPathComponent("Models/nano")
                : Paths.packageRoot.appendingPathComponent("Tests/Fixtures/models/" + fixture.model)
            let backend = try LocalBackend(generator: try Generator(directory: model), identity: ModelIdentity(["model": fixture.model]))
            let requests = fixture.requests.map { EvalRequest.generate(context: $0.context, until: $0.until ?? [], maxTokens: fixture.settings.generation_kwargs?.max_gen_toks ?? 256) }
            for (answer, request) in zip(try backend.answer(requests), fixture.requests) {
                #expect(answer.text == request.generation, "\(name) doc \(request.doc_id): \(show(answer.text ?? "")) vs \(show(request.generation ?? ""))")
            }
        }
    }
}
