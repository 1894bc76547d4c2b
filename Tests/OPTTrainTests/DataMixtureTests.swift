import Foundation
import OPTBench
import OPTTokenizer
import Testing
@testable import OPTTrain

/// Sampling, formatting, loss masks and packing of the training mixture.
@Suite struct DataMixtureTests {
    static let tokenizer = try! BPETokenizer.load(directory: TrainerTests.model)

    /// niv2: a large task (120 instances) and a small one (12); flan: one task of 30.
    static func bench(in folder: URL) throws -> URL {
        func task(_ id: String, _ benchmark: String, _ count: Int) -> BenchTask {
            BenchTask(id: id, benchmark: benchmark, categories: ["Classification"], definition: ["Answer with the label."],
                      instances: (0..<count).map { TaskInstance(id: "\(id)-\($0)", input: "item \($0) of \(id)", outputs: ["label \($0 % 3)"]) })
        }
        let tasks = [task("task_large", "niv2", 120), task("task_small", "niv2", 12), task("task_flan", "flan", 30)]
        let taxonomy = try Taxonomy.builtin()
        let bench = try BenchBuilder(spec: SplitSpec(name: "mixture"), taxonomy: taxonomy, specOrigin: "test", requireNamesExist: false).build(tasks: tasks)
        let url = folder.appendingPathComponent("bench")
        _ = try BenchStore.write(bench, sources: [TaskSource(kind: .jsonl, path: "mixture")], sourceCounts: [3], taxonomy: taxonomy, to: url)
        return url
    }

    /// How often each task (by id) and each stream (by name) is drawn in `count` draws.
    static func frequencies(_ mixture: DataMixture, _ count: Int) -> [String: Double] {
        var cursor = mixture.start(), seen: [String: Int] = [:]
        for _ in 0..<count {
            switch mixture.draw(&cursor) {
            case let .instance(task, _, _): seen[mixture.tasks[task].id, default: 0] += 1
            case let .stream(s, _): seen[mixture.settings.streams[s].name, default: 0] += 1
            }
        }
        return seen.mapValues { Double($0) / Double(count) }
    }

