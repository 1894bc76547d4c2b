import Foundation
import TestSupport
import OPTSupport
import Testing
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

let packageRoot = RepositoryPaths.packageRoot

/// The `optiml` executable built beside this test bundle (`swift test` builds every product into
/// the same folder), if it is there.
let optimlBinary: URL? = {
    let folder = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    let candidates = [folder, folder.deletingLastPathComponent()].map { $0.appendingPathComponent("optiml") }
    return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) }
}()

/// `optiml eval` and `optiml tune` killed with SIGKILL at seeded random points, then run again to
/// the end, give exactly what an uninterrupted run gives: the same task scores and samples, the same
/// tuned weights and losses. SIGKILL leaves no chance to clean up, so this checks that every file
/// either run writes is complete or recognisably not there (atomic writes, a database journal, a
/// checkpoint only counted once whole).
@Suite(.serialized, .enabled(if: optimlBinary != nil, "needs the optiml executable, which `swift test` builds beside the test bundle"))
struct CrashRecoveryTests {
    static let model = packageRoot.appendingPathComponent("Tests/Fixtures/models/tiny-preln-safetensors-sharded")
    static let tasks = packageRoot.appendingPathComponent("Tests/Fixtures/bench/tk_instruct/tasks")
    /// Kills per command.
    static let kills = 3

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `optiml arguments` to the end; throws with its output when it fails.
    @discardableResult
    static func optiml(_ arguments: [String]) throws -> String {
        let (status, output, _) = try launch(arguments, killAfter: nil)
        guard status == 0 else { throw Failure(description: "optiml \(arguments.joined(separator: " ")) exited with \(status):\n\(output)") }
        return output
    }

