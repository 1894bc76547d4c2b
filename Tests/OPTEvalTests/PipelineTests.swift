import Foundation
import OPTBench
import OPTEval
import OPTTrain
import Testing

/// The OPT-IML loop through the libraries' calls alone, as a Swift program runs it without the CLI: a bench
/// built from the committed Super-NI task fixtures, the tiny fixture model evaluated, tuned, evaluated again,
/// and the comparison report. A plain `import OPTEval` checks that the public surface is enough.
@Suite("Pipeline through the library calls")
struct PipelineTests {
    static let heldOut = ["task1564_triviaqa_answer_generation", "task363_sst2_polarity_classification"]

    @Test("bench build, evaluation, tuning, evaluation of the checkpoint and report: each stage's files and numbers")
    func pipeline() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }

        // Bench: two tasks held out, half the others' instances (level 3). The sentiment task is its category's
        // only one, so holding it out holds out the category (level 1); the trivia task's category stays in training (level 2).
        let split = folder.appendingPathComponent("split.yaml")
        try Data("name: pipeline\ntest: {tasks: [\(Self.heldOut.joined(separator: ", "))]}\ninstances: {fraction: 0.5}\n".utf8).write(to: split)
        let bench = folder.appendingPathComponent("bench", isDirectory: true)
        var stages: [String] = []
        let built = try BenchBuilder.run(BenchBuildSettings(sources: [TaskSource(kind: .niv2, path: EvalRunnerTests.tasks.path)],
                                                            split: .file(path: split.path), out: bench)) { stages.append($0) }
        #expect(stages == ["read 7 tasks, 28 instances", "split and audited", "wrote the bench"])
        #expect(built.manifest.counts.tasksRead == 7 && built.manifest.counts.tasksKept == 7)
        #expect(built.manifest.levels["1"]?["test"] == ["task363_sst2_polarity_classification"])
        #expect(built.manifest.levels["2"]?["test"] == ["task1564_triviaqa_answer_generation"])
        #expect(built.manifest.levels["3"]?["test"]?.count == 5)
        #expect(try BenchStore.manifest(bench).tasks.count == 7, "the bench on disk is the one returned")

        // The base model: every test task at 0 shots, 2 instances each.
        var settings = EvalSettings()
        settings.limit = 2
        settings.maxNewTokens = 4
        let base = try LocalBackend.load(directory: EvalRunnerTests.model, batchSize: 4)
        let baseOut = folder.appendingPathComponent("eval-base", isDirectory: true)
        let before = try await Evaluation.run(bench: bench, backend: base, tokenizer: base.generator.tokenizer, modelName: "tiny",
                                        settings: settings, out: baseOut)
        #expect(before.cached == 0 && before.computed > 0)
        #expect(before.tasks.count == 7 && before.tasks.allSatisfy { $0.shots == 0 && $0.instances == 2 })
        #expect(before.tasks.filter { $0.level < 3 }.map(\.task).sorted() == Self.heldOut)
        #expect(before.tasks.first { $0.task == "task363_sst2_polarity_classification" }?.primaryMetric == "acc")
        #expect(before.tasks.first { $0.task == "task1564_triviaqa_answer_generation" }?.primaryMetric == "rougeL")
        let samples = try String(contentsOf: baseOut.appendingPathComponent(Evaluation.samplesFile), encoding: .utf8)
        #expect(samples.split(separator: "\n").count == 14)
        let written = try Report.loadResults(runFolder: baseOut.path).file
        #expect(written.model == "tiny" && written.tasks == before.tasks && written.groups == before.groups)
        #expect(FileManager.default.fileExists(atPath: baseOut.appendingPathComponent(Evaluation.storeFile).path))

        // Tuning on the training split: two steps, a checkpoint at the end.
        let tuneOut = folder.appendingPathComponent("tune", isDirectory: true)
        let trainer = try Trainer(model: EvalRunnerTests.model, bench: bench, out: tuneOut,
                                  settings: TrainerSettings(steps: 2, batchSize: 2, sequenceLength: 48, learningRate: 1e-2, warmupSteps: 1,
                                                            dropout: .none, saveEvery: 2),
                                  resume: false, threads: 2)
        var losses: [Double] = []
        try trainer.run { losses.append($0.loss) }
        #expect(losses.count == 2 && losses.allSatisfy { $0.isFinite && $0 > 0 })
        let tuned = tuneOut.appendingPathComponent(TrainingCheckpoint.name(step: 2), isDirectory: true)
        #expect(trainer.lastCheckpoint?.standardizedFileURL.path == tuned.standardizedFileURL.path)

        // The checkpoint answers the same requests under its own identity.
        let tunedBackend = try LocalBackend.load(directory: tuned, batchSize: 4)
        #expect(tunedBackend.identity.hash != base.identity.hash)
        let tunedOut = folder.appendingPathComponent("eval-tuned", isDirectory: true)
        let after = try await Evaluation.run(bench: bench, backend: tunedBackend, tokenizer: tunedBackend.generator.tokenizer, modelName: "tiny-tuned",
                                       settings: settings, out: tunedOut)
        #expect(after.computed == before.computed && after.cached == 0)
        #expect(after.tasks.map(\.task) == before.tasks.map(\.task))

        // The report compares the two runs.
        let report = try Report.load(runFolders: [baseOut.path, tunedOut.path], compare: true).write(to: folder)
        let markdown = try String(contentsOf: report.markdown, encoding: .utf8)
        #expect(markdown.contains("tiny-tuned") && FileManager.default.fileExists(atPath: report.html.path))
    }
}
