import Foundation
import Testing
@testable import OPTTrain

/// `optiml tune --export` against `optiml tune` and tools/reference_trainer.py (fixtures of tools/make_stream_fixtures.py).
@Suite struct StreamExportTests {
    static let fixtures = Fixtures.packageRoot.appendingPathComponent("Tests/Fixtures/stream")
    static let bench = fixtures.appendingPathComponent("bench")
    static let models = [
        "tiny-preln-safetensors-sharded": Fixtures.models.appendingPathComponent("tiny-preln-safetensors-sharded"),
        "nano": Fixtures.packageRoot.appendingPathComponent("Models/nano"),
    ]

    /// The reference trainer's figures, step by step.
    struct Reference: Decodable {
        struct Step: Decodable {
            let step: Int
            let loss: Double
            let grad_norm: Double
            let labels: Int
        }
        let steps: [Step]
    }

    static func manifest(_ name: String) throws -> StreamManifest {
        try StreamExport.readManifest(fixtures.appendingPathComponent("\(name)/manifest.json"))
    }

    @Test(arguments: ["tiny-preln-safetensors-sharded", "nano"])
    func tuneComputesWhatTheReferenceTrainerComputesOnTheExportedRows(model name: String) throws {
        let manifest = try Self.manifest(name), model = try #require(Self.models[name])
        let reference = try JSONDecoder().decode(Reference.self, from: Data(contentsOf: Self.fixtures.appendingPathComponent("\(name)/reference.json")))
        try Fixtures.withTemporaryDirectory { folder in
            // The rows the reference trained on are byte for byte those exported now (shard SHA-256s in the manifest).
            let exported = try StreamExport.run(model: model, bench: Self.bench, settings: manifest.settings,
                                                to: folder.appendingPathComponent("export"), shardSteps: 2)
            #expect(exported == manifest)

            let out = folder.appendingPathComponent("run")
            try Trainer(model: model, bench: Self.bench, out: out, settings: manifest.settings, resume: false, threads: 2).run()
            let lines = try String(contentsOf: out.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            let ours = try lines.map { try JSONDecoder().decode(StepRecord.self, from: Data($0.utf8)) }
            #expect(ours.count == reference.steps.count && ours.count == manifest.steps)
            for (step, theirs) in zip(ours, reference.steps) {
                #expect(step.step == theirs.step && step.labels == theirs.labels)
                #expect(abs(step.loss - theirs.loss) <= 1e-4, "\(name) step \(step.step): loss \(step.loss) against \(theirs.loss)")
                // Relative past a norm of 1: the products' summation order (oneDNN's or BLAS's) moves a norm of ~37 by ~2e-4.
                #expect(abs(step.gradientNorm - theirs.grad_norm) <= 1e-4 * max(1, theirs.grad_norm),
                        "\(name) step \(step.step): gradient norm \(step.gradientNorm) against \(theirs.grad_norm)")
            }
        }
    }

    struct Interrupted: Error {}

    @Test func anInterruptedExportResumesAndALaterStartHoldsTheSameRows() throws {
        let settings = try Self.manifest("tiny-preln-safetensors-sharded").settings
        let model = try #require(Self.models["tiny-preln-safetensors-sharded"])
        try Fixtures.withTemporaryDirectory { folder in
            let whole = try StreamExport.run(model: model, bench: Self.bench, settings: settings, to: folder.appendingPathComponent("whole"), shardSteps: 1)
            #expect(whole.shards.map(\.firstStep) == [1, 2, 3, 4, 5])

            let split = folder.appendingPathComponent("split")
            #expect(throws: Interrupted.self) {
                try StreamExport.run(model: model, bench: Self.bench, settings: settings, to: split, shardSteps: 1) {
                    if $0.stepsDone == 2 { throw Interrupted() }
                }
            }
            // A shard being written when the process died: a temporary file, never listed.
            try Data("partial".utf8).write(to: split.appendingPathComponent(".steps-0000003-0000003.safetensors.0.tmp"))
            let resumed = try StreamExport.run(model: model, bench: Self.bench, settings: settings, to: split, shardSteps: 1)
            #expect(resumed == whole)
            #expect(try FileManager.default.contentsOfDirectory(atPath: split.path).sorted()
                == ["manifest.json"] + whole.shards.map(\.file).sorted())

            // Starting after step 3 packs the first three steps and writes the same last two.
            let later = try StreamExport.run(model: model, bench: Self.bench, settings: settings, to: folder.appendingPathComponent("later"),
                                             fromStep: 3, shardSteps: 1)
            #expect(later.firstStep == 4 && later.shards == Array(whole.shards.suffix(2)))
            // The shares as drawn count the exported examples only, each once by benchmark and once by task.
            for export in [whole, later] {
                let first = try #require(export.shards.first), last = try #require(export.shards.last)
                #expect(export.mixture.examples == last.dataPositionEnd - first.dataPositionStart && export.mixture.examples > 0)
                #expect(export.mixture.sources == ["niv2": export.mixture.examples] && export.mixture.shares == ["niv2": 1])
                #expect(export.mixture.tasks.values.reduce(0, +) == export.mixture.examples)
            }

            // The folder belongs to its settings and tokenizer.
            var other = settings
            other.schedule.peak *= 2
            #expect(throws: TrainingError.self) {
                try StreamExport.run(model: model, bench: Self.bench, settings: other, to: split, shardSteps: 1)
            }
            let nano = try #require(Self.models["nano"])
            #expect {
                try StreamExport.run(model: nano, bench: Self.bench, settings: settings, to: split, shardSteps: 1)
            } throws: { error in
                guard case let TrainingError.invalidExport(path, reason) = error else { return false }
                return path == split.path && reason.contains("another tokenizer")
            }
        }
    }
}
