import Foundation
import Logging
import Testing
@testable import OPTTrain

/// The trainer's log: resuming and each checkpoint at info, a line per step at debug, and the
/// logger's level decides which of them are written.
@Suite struct TrainerLoggingTests {
    /// Keeps every line logged through it.
    final class Recorder: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] = []
        func append(_ event: LogEvent) {
            lock.withLock { lines.append((event.level, "\(event.message)", event.metadata ?? [:])) }
        }
        var recorded: [(level: Logger.Level, message: String, metadata: Logger.Metadata)] { lock.withLock { lines } }
    }

    struct RecordingHandler: LogHandler {
        let recorder: Recorder
        var logLevel: Logger.Level
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { recorder.append(event) }
    }

    /// Runs (or resumes) two steps saving after each, logging at `level`; returns what was written.
    static func run(_ level: Logger.Level, bench: URL, out: URL, resume: Bool = false) throws -> [(level: Logger.Level, message: String, metadata: Logger.Metadata)] {
        let recorder = Recorder()
        let logger = Logger(label: "optiml.tune.test") { _ in RecordingHandler(recorder: recorder, logLevel: level) }
        let trainer = try Trainer(model: TrainerTests.model, bench: bench, out: out, settings: TrainerTests.settings(steps: 2, saveEvery: 1),
                                  resume: resume, threads: 2, logger: logger)
        try trainer.run()
        return recorder.recorded
    }

    @Test func theLogLevelFiltersStepLinesCheckpointsAndResumption() throws {
        try Fixtures.withTemporaryDirectory { folder in
            let bench = try TrainerTests.syntheticBench(in: folder)
            let debug = try Self.run(.debug, bench: bench, out: folder.appendingPathComponent("debug"))
            #expect(debug.map(\.message) == ["step 1/2", "saved checkpoint-000001", "step 2/2", "saved checkpoint-000002"])
            #expect(debug.map(\.level) == [.debug, .info, .debug, .info])
            // A step line carries the record under metrics.jsonl's keys.
            #expect(Double(debug[0].metadata["loss"]?.description ?? "") != nil && debug[0].metadata["lr"] != nil)

            let info = folder.appendingPathComponent("info")
            #expect(try Self.run(.info, bench: bench, out: info).map(\.message) == ["saved checkpoint-000001", "saved checkpoint-000002"])
            #expect(try Self.run(.info, bench: bench, out: info, resume: true).map(\.message) == ["resuming from checkpoint-000002 at step 2"])
            #expect(try Self.run(.warning, bench: bench, out: info, resume: true).isEmpty)
        }
    }
}