    @Test func examplesProportionalSamplingCapsLargeTasks() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let bench = try Self.bench(in: folder)
            var settings = MixtureSettings()
            settings.taskCap = 24
            let f = Self.frequencies(try DataMixture(bench: bench, tokenizer: Self.tokenizer, settings: settings), 20_000)
            // Weights min(n, 24): 24, 12, 24 of 60.
            #expect(abs(f["task_large"]! - 0.4) < 0.02 && abs(f["task_small"]! - 0.2) < 0.02 && abs(f["task_flan"]! - 0.4) < 0.02, "\(f)")
            settings.taskCap = 4096
            let uncapped = Self.frequencies(try DataMixture(bench: bench, tokenizer: Self.tokenizer, settings: settings), 20_000)
            #expect(abs(uncapped["task_large"]! - 120.0 / 162) < 0.02, "\(uncapped)")
        }
    }

    @Test func benchmarkProportionsAndStreamShares() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let bench = try Self.bench(in: folder)
            let text = folder.appendingPathComponent("text.jsonl"), pairs = folder.appendingPathComponent("cot.jsonl")
            try Data("{\"text\": \"plain pre-training text\"}\n\n{\"text\": \"more text\"}\n".utf8).write(to: text)
            try Data("{\"src\": \"Answer the following question by reasoning step by step. 2+2?\", \"tgt\": \" 2+2 is 4. The answer is 4\"}\n".utf8).write(to: pairs)
            var settings = MixtureSettings()
            settings.proportions = ["niv2": 3, "flan": 1]
            settings.streams = [.init(name: "pretraining", path: text.path, share: 0.05), .init(name: "reasoning", path: pairs.path, share: 0.15)]
            let mixture = try DataMixture(bench: bench, tokenizer: Self.tokenizer, settings: settings)
            let f = Self.frequencies(mixture, 40_000)
            let niv2 = f["task_large"]! + f["task_small"]!
            #expect(abs(f["pretraining"]! - 0.05) < 0.01 && abs(f["reasoning"]! - 0.15) < 0.01, "\(f)")
            #expect(abs(niv2 / f["task_flan"]! - 3) < 0.2, "\(f)")
            // Within niv2, examples-proportional: 120 : 12.
            #expect(abs(f["task_large"]! / f["task_small"]! - 10) < 1.5, "\(f)")

            // Pre-training text is all target; a reasoning pair only on its target (and EOS).
            let plain = mixture.example(.stream(0, index: 0)), reasoning = mixture.example(.stream(1, index: 0))
            #expect(plain.lossMask == [false] + Array(repeating: true, count: plain.tokens.count - 1))
            let target = Self.tokenizer.encode(" 2+2 is 4. The answer is 4", addBOS: false).count
            #expect(reasoning.lossMask.filter { $0 }.count == target + 1 && reasoning.lossMask.suffix(target + 1).allSatisfy { $0 })

            // Benchmarks given no share are left out; bad streams are refused with their line.
            let bad = folder.appendingPathComponent("bad.jsonl")
            try Data("{\"text\": \"ok\"}\n{\"prompt\": 1}\n".utf8).write(to: bad)
            settings.streams = [.init(name: "bad", path: bad.path, share: 0.1)]
            #expect { try DataMixture(bench: bench, tokenizer: Self.tokenizer, settings: settings) } throws: { "\($0)".contains("bad.jsonl:2") }
            settings.streams = []
            settings.proportions = ["flan": 1]
            #expect(Set(Self.frequencies(try DataMixture(bench: bench, tokenizer: Self.tokenizer, settings: settings), 100).keys) == ["task_flan"])
        }
    }

    @Test func labelLossCoversTheTargetAndFullLossEverything() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let bench = try Self.bench(in: folder)
            var settings = MixtureSettings()
            let label = try DataMixture(bench: bench, tokenizer: Self.tokenizer, settings: settings).example(.instance(task: 0, index: 0, shots: 0))
            settings.loss = .full
            let full = try DataMixture(bench: bench, tokenizer: Self.tokenizer, settings: settings).example(.instance(task: 0, index: 0, shots: 0))
            #expect(label.tokens == full.tokens)
            #expect(label.tokens.first == 2 && label.tokens.last == 2)  // BOS … EOS, both </s>
            let answer = label.tokens.indices.filter { label.lossMask[$0] }
            let text = Self.tokenizer.decode(answer.dropLast().map { Int(label.tokens[$0]) })
            #expect(text.hasPrefix(" label "), "trained on \"\(text)\"")
            #expect(answer == Array((label.tokens.count - answer.count)..<label.tokens.count))  // the suffix only
            #expect(full.lossMask == [false] + Array(repeating: true, count: full.tokens.count - 1))
        }
    }

    @Test func demonstrationsFollowZipfAndTheChosenLoss() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let bench = try Self.bench(in: folder)
            var settings = MixtureSettings()
            settings.maxShots = 5
            settings.zipfExponent = 1
            let mixture = try DataMixture(bench: bench, tokenizer: Self.tokenizer, settings: settings)
            var cursor = mixture.start(), counts = Array(repeating: 0, count: 6)
            for _ in 0..<30_000 { if case let .instance(_, _, shots) = mixture.draw(&cursor) { counts[shots] += 1 } }
            // P(k) ∝ 1/(k+1): k = 0 is twice as likely as k = 1 and six times as likely as k = 5.
            let p = counts.map { Double($0) / Double(counts.reduce(0, +)) }
            #expect(abs(p[0] / p[1] - 2) < 0.15 && abs(p[0] / p[5] - 6) < 0.8, "\(p)")

            let suffix = mixture.example(.instance(task: 0, index: 1, shots: 3))
            settings.demonstrationLoss = .standard
            let standard = try DataMixture(bench: bench, tokenizer: Self.tokenizer, settings: settings).example(.instance(task: 0, index: 1, shots: 3))
            let text = Self.tokenizer.decode(suffix.tokens.map(Int.init))
            #expect(text.components(separatedBy: "\n\n\n").count == 4, "three demonstrations, then the query: \(text)")
            #expect(suffix.tokens == standard.tokens)
            // Standard loss also covers the three demonstrations' answers.
            let trained = { (e: TrainingExample) in Self.tokenizer.decode(e.tokens.indices.filter { e.lossMask[$0] }.map { Int(e.tokens[$0]) }) }
            #expect(trained(suffix).components(separatedBy: "label").count == 2)
            #expect(trained(standard).components(separatedBy: "label").count == 5, "\(trained(standard))")
        }
    }

    @Test func packingKeepsExamplesWholeIsDeterministicAndResumes() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let bench = try Self.bench(in: folder)
            let mixture = try DataMixture(bench: bench, tokenizer: Self.tokenizer, settings: MixtureSettings())
            let packer = try BatchPacker(mixture: mixture, rows: 3, length: 40)
            let batches = try (0..<4).map { _ in try packer.next() }
            // Replaying the draws gives the examples the segments hold, whole and in order.
            var cursor = mixture.start(), examples: [TrainingExample] = []
            for _ in 0..<packer.position { examples.append(mixture.example(mixture.draw(&cursor))) }
            var placed: [[Int32]] = []
            for b in batches {
                for s in b.segments {
                    let span = (s.row * 40 + s.start)..<(s.row * 40 + s.start + s.count)
                    // Padding segments carry no target.
                    if span.contains(where: { b.targets[$0] >= 0 }) { placed.append(Array(b.tokens[span])) }
                }
            }
            #expect(placed == examples.map(\.tokens))
            // Same seed, same batches; a packer started at the saved position continues identically.
            let again = try BatchPacker(mixture: mixture, rows: 3, length: 40)
            #expect(try (0..<4).map { _ in try again.next() } == batches)
            let resumed = try BatchPacker(mixture: mixture, rows: 3, length: 40, position: packer.position)
            #expect(try resumed.next() == packer.next())

            // An example longer than a row keeps BOS and its last tokens.
            let short = try BatchPacker(mixture: mixture, rows: 1, length: 6).next()
            #expect(short.segments.count == 1 && short.tokens[0] == 2 && short.tokens[5] == 2 && short.targets[4] == 2)
        }
    }

    @Test("a segment that does not fit its row, or whose mask does not match, is refused, not written out of bounds")
    func misfitSegments() throws {
        var batch = PackedBatch(rows: 2, length: 4, padToken: 1)
        #expect(throws: TrainingError.self) { try batch.place([2, 5, 6], lossMask: [false, true, true], row: 0, start: 2) }
        #expect(throws: TrainingError.self) { try batch.place([2, 5], lossMask: [false], row: 0, start: 0) }
        #expect(throws: TrainingError.self) { try batch.place([2, 5], lossMask: [false, true], row: 2, start: 0) }
        try batch.place([2, 5], lossMask: [false, true], row: 1, start: 2)
        #expect(batch.segments.count == 1 && batch.tokens[6...7] == [2, 5])
    }
}
