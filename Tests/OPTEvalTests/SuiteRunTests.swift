import Foundation
import OPTBench
import OPTMetrics
import OPTModel
import Testing
@testable import OPTEval

/// Suites through the runner: lm-eval's filters, prefix reuse in the local backend, stored samples, groups and resume.
@Suite("Suite runs")
struct SuiteRunTests {
    static let nano = Paths.packageRoot.appendingPathComponent("Models/nano")

    @Test("lm-eval's regex filter: the selected match's group, stripped; [invalid] without a match")
    func regexFilter() {
        let cot = [SuiteFilter(function: "regex", regexPattern: "(?<=the answer is )(.*)(?=.)"), SuiteFilter(function: "take_first")]
        #expect(SuiteFilters.apply(cot, to: "A is True. So the answer is False.") == "False")
        #expect(SuiteFilters.apply(cot, to: "So the answer is (B).\n\nMore") == "(B)")
        #expect(SuiteFilters.apply(cot, to: "the answer is  yes .") == "yes", "stripped")
        #expect(SuiteFilters.apply(cot, to: "no conclusion") == "[invalid]")
        #expect(SuiteFilters.apply([SuiteFilter(function: "regex", regexPattern: "(\\d+)", groupSelect: -1)], to: "1 then 22") == "22")
        #expect(SuiteFilters.apply([SuiteFilter(function: "take_first")], to: " False") == " False", "no filter strips")
    }

    @Test("contexts sharing a long prefix: the kept prefix is reused across calls, for scoring and generation, with the numbers and texts of one-by-one runs")
    func prefixReuse() throws {
        let generator = try Generator(directory: Self.nano)
        let prefixes = PrefixCache()
        let backend = try LocalBackend(generator: generator, identity: ModelIdentity(["model": "nano"]), batchSize: 2, prefixes: prefixes)
        let exemplars = "The following are questions about the weather and the seasons of the year, with answers.\n\n"
            + "Is it cold in winter?\nAnswer: yes\n\nIs it hot in winter?\nAnswer: no\n\n"
        #expect(generator.tokenizer.encode(exemplars).count > PrefixCache.minimumTokens)
        let questions = ["Does it snow in July?", "Is spring warm?", "Do leaves fall in autumn?", "Is summer cold?", "Is it dark at night?"]
        let requests = questions.flatMap { question in
            [" yes", " no"].map { EvalRequest.loglikelihood(context: exemplars + question + "\nAnswer:", continuation: $0) }
        }
        // Two calls: the second finds the prefix the first kept.
        let answers = try backend.answer(Array(requests.prefix(4))) + backend.answer(Array(requests.dropFirst(4)))
        #expect(prefixes.hits >= 2 && prefixes.reusedTokens > 2 * PrefixCache.minimumTokens)
        for (request, answer) in zip(requests, answers) {
            guard case let .loglikelihood(context, continuation) = request else { continue }
            let alone = try generator.score(context: context, continuation: continuation)
            #expect(abs((answer.logprob ?? .nan) - alone.logprob) <= 1e-4)
        }
        // Generation starts from the kept prefix too, and generates what it generates alone.
        let hits = prefixes.hits
        let prompts = questions.map { exemplars + $0 + "\nAnswer:" }
        let generated = try backend.answer(prompts.map { .generate(context: $0, until: ["\n"], maxTokens: 8) })
        #expect(prefixes.hits > hits)
        var parameters = GenerationParameters()
        parameters.maxNewTokens = 8
        parameters.stop = ["\n"]
        for (prompt, answer) in zip(prompts, generated) {
            #expect(answer.text == (try generator.generate(prompt: prompt, parameters: parameters).text))
        }
    }