    /// Starts `optiml arguments`, and with `killAfter` sends it SIGKILL that many seconds later
    /// (unless it has ended): seconds after it first printed a match of `marker` when one is given
    /// (the work has begun), else after its start. Returns the exit status (or the signal's number),
    /// the output and when, in seconds from the start, `marker` first appeared.
    static func launch(_ arguments: [String], killAfter: Double?, marker: String? = nil) throws -> (Int32, String, TimeInterval?) {
        guard let optimlBinary else { throw Failure(description: "no optiml executable") }
        let process = Process()
        process.executableURL = optimlBinary
        process.arguments = arguments
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-crash-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: log.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: log) }
        let handle = try FileHandle(forWritingTo: log)
        process.standardOutput = handle
        process.standardError = handle
        let started = Date()
        try process.run()
        var markedAt: TimeInterval?
        func marked() -> Bool {
            if markedAt == nil, let marker, let text = try? String(contentsOf: log, encoding: .utf8), text.range(of: marker, options: .regularExpression) != nil {
                markedAt = Date().timeIntervalSince(started)
            }
            return markedAt != nil
        }
        if marker != nil || killAfter != nil {
            while process.isRunning && marker != nil && !marked() { usleep(2_000) }
            if let killAfter {
                let deadline = Date().addingTimeInterval(killAfter)
                while process.isRunning && Date() < deadline { usleep(2_000) }
                if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            }
        }
        process.waitUntilExit()
        try handle.close()
        _ = marked()
        return (process.terminationStatus, (try? String(contentsOf: log, encoding: .utf8)) ?? "", markedAt)
    }

    /// Runs `arguments(out)` into a fresh folder uninterrupted, timing it; then into another, killed
    /// `kills` times at seeded points within that time, and once more to the end. Returns both
    /// folders and what the last run printed. With a `marker` (what the command prints once its
    /// work has begun), the kills fall within the work after it, not in start-up: a short run can
    /// be mostly loading.
    static func killedAndUninterrupted(_ name: String, seed: UInt64, marker: String? = nil,
                                       _ arguments: (URL) -> [String]) throws -> (reference: URL, recovered: URL, output: String) {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-crash-\(name)-\(UUID().uuidString)")
        let reference = root.appendingPathComponent("reference"), recovered = root.appendingPathComponent("recovered")
        let started = Date()
        let (referenceStatus, referenceOutput, markedAt) = try launch(arguments(reference), killAfter: nil, marker: marker)
        guard referenceStatus == 0 else { throw Failure(description: "the uninterrupted run exited with \(referenceStatus):\n\(referenceOutput)") }
        let duration = Date().timeIntervalSince(started)
        // The kills' window: from the marker (or past the first tenth, start-up) to before the end.
        let window = markedAt.map { 0...((duration - $0) * 0.9) } ?? (duration * 0.1)...(duration * 0.9)
        var random = SplitMix64(state: seed)
        var killed = 0, attempt = 0
        // After `kills` runs that all ended before their kill (the machine got faster than during the
        // reference run), a few more at ever earlier points, so that a crash is tested on any machine.
        while attempt < kills || (killed == 0 && attempt < kills + 6) {
            let earlier = attempt < kills ? 1 : pow(0.5, Double(attempt - kills + 1))
            attempt += 1
            let at = Double.random(in: window, using: &random) * earlier
            let (status, output, _) = try launch(arguments(recovered), killAfter: at, marker: markedAt == nil ? nil : marker)
            // A run that ended before its kill must have succeeded (a rerun then only confirms).
            if status != SIGKILL && status != 0 { throw Failure(description: "a run to be killed failed (\(status)):\n\(output)") }
            if status == SIGKILL { killed += 1 }
        }
        let output = try optiml(arguments(recovered))
        #expect(killed > 0, "no run was killed before it ended")
        return (reference, recovered, output)
    }

    static func json(_ url: URL) throws -> Any { try JSONSerialization.jsonObject(with: try Data(contentsOf: url)) }

    /// A bench over the fixture tasks, built by `optiml bench build` in `work`: two held-out tasks
    /// (a classification and a generation one), the others trained on.
    static func bench(in work: URL) throws -> URL {
        let bench = work.appendingPathComponent("bench")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let split = work.appendingPathComponent("split.yaml")
        try """
            name: crash-test
            test: {tasks: [task363_sst2_polarity_classification, task1564_triviaqa_answer_generation]}
            instances: {fraction: 0.5}
            """.write(to: split, atomically: true, encoding: .utf8)
        try optiml(["bench", "build", "--source", "niv2:\(tasks.path)", "--preset", split.path, "--out", bench.path])
        return bench
    }

    @Test func evalKilledAndRerunGivesTheUninterruptedResults() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-crash-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let bench = try Self.bench(in: work)

        // Killed once answers are coming (the progress shows some): they are committed a batch at a time.
        let (reference, recovered, output) = try Self.killedAndUninterrupted("eval", seed: 17, marker: "[1-9][0-9]*/[0-9]+ requests") { out in
            ["eval", "--model", Self.model.path, "--bench", bench.path, "--shots", "0,1,2", "--limit", "40",
             "--max-new-tokens", "16", "--batch-size", "1", "--out", out.path]
        }
        defer { try? FileManager.default.removeItem(at: reference.deletingLastPathComponent()) }
        // The killed runs got somewhere: the last one found answers in the results cache.
        #expect(!output.contains(" 0 from the cache"), "\(output)")
        // The per-task results (scores, metrics, instance counts), their aggregates and every sample, in order.
        func tasks(_ folder: URL) throws -> String {
            let results = try Self.json(folder.appendingPathComponent("results.json")) as? [String: Any]
            let data = try JSONSerialization.data(withJSONObject: [results?["tasks"] ?? NSNull(), results?["groups"] ?? NSNull()], options: [.sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }
        let expected = try tasks(reference)
        #expect(expected.contains("task363") && expected.contains("task1564"), "\(expected)")
        #expect(try tasks(recovered) == expected)
        let samples = try String(contentsOf: reference.appendingPathComponent("samples.jsonl"), encoding: .utf8)
        #expect(!samples.isEmpty)
        #expect(try String(contentsOf: recovered.appendingPathComponent("samples.jsonl"), encoding: .utf8) == samples)
    }

    @Test func tuneKilledAndResumedGivesTheUninterruptedWeights() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-crash-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let bench = try Self.bench(in: work)
        let steps = 150
        let (reference, recovered, output) = try Self.killedAndUninterrupted("tune", seed: 29) { out in
            ["tune", "--model", Self.model.path, "--bench", bench.path, "--out", out.path, "--steps", "\(steps)", "--batch-size", "2", "--seq-len", "32", "--warmup", "2", "--lr", "1e-3",
             "--save-every", "4", "--seed", "5", "--threads", "1", "--resume"]
        }
        defer { try? FileManager.default.removeItem(at: reference.deletingLastPathComponent()) }
        // The killed runs got somewhere: the last one resumed from a checkpoint they saved.
        #expect(!output.contains("starting at step 0 of"), "\(output)")
        let final = "checkpoint-" + String(format: "%06d", steps)
        func weights(_ folder: URL) throws -> Data {
            let checkpoint = folder.appendingPathComponent(final)
            let files = try FileManager.default.contentsOfDirectory(atPath: checkpoint.path).filter { $0.hasSuffix(".safetensors") }.sorted()
            #expect(!files.isEmpty, "no weights in \(checkpoint.path)")
            return try files.reduce(into: Data()) { $0 += try Data(contentsOf: checkpoint.appendingPathComponent($1)) }
        }
        #expect(try weights(recovered) == weights(reference), "the tuned weights differ")
        // Each step's figures but its speed; a step redone after a kill counts once, as its last record.
        func losses(_ folder: URL) throws -> [Int: [String]] {
            let lines = try String(contentsOf: folder.appendingPathComponent("metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            var byStep: [Int: [String]] = [:]
            for line in lines {
                guard let record = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], let step = record["step"] as? Int else { continue }
                byStep[step] = ["loss", "lr", "grad_norm", "tokens", "labels"].map { "\(record[$0] ?? "-")" }
            }
            return byStep
        }
        let expected = try losses(reference)
        #expect(expected.count == steps)
        #expect(try losses(recovered) == expected)
    }

    @Test func exportKilledAndRerunGivesTheUninterruptedShards() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("optiml-crash-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let bench = try Self.bench(in: work)
        let (reference, recovered, output) = try Self.killedAndUninterrupted("export", seed: 31) { out in
            ["tune", "--model", Self.model.path, "--bench", bench.path, "--export", out.path, "--steps", "600", "--batch-size", "2",
             "--seq-len", "32", "--export-shard-steps", "10", "--seed", "5"]
        }
        defer { try? FileManager.default.removeItem(at: reference.deletingLastPathComponent()) }
        // The killed runs got somewhere: the last one continued after shards they wrote.
        #expect(output.contains("continuing after step"), "\(output)")
        func files(_ folder: URL) throws -> [String: Data] {
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            return try Dictionary(uniqueKeysWithValues: names.map { ($0, try Data(contentsOf: folder.appendingPathComponent($0))) })
        }
        let expected = try files(reference)
        #expect(expected.count == 61 && expected["manifest.json"] != nil)
        let got = try files(recovered)
        #expect(got == expected, "differing: \(Set(got.keys).union(expected.keys).filter { got[$0] != expected[$0] }.sorted().map { "\($0) \(got[$0]?.count ?? -1) vs \(expected[$0]?.count ?? -1)" })\n\(output)")
    }
}
