import Foundation
import OPTBench
import OPTModel
import Testing
@testable import OPTTrain

/// The trainer end to end on the tiny fixture model and a bench it builds itself.
@Suite struct TrainerTests {
    static let model = Fixtures.models.appendingPathComponent("tiny-preln-safetensors-sharded")

    /// Two closed-label tasks (colour of a fruit, parity of a digit written out) over a handful of
    /// instances, all trained on: what a 2-layer, 32-wide model can learn in a few hundred steps.
    static func syntheticBench(in folder: URL, trainOnly: Bool = true) throws -> URL {
        let fruits = [("apple", "red"), ("banana", "yellow"), ("lime", "green"), ("cherry", "red"), ("lemon", "yellow"), ("pear", "green")]
        let digits = ["zero", "one", "two", "three", "four", "five", "six", "seven"]
        let colour = BenchTask(
            id: "task_colour", benchmark: "niv2", categories: ["Classification"], definition: ["Name the colour of the fruit."],
            instances: fruits.map { TaskInstance(id: "c-\($0.0)", input: "Fruit: \($0.0)", outputs: [$0.1]) }, options: ["red", "yellow", "green"])
        let parity = BenchTask(
            id: "task_parity", benchmark: "niv2", categories: ["Arithmetic"], definition: ["Is the number even or odd?"],
            instances: digits.enumerated().map { TaskInstance(id: "p-\($0.element)", input: "Number: \($0.element)", outputs: [$0.offset % 2 == 0 ? "even" : "odd"]) },
            options: ["even", "odd"])
        var spec = SplitSpec(name: "synthetic")
        if !trainOnly { spec.test.tasks = ["task_colour", "task_parity"] }
        let taxonomy = try Taxonomy.builtin()
        let bench = try BenchBuilder(spec: spec, taxonomy: taxonomy, specOrigin: "test", requireNamesExist: false).build(tasks: [colour, parity])
        let url = folder.appendingPathComponent("bench")
        _ = try BenchStore.write(bench, sources: [TaskSource(kind: .jsonl, path: "synthetic")], sourceCounts: [2], taxonomy: taxonomy, to: url)
        return url
    }

    static func settings(steps: Int, lr: Double = 3e-3, saveEvery: Int = 1000) -> TrainerSettings {
        TrainerSettings(steps: steps, batchSize: 4, microBatchSize: 2, sequenceLength: 48, learningRate: lr, warmupSteps: 5,
                        dropout: .paper, seed: 3, saveEvery: saveEvery)
    }

    struct Interrupted: Error {}

    /// Losses of metrics.jsonl, step by step.
    static func losses(_ out: URL) throws -> [Int: Double] {
        let lines = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let records = try lines.map { try JSONDecoder().decode(StepRecord.self, from: Data($0.utf8)) }
        return Dictionary(uniqueKeysWithValues: records.map { ($0.step, $0.loss) })
    }

    @Test func aResumedRunGivesTheLossesOfAnUninterruptedOne() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let bench = try Self.syntheticBench(in: folder)
            let whole = folder.appendingPathComponent("whole"), split = folder.appendingPathComponent("split")
            let settings = Self.settings(steps: 8, saveEvery: 3)
            let uninterrupted = try Trainer(model: Self.model, bench: bench, out: whole, settings: settings, resume: false, threads: 2)
            try uninterrupted.run()

            // Killed after step 4: checkpoint 3 is the newest, metrics already hold step 4. Each part runs on
            // another number of threads, which the numbers do not depend on.
            let first = try Trainer(model: Self.model, bench: bench, out: split, settings: settings, resume: false, threads: 1)
            #expect(throws: Interrupted.self) { try first.run { if $0.step == 4 { throw Interrupted() } } }
            #expect(TrainingCheckpoint.latest(in: split)?.lastPathComponent == "checkpoint-000003")
            // Without --resume the run refuses to overwrite it.
            #expect(throws: TrainingError.self) { try Trainer(model: Self.model, bench: bench, out: split, settings: settings, resume: false) }
            let resumed = try Trainer(model: Self.model, bench: bench, out: split, settings: settings, resume: true, threads: 3)
            #expect(resumed.step == 3)
            try resumed.run()