    @Test("an MMLU run: options A–D scored, samples with id, gold and each option's loglikelihood, categories and the suite weighted by questions; a rerun comes from the cache")
    func mmluRun() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data.appendingPathComponent("data/dev"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: data.appendingPathComponent("data/test"), withIntermediateDirectories: true)
        for (subject, count) in [("anatomy", 3), ("philosophy", 2)] {
            let rows = (0..<(count + 1)).map { "Question \($0) about \(subject)?,one,two,three,four,\(["A", "B", "C", "D"][$0 % 4])" }
            try writeFile(rows[0] + "\n", "data/dev/\(subject)_dev.csv", in: data)
            try writeFile(rows.dropFirst().joined(separator: "\n") + "\n", "data/test/\(subject)_test.csv", in: data)
        }
        let bench = folder.appendingPathComponent("bench")
        _ = try SuiteBuilder(suite: try EvalSuite.named("mmlu"), data: data, only: ["anatomy", "philosophy"], maxShots: 1).write(to: bench)
        let generator = try Generator(directory: Self.nano)
        let backend = try LocalBackend(generator: generator, identity: ModelIdentity(["model": "nano"]))
        var settings = EvalSettings()
        settings.suite = "mmlu"
        settings.levels = []
        settings.calibrate = false
        settings.shots = [0, 1]
        let store = try ResultsStore(path: folder.appendingPathComponent("results.sqlite"))
        let first = try await EvalRunner(bench: bench, backend: backend, store: store, settings: settings, tokenizer: generator.tokenizer).run(modelName: "nano")
        #expect(first.computed == 2 * 5 * 4 && first.cached == 0)
        #expect(first.tasks.allSatisfy { $0.primaryMetric == "acc" && Set($0.metrics.keys) == ["acc"] })
        let results = try JSONDecoder().decode(EvalResultsFile.self, from: Data(try #require(try store.runs().first?.resultsJSON).utf8))
        #expect(results.taskInfo["mmlu_anatomy"]?.aggregate == .weightBySize && results.taskInfo["mmlu_anatomy"]?.fewshotOrigin == nil)
        let groups = first.groups.map { "\($0.kind) \($0.name) \($0.shots ?? -1)" }
        #expect(groups == ["category humanities 0", "category stem 0", "suite mmlu 0", "category humanities 1", "category stem 1", "suite mmlu 1"])
        for shots in [0, 1] {
            let tasks = first.tasks.filter { $0.shots == shots }
            let suite = try #require(first.groups.first { $0.kind == "suite" && $0.shots == shots })
            let weighted = tasks.reduce(0) { $0 + $1.score * Double($1.instances) } / 5
            #expect(abs(suite.score - weighted) < 1e-9 && suite.instances == 5)
        }
        let samples = try store.samples(runID: first.runID)
        #expect(samples.count == 10)
        #expect(samples.allSatisfy { ["A", "B", "C", "D"].contains($0.prediction) && $0.loglikelihoods?.count == 4 && $0.gold != nil && $0.level == nil })
        let anatomy = samples.filter { $0.task == "mmlu_anatomy" && $0.shots == 0 }
        #expect(anatomy.map(\.instanceID) == ["0", "1", "2"] && anatomy.map(\.gold) == ["B", "C", "D"])
        let second = try await EvalRunner(bench: bench, backend: backend, store: store, settings: settings, tokenizer: generator.tokenizer).run(modelName: "nano")
        #expect(second.computed == 0 && second.tasks == first.tasks && second.groups == first.groups)
        settings.shots = [2]
        await #expect(throws: SuiteError.tooFewExamples(task: "mmlu_anatomy", have: 1, need: 2)) {
            try await EvalRunner(bench: bench, backend: backend, store: store, settings: settings, tokenizer: generator.tokenizer).run(modelName: "nano")
        }
    }

