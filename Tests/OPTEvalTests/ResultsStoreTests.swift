import Foundation
import OPTMetrics
import Testing
@testable import OPTEval

/// A fresh folder under the temporary directory, removed when the value goes away.
private final class ScratchFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory
            .appendingPathComponent("ResultsStoreTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path)
        try? FileManager.default.removeItem(at: url)
    }

    var database: URL { url.appendingPathComponent("nested/folders/results.sqlite") }

    func contents(of folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }
}

private func makeRun(settings: String = #"{"shots":[0,5],"style":"opt-iml"}"#, modelHash: String = "m1", benchHash: String = "b1") -> RunRecord {
    RunRecord(
        model: "/models/opt-iml-max-1.3b", modelHash: modelHash, benchHash: benchHash, settings: settings,
        gitRevision: "0123abcd", startedAt: Date(timeIntervalSinceReferenceDate: 786_000_000.123_456_7))
}

private func makeSample(run: Int64, task: String, instance: String, shots: Int, prediction: String = "yes") -> SampleRecord {
    SampleRecord(
        runID: run, task: task, instanceID: instance, shots: shots, level: 2,
        prompt: "Q: \(instance)?\nA:", prediction: prediction, references: ["yes", "Yes."],
        metrics: ["exact_match": 1, "rougeL": 0.75])
}

@Suite("Results store")
struct ResultsStoreTests {
    @Test func runRoundTrip() throws {
        let folder = try ScratchFolder()
        let store = try ResultsStore(path: folder.database)
        #expect(FileManager.default.fileExists(atPath: folder.database.path))
        #expect(try store.runs().isEmpty)

        var plain = makeRun()
        plain.gitRevision = nil
        plain.startedAt = Date()   // sub-millisecond precision must survive
        let first = try store.beginRun(plain)
        var finished = makeRun(settings: "{}")
        finished.id = 999   // ignored: the store assigns ids
        finished.finishedAt = Date(timeIntervalSinceReferenceDate: 786_000_100.5)
        finished.resultsJSON = #"{"acc":0.5}"#
        let second = try store.beginRun(finished)
        #expect(first != second)

        plain.id = first
        finished.id = second
        #expect(try store.runs() == [plain, finished])

        let end = Date()
        try store.finishRun(id: first, resultsJSON: #"{"rougeL":41.2}"#, at: end)
        plain.finishedAt = end
        plain.resultsJSON = #"{"rougeL":41.2}"#
        #expect(try store.runs() == [plain, finished])

        let error = #expect(throws: ResultsStoreError.self) {
            try store.finishRun(id: 12345, resultsJSON: "{}", at: end)
        }
        #expect(error == .unknownRun(path: folder.database.path, id: 12345))
    }

    @Test func responseRoundTrip() throws {
        let folder = try ScratchFolder()
        let store = try ResultsStore(path: folder.database)
        let responses = [
            CachedResponse(key: "ll", kind: "loglikelihood", logprob: -12.345_678_901_234, isGreedy: false, tokenCount: 3),
            CachedResponse(key: "ll-inf", kind: "loglikelihood", logprob: -.infinity, isGreedy: true, tokenCount: 1),
            CachedResponse(key: "gen", kind: "generate", tokenCount: 7, text: "Paris, \"France\"\n日本 ✓"),
            CachedResponse(key: "gen-empty", kind: "generate", tokenCount: 0, text: ""),
        ]
        try store.store(responses)
        let found = try store.cachedResponses(for: responses.map(\.key))
        #expect(found.count == responses.count)
        for response in responses {
            #expect(found[response.key] == response)
        }
        #expect(try store.cachedResponses(for: []).isEmpty)
    }

    @Test func cacheLookupOverAThousandKeys() throws {
        let folder = try ScratchFolder()
        let store = try ResultsStore(path: folder.database)
        let keys = (0..<1000).map { "key-\($0)" }
        // Every third key is cached.
        let cached = keys.enumerated().filter { $0.offset % 3 == 0 }.map {
            CachedResponse(key: $0.element, kind: "loglikelihood", logprob: -Double($0.offset), isGreedy: $0.offset % 2 == 0, tokenCount: $0.offset % 5)
        }
        try store.store(cached)
        let found = try store.cachedResponses(for: keys + ["key-0", "key-3"])   // repeated keys are fine
        #expect(found.count == cached.count)
        #expect(found.count == 334)
        for response in cached {
            #expect(found[response.key] == response)
        }
        #expect(found["key-1"] == nil)
        #expect(found["key-999"] != nil)
        #expect(try store.cachedResponses(for: ["absent"]).isEmpty)
    }