            let expected = try Self.losses(whole), actual = try Self.losses(split)
            #expect(expected.count == 8 && actual == expected)
            #expect(Array(UnsafeBufferPointer(start: resumed.parameters.pointer, count: resumed.parameters.layout.count))
                == Array(UnsafeBufferPointer(start: uninterrupted.parameters.pointer, count: uninterrupted.parameters.layout.count)))
            // Other settings cannot continue this run.
            var other = settings
            other.schedule.peak = 1e-2
            #expect(throws: TrainingError.self) { try Trainer(model: Self.model, bench: bench, out: split, settings: other, resume: true) }
        }
    }

    /// The learning check: the tiny model fits the synthetic tasks, by loss and by rank classification
    /// of the saved checkpoint in the inference runtime.
    @Test func aTinyModelLearnsTheSyntheticTasks() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let bench = try Self.syntheticBench(in: folder)
            let out = folder.appendingPathComponent("run")
            var settings = Self.settings(steps: 150, lr: 1e-2)
            settings.dropout = .none
            let trainer = try Trainer(model: Self.model, bench: bench, out: out, settings: settings, resume: false, threads: 2)
            let before = try Self.accuracy(model: Self.model, bench: bench)
            try trainer.run()
            let losses = try Self.losses(out)
            let lastTen = (141...150).compactMap { losses[$0] }.reduce(0, +) / 10
            #expect(lastTen < 0.1, "mean loss of the last 10 steps: \(lastTen)")
            let checkpoint = try #require(TrainingCheckpoint.latest(in: out))
            let after = try Self.accuracy(model: checkpoint, bench: bench)
            #expect(before < 0.9 && after == 1, "rank-classification accuracy on the training instances: \(before) before, \(after) after")
        }
    }

    /// Rank classification over each task's options on its training instances, through the inference engine.
    static func accuracy(model: URL, bench: URL) throws -> Double {
        let generator = try Generator(directory: model)
        let manifest = try BenchStore.manifest(bench)
        let formatter = PromptFormatter(style: .optIML(OPTIMLEncoding()), seed: 0)
        var right = 0, total = 0
        for record in manifest.tasks {
            let (task, _) = try BenchStore.task(record.id, in: bench, manifest: manifest)
            for instance in task.instances(in: .train) {
                let example = formatter.format(instance, of: task)
                let candidates = try #require(example.candidates)
                let scores = try generator.score(context: example.src, continuations: candidates)
                let best = scores.indices.max { scores[$0].logprob < scores[$1].logprob }
                right += best == example.gold ? 1 : 0
                total += 1
            }
        }
        return Double(right) / Double(max(total, 1))
    }

    /// Without a bench, a run pre-trains on its text streams (all tokens trained on).
    @Test func aRunWithoutABenchTrainsOnItsStreams() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let text = folder.appendingPathComponent("text.jsonl")
            let lines = (0..<40).map { "{\"text\": \"The opposite of hot is cold. \($0 % 4) plus 1 is \($0 % 4 + 1).\"}" }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: text)
            var settings = Self.settings(steps: 80, lr: 1e-2)
            settings.dropout = .none
            settings.mixture.streams = [.init(name: "text", path: text.path, share: 1)]
            let out = folder.appendingPathComponent("run")
            let trainer = try Trainer(model: Self.model, bench: nil, out: out, settings: settings, resume: false, threads: 2)
            #expect(trainer.mixtureSummary.hasPrefix("no bench"))
            try trainer.run()
            let losses = try Self.losses(out)
            #expect(losses[80]! < losses[1]! / 3, "loss \(losses[1]!) → \(losses[80]!)")
            settings.mixture.streams = []
            #expect(throws: TrainingError.self) { try Trainer(model: Self.model, bench: nil, out: folder.appendingPathComponent("none"), settings: settings, resume: false) }
        }
    }

    // MARK: - Bad input and faults

    @Test func aBenchWithoutTrainingInstancesIsRefused() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let bench = try Self.syntheticBench(in: folder, trainOnly: false)
            #expect {
                try Trainer(model: Self.model, bench: bench, out: folder.appendingPathComponent("run"), settings: Self.settings(steps: 2), resume: false)
            } throws: { error in
                guard case .noTrainingData = error as? TrainingError else { return false }
                return "\(error)".contains("no training task with training instances")
            }
        }
    }

    @Test func evaluatingWithoutValidationInstancesIsRefused() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let bench = try Self.syntheticBench(in: folder)
            var settings = Self.settings(steps: 2)
            settings.evalEvery = 1
            #expect {
                try Trainer(model: Self.model, bench: bench, out: folder.appendingPathComponent("run"), settings: settings, resume: false)
            } throws: { "\($0)".contains("--eval-every needs validation instances") }
        }
    }

    @Test func aSequenceLongerThanThePositionTableIsRefused() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let bench = try Self.syntheticBench(in: folder)
            var settings = Self.settings(steps: 2)
            settings.sequenceLength = 65  // the fixture has 64 positions
            #expect {
                try Trainer(model: Self.model, bench: bench, out: folder.appendingPathComponent("run"), settings: settings, resume: false)
            } throws: { "\($0)".contains("beyond the model's 64 positions") }
        }
    }

    @Test func aNaNLossStopsTheRunAndKeepsTheLastGoodCheckpoint() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let bench = try Self.syntheticBench(in: folder)
            let out = folder.appendingPathComponent("run")
            let trainer = try Trainer(model: Self.model, bench: bench, out: out, settings: Self.settings(steps: 10, saveEvery: 2), resume: false, threads: 2)
            #expect {
                // After step 3 the weights go bad (as after an overflow); step 4 must not be taken.
                try trainer.run { if $0.step == 3 { trainer.parameters.pointer.update(repeating: .nan, count: 64) } }
            } throws: { error in
                guard case let .divergence(step, _, last) = error as? TrainingError else { return false }
                return step == 4 && last?.hasSuffix("checkpoint-000002") == true
            }
            let latest = try #require(TrainingCheckpoint.latest(in: out))
            #expect(latest.lastPathComponent == "checkpoint-000002")
            let reloaded = try ParameterVector(directory: latest)
            let finite = UnsafeBufferPointer(start: reloaded.pointer, count: reloaded.layout.count).allSatisfy { $0.isFinite }
            #expect(finite)
        }
    }

    @Test func aFailedSaveLeavesNoPartialCheckpointAndTheLastOneIntact() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let bench = try Self.syntheticBench(in: folder)
            let out = folder.appendingPathComponent("run")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            // A file where checkpoint 2 must go: the save fails (and the file is not deleted).
            try Data("keep me".utf8).write(to: out.appendingPathComponent("checkpoint-000002"))
            let trainer = try Trainer(model: Self.model, bench: bench, out: out, settings: Self.settings(steps: 4, saveEvery: 1), resume: false, threads: 2)
            #expect { try trainer.run() } throws: { error in
                guard case .checkpointUnwritable = error as? TrainingError else { return false }
                return true
            }
            let names = try FileManager.default.contentsOfDirectory(atPath: out.path).sorted()
            #expect(names == ["checkpoint-000001", "checkpoint-000002", "latest", "metrics.jsonl"])
            #expect(TrainingCheckpoint.latest(in: out)?.lastPathComponent == "checkpoint-000001")
            #expect(try String(contentsOf: out.appendingPathComponent("checkpoint-000002"), encoding: .utf8) == "keep me")
            _ = try ParameterVector(directory: out.appendingPathComponent("checkpoint-000001"))
        }
    }
}