    @Test("a Super-NI run: Tk-Instruct prompts byte-identical to DataCollatorForNI, every task generated, EM and ROUGE-L per category and overall as Super-NI's script computes them")
    func superNIRun() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let data = folder.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data.appendingPathComponent("splits/default"), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: EvalRunnerTests.tasks, to: data.appendingPathComponent("tasks"))
        let listed = ["task121_zest_text_modification", "task073_commonsenseqa_answer_generation", "task1564_triviaqa_answer_generation",
                      "task363_sst2_polarity_classification", "task1342_amazon_us_reviews_title"]
        _ = try writeFile((listed + ["task999_not_here"]).joined(separator: "\n") + "\n", "splits/default/test_tasks.txt", in: data)
        var suite = try EvalSuite.named("superni")
        suite.superni?.instances = 3
        var builder = SuiteBuilder(suite: suite, data: data, maxShots: 2, maxNewTokens: 6)
        #expect(throws: SuiteError.self) { try builder.build() }
        builder.skipMissing = true
        let bench = folder.appendingPathComponent("bench")
        let (manifest, missing) = try builder.write(to: bench)
        #expect(missing == ["task999_not_here"] && manifest.tasks.map(\.id) == listed)

        let generator = try Generator(directory: EvalRunnerTests.model)
        let backend = try LocalBackend(generator: generator, identity: ModelIdentity(["model": "tiny"]))
        var settings = EvalSettings()
        settings.suite = "superni"
        settings.levels = []
        settings.calibrate = false
        settings.shots = [0, 2]
        let store = try ResultsStore(path: folder.appendingPathComponent("results.sqlite"))
        let run = try await EvalRunner(bench: bench, backend: backend, store: store, settings: settings, tokenizer: generator.tokenizer).run(modelName: "tiny")
        let samples = try store.samples(runID: run.runID)
        #expect(samples.count == listed.count * 3 * 2)
        #expect(samples.allSatisfy { $0.loglikelihoods == nil && Set($0.metrics.keys) == ["exact_match", "rougeL"] }, "every task generates, task363 too")
        #expect(run.tasks.allSatisfy { $0.primaryMetric == "rougeL" })

        // The prompts are the collator's (tools/make_tk_prompt_fixtures.py: definition, 0 or 2 positive examples, 1,024 tokens).
        struct Collated: Decodable {
            struct Config: Decodable {
                var add_task_name: Bool, add_task_definition: Bool, num_pos_examples: Int, num_neg_examples: Int, max_source_length: Int
            }
            var task: String, instance_id: String, config: Config, source: String
        }
        let lines = try String(contentsOf: Paths.packageRoot.appendingPathComponent("Tests/Fixtures/bench/tk_instruct/prompts.jsonl"), encoding: .utf8)
            .split(separator: "\n")
        let collated = try lines.map { try JSONDecoder().decode(Collated.self, from: Data($0.utf8)) }.filter { record in
            let c = record.config
            return !c.add_task_name && c.add_task_definition && c.num_neg_examples == 0 && c.max_source_length == 1024
        }
        for sample in samples {
            let reference = collated.first { $0.task == sample.task && $0.instance_id == sample.instanceID && $0.config.num_pos_examples == sample.shots }
            #expect(reference?.source == sample.prompt, "\(sample.task) \(sample.instanceID) \(sample.shots)")
        }

        // Answers that score: every other prompt its first reference, the rest a reference's first word and more.
        let answers = Dictionary(samples.enumerated().map { index, sample in
            (sample.prompt, index % 2 == 0 ? sample.references[0] : (sample.references[0].split(separator: " ").first.map(String.init) ?? "") + " and more")
        }, uniquingKeysWith: { first, _ in first })
        let scripted = try await EvalRunner(bench: bench, backend: Scripted(answers: answers), store: store, settings: settings,
                                      tokenizer: generator.tokenizer).run(modelName: "scripted")
        #expect(scripted.groups.allSatisfy { ($0.metrics?["exact_match"] ?? 0) > 0 && ($0.metrics?["rougeL"] ?? 0) > ($0.metrics?["exact_match"] ?? 0) })
        try expectOfficialGroups(scripted, store: store, bench: bench, manifest: manifest)
        try expectOfficialGroups(run, store: store, bench: bench, manifest: manifest)
    }

    /// Answers generation requests from a table of contexts.
    struct Scripted: EvalBackend {
        let identity = ModelIdentity(["model": "scripted"])
        let answers: [String: String]
        func answer(_ requests: [EvalRequest]) throws -> [EvalResponse] {
            requests.map { request in
                guard case let .generate(context, _, _) = request else { return .loglikelihood(logprob: 0, isGreedy: false, tokens: 0) }
                return .generated(answers[context] ?? "")
            }
        }
    }

    /// Each shot count's categories and suite of a Super-NI run are what the official script reports for the same predictions.
    func expectOfficialGroups(_ run: EvalOutcome, store: ResultsStore, bench: URL, manifest: BenchManifest) throws {
        let samples = try store.samples(runID: run.runID)
        let categories = try Dictionary(uniqueKeysWithValues: manifest.tasks.map { record in
            (record.id, try #require(try BenchStore.task(record.id, in: bench, manifest: manifest).0.categories.first))
        })
        for shots in [0, 2] {
            let scored = samples.filter { $0.shots == shots }
            let report = try SuperNIEvaluation().evaluate(
                predictions: scored.map { .init(id: .string($0.instanceID), prediction: $0.prediction) },
                references: scored.map { .init(id: .string($0.instanceID), references: $0.references, taskID: $0.task, taskCategory: categories[$0.task]) })
            let groups = run.groups.filter { $0.shots == shots }
            for group in groups {
                let key = group.kind == "suite" ? "_default_track"
                    : "_for_" + group.name.lowercased().split(whereSeparator: \.isWhitespace).joined(separator: "_") + "_default_track"
                for metric in ["rougeL", "exact_match"] {
                    let official = try #require(report[metric + key], "\(metric + key) in \(report.keys)")
                    #expect(abs((group.metrics?[metric] ?? .nan) - official) < 1e-3, "\(shots) shots, \(group.name) \(metric)")
                }
                #expect(group.score == group.metrics?["rougeL"])
            }
            #expect(Set(groups.map(\.name)) == Set(categories.values).union(["superni"]))
        }
    }
}
