import Foundation
import Testing

/// `optiml tune --log-level`: the progress bar and the result show at any level; the run's start,
/// resuming and checkpoints from info up; a line per step at debug.
@Suite(.enabled(if: optimlBinary != nil, "needs the optiml executable, which `swift test` builds beside the test bundle"))
struct TuneLoggingTests {
    @Test func theLogLevelFiltersTheLinesButNotTheProgress() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-tune-log-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let bench = try CrashRecoveryTests.bench(in: work)
        func tune(_ level: String?) throws -> String {
            try CrashRecoveryTests.optiml(
                ["tune", "--model", CrashRecoveryTests.model.path, "--bench", bench.path, "--out", work.appendingPathComponent("run-\(level ?? "default")").path,
                 "--steps", "2", "--batch-size", "2", "--seq-len", "32", "--warmup", "1", "--save-every", "1", "--threads", "1"]
                    + (level.map { ["--log-level", $0] } ?? []))
        }
        for (level, output) in try [("default", tune(nil)), ("info", tune("info")), ("debug", tune("debug")), ("warning", tune("warning"))] {
            #expect(output.contains("step 2/2") && output.contains("trained 2 steps"), "\(level): \(output)")
            #expect(output.contains("starting at step 0 of 2") == (level != "warning"), "\(level): \(output)")
            #expect(output.contains("saved checkpoint-000001") == (level != "warning"), "\(level): \(output)")
            #expect(output.contains(" debug optiml.tune: ") == (level == "debug"), "\(level): \(output)")
        }
    }
}