    @Test func storingAnExistingKeyReplacesIt() throws {
        let folder = try ScratchFolder()
        let store = try ResultsStore(path: folder.database)
        try store.store([CachedResponse(key: "k", kind: "generate", tokenCount: 2, text: "old")])
        let replacement = CachedResponse(key: "k", kind: "loglikelihood", logprob: -1.5, isGreedy: true, tokenCount: 4)
        try store.store([replacement, CachedResponse(key: "other", kind: "generate", text: "x")])
        #expect(try store.cachedResponses(for: ["k"]) == ["k": replacement])
        // Within one call the last of repeated keys wins.
        let last = CachedResponse(key: "dup", kind: "generate", text: "second")
        try store.store([CachedResponse(key: "dup", kind: "generate", text: "first"), last])
        #expect(try store.cachedResponses(for: ["dup"]) == ["dup": last])
    }

    @Test func matchingRunIsTheLatestWithEqualModelBenchAndSettingsFinishedOrNot() throws {
        let folder = try ScratchFolder()
        let store = try ResultsStore(path: folder.database)
        let settings = #"{"levels":[1,2],"seed":1}"#
        #expect(try store.matchingRun(modelHash: "m1", benchHash: "b1", settings: settings) == nil)

        _ = try store.beginRun(makeRun(settings: #"{"levels":[1,2],"seed":2}"#))
        _ = try store.beginRun(makeRun(settings: settings, modelHash: "m2"))
        _ = try store.beginRun(makeRun(settings: settings, benchHash: "b2"))
        #expect(try store.matchingRun(modelHash: "m1", benchHash: "b1", settings: settings) == nil)

        let unfinished = try store.beginRun(makeRun(settings: settings))
        var expected = makeRun(settings: settings)
        expected.id = unfinished
        #expect(try store.matchingRun(modelHash: "m1", benchHash: "b1", settings: settings) == expected)

        // Of several, the latest; once finished, still it (a rerun continues its record).
        let later = try store.beginRun(makeRun(settings: settings))
        #expect(try store.matchingRun(modelHash: "m1", benchHash: "b1", settings: settings)?.id == later)
        try store.finishRun(id: later, resultsJSON: "{}", at: Date())
        #expect(try store.matchingRun(modelHash: "m1", benchHash: "b1", settings: settings)?.id == later)
    }

    @Test func samplesAreUniquePerRunTaskInstanceAndShotsAndOrdered() throws {
        let folder = try ScratchFolder()
        let store = try ResultsStore(path: folder.database)
        let run = try store.beginRun(makeRun())
        let otherRun = try store.beginRun(makeRun(settings: "{}"))
        try store.addSamples([
            makeSample(run: run, task: "task190_snli", instance: "b", shots: 5),
            makeSample(run: run, task: "task190_snli", instance: "a", shots: 5),
            makeSample(run: run, task: "task190_snli", instance: "b", shots: 0),
            makeSample(run: run, task: "task020_mctaco", instance: "z", shots: 0),
            makeSample(run: otherRun, task: "task001", instance: "a", shots: 0),
        ])
        var replaced = makeSample(run: run, task: "task190_snli", instance: "b", shots: 5, prediction: "no")
        replaced.level = nil
        replaced.metrics = ["exact_match": 0, "rougeL": 0, "loss": .infinity]
        replaced.references = []
        try store.addSamples([replaced])

        let samples = try store.samples(runID: run)
        #expect(samples.map { "\($0.task)/\($0.shots)/\($0.instanceID)" } == [
            "task020_mctaco/0/z", "task190_snli/0/b", "task190_snli/5/a", "task190_snli/5/b",
        ])
        #expect(samples.last == replaced)
        #expect(samples.first == makeSample(run: run, task: "task020_mctaco", instance: "z", shots: 0))
        #expect(try store.samples(runID: otherRun).count == 1)
        #expect(try store.samples(runID: 777).isEmpty)

        let error = #expect(throws: ResultsStoreError.self) {
            try store.addSamples([makeSample(run: run, task: "t", instance: "new", shots: 0), makeSample(run: 777, task: "t", instance: "x", shots: 0)])
        }
        #expect(error == .unknownRun(path: folder.database.path, id: 777))
        // One transaction: the valid sample of the failed call is not stored either.
        #expect(try store.samples(runID: run).count == 4)
    }

    @Test func exportWritesValidJSONLinesAtomically() throws {
        let folder = try ScratchFolder()
        let store = try ResultsStore(path: folder.database)
        let run = try store.beginRun(makeRun())
        var tricky = makeSample(run: run, task: "task1", instance: "q\"uote", shots: 1, prediction: "line\nbreak\ttab \\ \u{01} é 日本 🙂 </s>")
        tricky.level = nil
        tricky.metrics = ["acc": 1, "acc_norm": 0, "tiny": 1e-300, "nan": .nan]
        tricky.references = ["a/b", "\u{2028}"]
        let samples = [makeSample(run: run, task: "task0", instance: "1", shots: 0), tricky]
        try store.addSamples(samples)

        let exports = folder.url.appendingPathComponent("exports")
        let target = exports.appendingPathComponent("run.jsonl")
        try store.exportSamples(runID: run, to: target)
        #expect(try folder.contents(of: exports) == ["run.jsonl"])   // no temporary file left

        let text = try String(contentsOf: target, encoding: .utf8)
        #expect(text.hasSuffix("\n"))
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 2)
        #expect(lines.first?.hasPrefix(#"{"run_id":"#) == true)
        let objects = try lines.map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        }
        let expectedKeys: Set = ["run_id", "task", "id", "shots", "level", "prompt", "prediction", "gold", "references", "loglikelihoods", "metrics"]
        for object in objects {
            #expect(Set(object.keys) == expectedKeys)
            #expect((object["run_id"] as? NSNumber)?.int64Value == run)
        }
        let second = objects[1]
        #expect(second["task"] as? String == "task1")
        #expect(second["id"] as? String == "q\"uote")
        #expect(second["prediction"] as? String == tricky.prediction)
        #expect(second["prompt"] as? String == tricky.prompt)
        #expect(second["references"] as? [String] == tricky.references)
        #expect(second["level"] is NSNull)
        #expect((second["shots"] as? NSNumber)?.intValue == 1)
        let metrics = try #require(second["metrics"] as? [String: Any])
        #expect((metrics["acc"] as? NSNumber)?.doubleValue == 1)
        #expect((metrics["tiny"] as? NSNumber)?.doubleValue == 1e-300)
        #expect(metrics["nan"] is NSNull)
        #expect((objects[0]["level"] as? NSNumber)?.intValue == 2)

        // Exporting again replaces the file; an unknown run leaves it and no temporary file.
        try store.addSamples([makeSample(run: run, task: "task2", instance: "x", shots: 0)])
        try store.exportSamples(runID: run, to: target)
        #expect(try String(contentsOf: target, encoding: .utf8).split(separator: "\n").count == 3)
        let error = #expect(throws: ResultsStoreError.self) {
            try store.exportSamples(runID: 555, to: target)
        }
        #expect(error == .unknownRun(path: folder.database.path, id: 555))
        #expect(try folder.contents(of: exports) == ["run.jsonl"])
        #expect(try String(contentsOf: target, encoding: .utf8).split(separator: "\n").count == 3)

        // A run without samples exports an empty file.
        let empty = try store.beginRun(makeRun(settings: "{}"))
        let emptyTarget = exports.appendingPathComponent("empty.jsonl")
        try store.exportSamples(runID: empty, to: emptyTarget)
        #expect(try Data(contentsOf: emptyTarget).isEmpty)
    }

    @Test func reopeningKeepsTheData() throws {
        let folder = try ScratchFolder()
        var run = makeRun()
        let response = CachedResponse(key: "k", kind: "generate", tokenCount: 3, text: "abc")
        let sample: SampleRecord
        do {
            let store = try ResultsStore(path: folder.database)
            run.id = try store.beginRun(run)
            sample = makeSample(run: try #require(run.id), task: "t", instance: "i", shots: 0)
            try store.store([response])
            try store.addSamples([sample])
        }
        let reopened = try ResultsStore(path: folder.database)
        #expect(try reopened.runs() == [run])
        #expect(try reopened.cachedResponses(for: ["k"]) == ["k": response])
        #expect(try reopened.samples(runID: try #require(run.id)) == [sample])
        #expect(try reopened.matchingRun(modelHash: run.modelHash, benchHash: run.benchHash, settings: run.settings) == run)
    }

    @Test func twoStoresOnOneFileSeeEachOthersData() throws {
        let folder = try ScratchFolder()
        let first = try ResultsStore(path: folder.database)
        let second = try ResultsStore(path: folder.database)
        let id = try first.beginRun(makeRun())
        #expect(try second.runs().map(\.id) == [id])
        try second.store([CachedResponse(key: "from-second", kind: "loglikelihood", logprob: -2, isGreedy: true, tokenCount: 1)])
        #expect(try first.cachedResponses(for: ["from-second"]).count == 1)
        try second.finishRun(id: id, resultsJSON: "{}", at: Date())
        #expect(try first.matchingRun(modelHash: "m1", benchHash: "b1", settings: makeRun().settings)?.finishedAt != nil)
        try first.addSamples([makeSample(run: id, task: "t", instance: "i", shots: 0)])
        #expect(try second.samples(runID: id).count == 1)
    }

    @Test func aDirectoryIsNotAStore() throws {
        let folder = try ScratchFolder()
        let error = #expect(throws: ResultsStoreError.self) {
            _ = try ResultsStore(path: folder.url)
        }
        #expect(error?.description.contains(folder.url.path) == true)
        #expect(error?.description.contains("directory") == true)
    }

    @Test func anUnwritableLocationIsAnError() throws {
        let folder = try ScratchFolder()
        // A regular file where a folder should be: no one, root included, can create below it.
        let blocker = folder.url.appendingPathComponent("blocker")
        try Data("x".utf8).write(to: blocker)
        let path = blocker.appendingPathComponent("sub/results.sqlite")
        let error = #expect(throws: ResultsStoreError.self) {
            _ = try ResultsStore(path: path)
        }
        #expect(error?.description.contains(path.path) == true)
        #expect(error?.description.contains("\(blocker.path) is not a folder") == true)

        // Exporting there fails too, naming the export file and the database.
        let store = try ResultsStore(path: folder.database)
        let run = try store.beginRun(makeRun())
        let target = blocker.appendingPathComponent("out/run.jsonl")
        let exportError = #expect(throws: ResultsStoreError.self) {
            try store.exportSamples(runID: run, to: target)
        }
        #expect(exportError?.description.contains(target.path) == true)
        #expect(exportError?.description.contains(folder.database.path) == true)
    }

    @Test(.enabled(if: getuid() != 0, "root writes into read-only folders"))
    func aReadOnlyFolderIsAnError() throws {
        let folder = try ScratchFolder()
        try FileManager.default.setAttributes([.posixPermissions: 0o555], ofItemAtPath: folder.url.path)
        let path = folder.url.appendingPathComponent("results.sqlite")
        let error = #expect(throws: ResultsStoreError.self) {
            _ = try ResultsStore(path: path)
        }
        #expect(error?.description.contains(path.path) == true)
    }

    @Test func aFileThatIsNotSQLiteIsAnError() throws {
        let folder = try ScratchFolder()
        let path = folder.url.appendingPathComponent("garbage.sqlite")
        var bytes = Data(count: 8192)
        for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: index &* 7919 &+ 13) }
        try bytes.write(to: path)
        let error = #expect(throws: ResultsStoreError.self) {
            _ = try ResultsStore(path: path)
        }
        #expect(error?.description.contains(path.path) == true)
        #expect(error?.description.contains("not a database") == true)
        // The file is left as it was.
        #expect(try Data(contentsOf: path) == bytes)
    }
}
